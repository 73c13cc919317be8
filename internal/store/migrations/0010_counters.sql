-- The counts the service reports as metrics, kept by the transactions that
-- change them (counters.go) instead of counted at every scrape: COUNT(*) of
-- certificates, of the current ones, of revocations and of the issuance
-- queue read whole tables that grow to a hundred million rows. Counted
-- once here, from the tables as they are.
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    n    BIGINT NOT NULL
);
INSERT INTO counters (name, n) SELECT 'certificates', COUNT(*) FROM certificates;
INSERT INTO counters (name, n) SELECT 'current_certificates', COUNT(*) FROM certificates WHERE status = 'current';
INSERT INTO counters (name, n) SELECT 'revocations', COUNT(*) FROM revocations;
INSERT INTO counters (name, n) SELECT 'pending_issuance', COUNT(*) FROM pending_issuance;
