-- Site sync: identity disagreements, per-site permissions, idempotent
-- uploads. Times are Unix microseconds (UTC).

-- A review is open while the person's finalised records contradict each
-- other or while identity claims of theirs are open (identity = 1).
ALTER TABLE reviews ADD COLUMN identity INTEGER NOT NULL DEFAULT 0;

-- An upload that named a known person with other details (names or birth
-- date) than the stored ones. The stored details never change through such
-- an upload; the claim waits in the review queue until a reviewer amends
-- the person (or keeps the details), which resolves it.
CREATE TABLE identity_claims (
    id          {{id}},
    person_id   BIGINT NOT NULL REFERENCES persons (id),
    site        TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    family_name TEXT NOT NULL,
    given_name  TEXT NOT NULL,
    birth_date  TEXT NOT NULL,
    filed_at    BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX identity_claims_person ON identity_claims (person_id, id);

-- Permissions an admin grants to a vaccination site. finalise = 1: the
-- site's uploaders may finalise at the source (a "finalised" row is stored
-- finalised); otherwise such a row is stored as a draft for a finaliser.
CREATE TABLE site_permissions (
    site       TEXT PRIMARY KEY,
    finalise   INTEGER NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at BIGINT NOT NULL
);

-- Uploads and other idempotent requests, by the caller's scope (owner:
-- "site:<site>", "token:<id>", "person:<id>") and the Idempotency-Key (or
-- the id the service assigned). kind: batch | record | correction. state:
-- open (rows are committing) | complete. last_row is the last row whose
-- outcome is committed; result is kind-specific (the correction id).
CREATE TABLE batches (
    owner      TEXT NOT NULL,
    batch_key  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    state      TEXT NOT NULL,
    last_row   BIGINT NOT NULL,
    rows_seen  BIGINT NOT NULL,
    stored     BIGINT NOT NULL,
    already    BIGINT NOT NULL,
    duplicate  BIGINT NOT NULL,
    merged     BIGINT NOT NULL,
    rejected   BIGINT NOT NULL,
    result     TEXT NOT NULL,
    error      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (owner, batch_key)
);

-- The committed outcome of every dose of a batch (idx: the dose's place in
-- its row). hash identifies the row's content, so that a retry with the
-- same key replays the outcome only for the same row. errors and notes are
-- comma-separated field:code and note names, never values.
CREATE TABLE batch_rows (
    owner     TEXT NOT NULL,
    batch_key TEXT NOT NULL,
    row_no    BIGINT NOT NULL,
    idx       INTEGER NOT NULL,
    site      TEXT NOT NULL,
    record_id TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    errors    TEXT NOT NULL,
    notes     TEXT NOT NULL,
    hash      TEXT NOT NULL,
    PRIMARY KEY (owner, batch_key, row_no, idx)
);
