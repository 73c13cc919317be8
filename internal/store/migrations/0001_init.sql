-- vaxcert issuer service schema, version 1.
-- Portable SQL for SQLite and PostgreSQL; {{id}} and {{bytes}} are expanded
-- per engine (see dialect.go). Times are Unix microseconds (UTC).

-- A certificate holder. id is the surrogate key used everywhere else; the
-- national ID number lives only here.
CREATE TABLE persons (
    id          {{id}},
    national_id TEXT NOT NULL UNIQUE,
    family_name TEXT NOT NULL,
    given_name  TEXT NOT NULL,
    birth_date  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    -- Counts the changes to the person's finalised records (never reset).
    rev         BIGINT NOT NULL DEFAULT 0
);

-- The current version of every dose record, keyed by (site, record_id).
-- status: draft | finalised | void. shot_key identifies the shot itself
-- (person, product, lot, date, dose number) across sites; merged_into links a
-- duplicate of the same shot to the canonical (lowest id) record.
CREATE TABLE doses (
    id           {{id}},
    site         TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    person_id    BIGINT NOT NULL REFERENCES persons (id),
    version      INTEGER NOT NULL,
    status       TEXT NOT NULL,
    product      TEXT NOT NULL,
    manufacturer TEXT NOT NULL,
    lot          TEXT NOT NULL,
    dose_number  INTEGER NOT NULL,
    series_doses INTEGER NOT NULL,
    vaccinated   TEXT NOT NULL,
    country      TEXT NOT NULL,
    shot_key     TEXT NOT NULL,
    merged_into  BIGINT REFERENCES doses (id),
    changed_at   BIGINT NOT NULL,
    changed_by   TEXT NOT NULL,
    reason       TEXT NOT NULL,
    UNIQUE (site, record_id)
);
CREATE INDEX doses_person ON doses (person_id);
CREATE INDEX doses_shot ON doses (shot_key);

-- Every earlier version of a dose record (the current one is in doses).
CREATE TABLE dose_history (
    dose_id      BIGINT NOT NULL REFERENCES doses (id),
    version      INTEGER NOT NULL,
    person_id    BIGINT NOT NULL,
    status       TEXT NOT NULL,
    product      TEXT NOT NULL,
    manufacturer TEXT NOT NULL,
    lot          TEXT NOT NULL,
    dose_number  INTEGER NOT NULL,
    series_doses INTEGER NOT NULL,
    vaccinated   TEXT NOT NULL,
    country      TEXT NOT NULL,
    changed_at   BIGINT NOT NULL,
    changed_by   TEXT NOT NULL,
    reason       TEXT NOT NULL,
    PRIMARY KEY (dose_id, version)
);

-- Persons whose finalised records changed since their last issuance. seq is
-- the person's rev at the change, so issuance only clears the marker it read.
CREATE TABLE pending_issuance (
    person_id BIGINT PRIMARY KEY REFERENCES persons (id),
    seq       BIGINT NOT NULL,
    since     BIGINT NOT NULL
);

-- Issued certificates. status: current | superseded | revoked.
CREATE TABLE certificates (
    id           {{id}},
    uvci         TEXT NOT NULL UNIQUE,
    person_id    BIGINT NOT NULL REFERENCES persons (id),
    status       TEXT NOT NULL,
    content_hash {{bytes}} NOT NULL,
    hc1          TEXT NOT NULL,
    cose         {{bytes}} NOT NULL,
    kid          {{bytes}} NOT NULL,
    payload      TEXT NOT NULL,
    issued_at    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    issued_by    TEXT NOT NULL,
    png          {{bytes}}
);
CREATE INDEX certificates_person ON certificates (person_id);
-- Exactly one current certificate per person.
CREATE UNIQUE INDEX certificates_current ON certificates (person_id) WHERE status = 'current';

CREATE TABLE revocations (
    id             {{id}},
    certificate_id BIGINT NOT NULL UNIQUE REFERENCES certificates (id),
    uvci           TEXT NOT NULL UNIQUE,
    reason         TEXT NOT NULL,
    revoked_at     BIGINT NOT NULL,
    revoked_by     TEXT NOT NULL
);
CREATE INDEX revocations_at ON revocations (revoked_at, id);

-- Persons whose finalised records contradict each other; issuance is
-- blocked while a review is open (resolved_at IS NULL).
CREATE TABLE reviews (
    id           {{id}},
    person_id    BIGINT NOT NULL REFERENCES persons (id),
    dose_numbers TEXT NOT NULL,
    opened_at    BIGINT NOT NULL,
    resolved_at  BIGINT,
    resolved_by  TEXT NOT NULL,
    note         TEXT NOT NULL
);
CREATE UNIQUE INDEX reviews_open ON reviews (person_id) WHERE resolved_at IS NULL;

-- Citizens' correction requests. status: open | accepted | rejected.
CREATE TABLE corrections (
    id              {{id}},
    person_id       BIGINT NOT NULL REFERENCES persons (id),
    kind            TEXT NOT NULL,
    description     TEXT NOT NULL,
    dose            TEXT NOT NULL,
    record_site     TEXT NOT NULL,
    record_id       TEXT NOT NULL,
    photo           {{bytes}},
    photo_type      TEXT NOT NULL,
    status          TEXT NOT NULL,
    filed_at        BIGINT NOT NULL,
    decided_at      BIGINT,
    decided_by      TEXT NOT NULL,
    decision_reason TEXT NOT NULL
);
CREATE INDEX corrections_status ON corrections (status, id);
CREATE INDEX corrections_person ON corrections (person_id);

-- Staff API tokens: only the SHA-256 of the token is stored.
CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    hash       {{bytes}} NOT NULL UNIQUE,
    role       TEXT NOT NULL,
    site       TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at BIGINT
);

-- The audit trail: one row per change, written in the change's transaction.
-- Subjects and before/after hold opaque ids only, never personal data.
CREATE TABLE audit (
    id          {{id}},
    at          BIGINT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    before_json TEXT NOT NULL,
    after_json  TEXT NOT NULL
);
CREATE INDEX audit_subject ON audit (subject, id);

-- Background jobs (the batch issuance). At most one running job per kind.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    state        TEXT NOT NULL,
    total        BIGINT NOT NULL,
    done         BIGINT NOT NULL,
    issued       BIGINT NOT NULL,
    failed       BIGINT NOT NULL,
    blocked      BIGINT NOT NULL,
    actor_id     TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    finished_at  BIGINT,
    error        TEXT NOT NULL
);
CREATE UNIQUE INDEX jobs_running ON jobs (kind) WHERE state = 'running';
