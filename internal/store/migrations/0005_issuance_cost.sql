-- Batch issuance writes a certificate row and an audit row per person; what
-- each costs the database is measured in the README ("The issuer service").

-- PostgreSQL keeps planner statistics only for the columns that queries
-- filter, join or group on. ANALYZE of certificates at 100,000 rows took
-- 0.45 s, most of it spent on the HC1 texts, COSE messages and payloads of
-- its 30,000 sample rows, statistics no plan reads; the store analyses a
-- growing table O(log N) times (analyze.go), in the middle of issuance.
-- uvci has a unique index, which tells the planner all it needs. Lookups by
-- id, person_id, status and expires_at keep their statistics.
{{postgres}} ALTER TABLE certificates
    ALTER COLUMN uvci SET STATISTICS 0,
    ALTER COLUMN content_hash SET STATISTICS 0,
    ALTER COLUMN hc1 SET STATISTICS 0,
    ALTER COLUMN cose SET STATISTICS 0,
    ALTER COLUMN kid SET STATISTICS 0,
    ALTER COLUMN payload SET STATISTICS 0,
    ALTER COLUMN issued_at SET STATISTICS 0,
    ALTER COLUMN issued_by SET STATISTICS 0,
    ALTER COLUMN png SET STATISTICS 0;
{{postgres}} ALTER TABLE audit
    ALTER COLUMN before_json SET STATISTICS 0,
    ALTER COLUMN after_json SET STATISTICS 0;
