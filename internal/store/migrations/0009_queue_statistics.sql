-- Planner statistics of the issuance queue, on PostgreSQL, as 0005 did for
-- certificates and audit. The queue churns: batch issuance deletes its rows
-- in key order, and the store's VACUUM of it (analyze.go) brings its row
-- count down, so the store's statistics check (a change of more than 1,000
-- rows + 10 % since the last ANALYZE) finds it due ever more often as it
-- empties, every 2 s near the end of a job. With the default statistics
-- target ANALYZE samples 30,000 rows, which at a million persons means
-- every page of its heap: 34-37 ms each, measured on a 1,000,000-row queue
-- half issued; with a target of 10 on its key (3,000 rows) and none on the
-- other columns, which no statement filters on, 7.8 ms. The key's
-- statistics serve the key-list lookups (PendingOf), and the claim's plan
-- does not depend on them (store.claimSQLPostgres).
{{postgres}} ALTER TABLE pending_issuance
    ALTER COLUMN person_id SET STATISTICS 10,
    ALTER COLUMN seq SET STATISTICS 0,
    ALTER COLUMN since SET STATISTICS 0;
