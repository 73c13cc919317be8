-- Batch issuance writes a certificate row and an audit row per person; what
-- each costs the database is measured in the README ("The issuer service").

-- From this version on, certificates.payload is '' for new certificates:
-- the signed COSE message holds the payload, and the service decodes it
-- from there (rows written before keep their JSON copy, which it still
-- reads). No statement: the column stays, for those rows.

-- Planner statistics of certificates and audit, on PostgreSQL. The store
-- analyses a growing table O(log N) times (analyze.go), so during a batch
-- issuance every few seconds: ANALYZE of certificates at 100,000 rows took
-- 0.45 s, most of it on the HC1 texts, COSE messages and payloads of its
-- 30,000 sample rows (statistics no plan reads), and these ANALYZEs cost
-- about 15 µs per certificate issued. The columns no query filters, joins
-- or groups on keep no statistics (uvci has a unique index, which tells
-- the planner all it needs); the looked-up ones keep a statistics target
-- of 10, so ANALYZE samples 3,000 rows instead of 30,000: these columns
-- are keys (id, person_id, subject: nearly every value distinct) or hold a
-- few values (status, action), which 3,000 rows show as well. At 100,000
-- certificates analysed so, the issuance's key-list lookups (current
-- certificates and counts of 1,000 persons, a person's certificates) are
-- still index scans (EXPLAIN), and ANALYZE took 0.05-0.06 s, not 0.45 s.
{{postgres}} ALTER TABLE certificates
    ALTER COLUMN uvci SET STATISTICS 0,
    ALTER COLUMN content_hash SET STATISTICS 0,
    ALTER COLUMN hc1 SET STATISTICS 0,
    ALTER COLUMN cose SET STATISTICS 0,
    ALTER COLUMN kid SET STATISTICS 0,
    ALTER COLUMN payload SET STATISTICS 0,
    ALTER COLUMN issued_at SET STATISTICS 0,
    ALTER COLUMN issued_by SET STATISTICS 0,
    ALTER COLUMN png SET STATISTICS 0,
    ALTER COLUMN id SET STATISTICS 10,
    ALTER COLUMN person_id SET STATISTICS 10,
    ALTER COLUMN status SET STATISTICS 10,
    ALTER COLUMN expires_at SET STATISTICS 10;
{{postgres}} ALTER TABLE audit
    ALTER COLUMN before_json SET STATISTICS 0,
    ALTER COLUMN after_json SET STATISTICS 0,
    ALTER COLUMN id SET STATISTICS 10,
    ALTER COLUMN at SET STATISTICS 10,
    ALTER COLUMN actor_kind SET STATISTICS 10,
    ALTER COLUMN actor_id SET STATISTICS 10,
    ALTER COLUMN actor_role SET STATISTICS 10,
    ALTER COLUMN action SET STATISTICS 10,
    ALTER COLUMN subject SET STATISTICS 10;
