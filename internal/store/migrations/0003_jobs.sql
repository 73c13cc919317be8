-- vaxcert schema, version 3: issuance workers.
--
-- Every process taking part in a job holds a worker row. While it works it
-- renews lease_until every few seconds and, on PostgreSQL, also holds a
-- session advisory lock on its worker id (see Store.HoldSession), so that a
-- worker killed with its process is known dead at once: its database
-- session ends with it. A running job with no live worker is interrupted.
CREATE TABLE job_workers (
    job_id      TEXT NOT NULL REFERENCES jobs (id),
    worker_id   TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    lease_until BIGINT NOT NULL,
    finished_at BIGINT,
    PRIMARY KEY (job_id, worker_id)
);

-- GET /v1/issuance-jobs lists jobs newest first.
CREATE INDEX jobs_started ON jobs (started_at, id);
