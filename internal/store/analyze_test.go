package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/store/storetest"
)

// openBehind opens a PostgreSQL store on a fresh schema and a second
// connection pool to the same schema, for writes the store does not see
// (so that its own statistics and vacuum checks do not run after them).
func openBehind(t *testing.T) (*store.Store, *sql.DB) {
	t.Helper()
	url := storetest.URL(t, "postgres") // skips, saying so, without VAXCERT_TEST_PG
	s, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return s, db
}

// TestAnalyzeGrown: on PostgreSQL, key-list lookups on tables that were
// never analysed are sequential scans of the whole table (the cause of the
// finalisation collapse at scale); after AnalyzeGrown, which the store runs
// itself after writes, they are index scans. Autovacuum plays no part.
func TestAnalyzeGrown(t *testing.T) {
	ctx := context.Background()
	// Loaded behind the store's back, so that it does not analyze yet.
	s, db := openBehind(t)
	for _, q := range []string{
		`INSERT INTO persons (id, national_id, family_name, given_name, birth_date, created_at, updated_at)
		 SELECT g, 'N' || g, 'F', 'G', '1990-01-01', 0, 0 FROM generate_series(1, 30000) g`,
		`INSERT INTO doses (id, site, record_id, person_id, version, status, product, manufacturer, lot, dose_number,
		 series_doses, vaccinated, country, shot_key, changed_at, changed_by, reason)
		 SELECT 2 * g + dn, 'S', g || '-' || dn, g, 1, 'draft', 'P', 'M', 'L', dn, 2, '2021-06-01', 'VN', g || '/' || dn, 0, 'x', ''
		 FROM generate_series(1, 30000) g, generate_series(0, 1) dn`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = strconv.Itoa(20000 + i)
	}
	list := "(" + strings.Join(ids, ",") + ")"
	plans := map[string]string{
		"doses of persons": "EXPLAIN SELECT * FROM doses WHERE person_id IN (" + strings.Join(ids[:100], ",") + ") ORDER BY id",
		"persons by id":    "EXPLAIN SELECT * FROM persons WHERE id IN " + list,
	}
	seqScans := func() []string {
		var out []string
		for name, q := range plans {
			lines, err := store.QueryLinesForTest(ctx, s, q)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(strings.Join(lines, "\n"), "Seq Scan") {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out
	}
	// (At 200,000 persons and 1,000 ids the doses lookup is a sequential
	// scan too; at this test's size the blind guess happens to be right.)
	if got := seqScans(); !slices.Contains(got, "persons by id") {
		t.Fatalf("before statistics, sequential scans for %v; want persons by id (the planner's blind guess)", got)
	}
	// The inserting session reports its counts within about a second.
	var analyzed []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		var err error
		if analyzed, err = s.AnalyzeGrown(ctx); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(analyzed, "doses") && slices.Contains(analyzed, "persons") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !slices.Contains(analyzed, "doses") || !slices.Contains(analyzed, "persons") {
		t.Fatalf("analyzed %v, want doses and persons", analyzed)
	}
	if got := seqScans(); len(got) != 0 {
		t.Fatalf("after statistics, sequential scans for %v", got)
	}
	if again, err := s.AnalyzeGrown(ctx); err != nil || len(again) != 0 {
		t.Fatalf("second AnalyzeGrown = %v, %v; want nothing left to analyze", again, err)
	}
}

// TestAnalyzeSkipsUnqueriedColumns: on PostgreSQL, ANALYZE gathers no
// statistics for the certificate and audit columns no query filters on
// (the HC1 texts, COSE messages and payloads made ANALYZE of certificates
// cost 0.45 s at 100,000 rows), still does for the looked-up ones, and
// samples 3,000 rows of each table, the issuance queue's too (analysed
// ever more often as a job empties it).
func TestAnalyzeSkipsUnqueriedColumns(t *testing.T) {
	s := storetest.Open(t, "postgres") // skips, saying so, without VAXCERT_TEST_PG
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO persons (id, national_id, family_name, given_name, birth_date, created_at, updated_at)
		 SELECT g, 'N' || g, 'F', 'G', '1990-01-01', 0, 0 FROM generate_series(1, 200) g`,
		`INSERT INTO certificates (uvci, person_id, status, content_hash, hc1, cose, kid, payload, issued_at, expires_at, issued_by)
		 SELECT 'U' || g, g, 'current', '\x00', 'HC1:' || g, '\x01', '\x02', '{}', 0, 1, 'x' FROM generate_series(1, 200) g`,
		`INSERT INTO audit (at, actor_kind, actor_id, actor_role, action, subject, before_json, after_json)
		 SELECT 0, 'staff', 'a', 'r', 'cert.issue', 'cert:U' || g, '{}', '{}' FROM generate_series(1, 200) g`,
		`INSERT INTO pending_issuance (person_id, seq, since) SELECT g, 1, 0 FROM generate_series(1, 200) g`,
		`ANALYZE certificates`,
		`ANALYZE audit`,
		`ANALYZE pending_issuance`,
	} {
		if err := store.ExecForTest(ctx, s, q); err != nil {
			t.Fatal(err)
		}
	}
	got, err := store.QueryLinesForTest(ctx, s, `SELECT tablename || '.' || attname FROM pg_stats
		WHERE schemaname = current_schema() AND tablename IN ('certificates', 'audit', 'pending_issuance') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"certificates.hc1", "certificates.cose", "certificates.payload", "certificates.uvci",
		"audit.before_json", "audit.after_json", "pending_issuance.seq", "pending_issuance.since"} {
		if slices.Contains(got, col) {
			t.Errorf("statistics kept for %s (all: %v)", col, got)
		}
	}
	for _, col := range []string{"certificates.person_id", "certificates.status", "audit.subject", "audit.action",
		"pending_issuance.person_id"} {
		if !slices.Contains(got, col) {
			t.Errorf("no statistics for %s (all: %v)", col, got)
		}
	}
	// A sample of 3,000 rows, not the default 30,000: no column of these
	// tables asks for more than a statistics target of 10.
	over, err := store.QueryLinesForTest(ctx, s, `SELECT c.relname || '.' || a.attname FROM pg_attribute a
		JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relname IN ('certificates', 'audit', 'pending_issuance') AND a.attnum > 0
		AND NOT a.attisdropped AND (a.attstattarget < 0 OR a.attstattarget > 10)`)
	if err != nil {
		t.Fatal(err)
	}
	if len(over) > 0 {
		t.Errorf("columns with a statistics target above 10: %v", over)
	}
}

// TestClaimPlan: on PostgreSQL the claim walks the queue's key index and
// locks the persons it meets one by one, at the start of a full queue and
// near the end of a nearly empty one, with fresh statistics. Written as a
// plain join it was planned, near the end, as a hash join of the whole
// rest of the queue with the whole rest of the persons, then a sort: the
// planner estimated the join's rows as the product of both sides' over
// the number of persons, here 3,000 × 3,000 / 40,000 = 225, below the
// LIMIT.
func TestClaimPlan(t *testing.T) {
	ctx := context.Background()
	s, db := openBehind(t)
	exec := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	exec(`INSERT INTO persons (id, national_id, family_name, given_name, birth_date, created_at, updated_at)
		 SELECT g, 'N' || g, 'F', 'G', '1990-01-01', 0, 0 FROM generate_series(1, 40000) g`,
		`INSERT INTO pending_issuance (person_id, seq, since) SELECT g, 1, 0 FROM generate_series(1, 40000) g`,
		`ANALYZE persons`, `ANALYZE pending_issuance`)
	check := func(when string, after int64) {
		t.Helper()
		plan, err := store.ClaimPlanForTest(ctx, s, "", after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		for _, want := range []string{"Nested Loop", "Index Scan using pending_issuance_pkey", "LockRows",
			"Index Scan using persons_pkey"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: the claim's plan lacks %q:\n%s", when, want, text)
			}
		}
		for _, bad := range []string{"Hash", "Sort", "Seq Scan", "Merge"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s: the claim's plan has a %q:\n%s", when, bad, text)
			}
		}
	}
	check("full queue", 0)
	exec(`DELETE FROM pending_issuance WHERE person_id <= 37000`, `VACUUM ANALYZE pending_issuance`)
	check("3,000 of 40,000 left", 37000)
	// And it claims what it should: the next 1,000 in key order, skipping
	// none here.
	err := s.Write(ctx, func(tx *store.Tx) error {
		got, err := tx.ClaimPending(ctx, 37000, 1000)
		if err != nil {
			return err
		}
		if len(got) != 1000 || got[0].PersonID != 37001 || got[999].PersonID != 38000 || got[0].Person.NationalID != "N37001" {
			return fmt.Errorf("claimed %d persons, first %+v; want 37001 to 38000", len(got), got[0])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestVacuumQueue: on PostgreSQL, the dead rows persons leave in the
// issuance queue when they are issued stay (autovacuum is off on the test
// server, as it may be in production), and planning a claim walks their
// index entries; VacuumQueue, which the store runs itself after writes,
// leaves them while they are fewer than the live rows (a VACUUM reads the
// whole index), clears them once they outnumber the live rows, and
// planning a claim reads a few buffers again.
func TestVacuumQueue(t *testing.T) {
	ctx := context.Background()
	// Behind the store's back, so that its own check does not run first,
	// on one session that reports its row counts at once
	// (pg_stat_force_next_flush) rather than when it has been idle for a
	// while: VacuumQueue reads them, and the inserts' counts reported after
	// the ANALYZE would count the rows twice.
	s, db := openBehind(t)
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{
		`INSERT INTO persons (id, national_id, family_name, given_name, birth_date, created_at, updated_at)
		 SELECT g, 'N' || g, 'F', 'G', '1990-01-01', 0, 0 FROM generate_series(1, 60000) g`,
		`INSERT INTO pending_issuance (person_id, seq, since) SELECT g, 1, 0 FROM generate_series(1, 60000) g`,
		`SELECT pg_stat_force_next_flush()`,
		`ANALYZE persons`,
		`ANALYZE pending_issuance`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if did, err := s.VacuumQueue(ctx); err != nil || did {
		t.Fatalf("VacuumQueue on a queue without dead rows = %v, %v; want nothing done", did, err)
	}
	// Persons issued: their rows leave the queue.
	issued := func(upTo int) {
		t.Helper()
		for _, q := range []string{`DELETE FROM pending_issuance WHERE person_id <= ` + strconv.Itoa(upTo),
			`SELECT pg_stat_force_next_flush()`} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	// 25,000 dead rows, 35,000 live: more than 20,000 but fewer than the
	// live ones, so no VACUUM yet.
	issued(25000)
	if did, err := s.VacuumQueue(ctx); err != nil || did {
		t.Fatalf("VacuumQueue with 25,000 dead rows and 35,000 live = %v, %v; want nothing done", did, err)
	}
	// 35,000 dead, 25,000 live.
	issued(35000)
	planBuffers := func() int {
		t.Helper()
		plan, err := store.ClaimPlanForTest(ctx, s, "(ANALYZE, BUFFERS)", 35000, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range plan {
			lines = append(lines, strings.TrimSpace(l))
		}
		// "Planning:" then "Buffers: shared hit=N read=M …".
		for i, l := range lines {
			if l == "Planning:" && i+1 < len(lines) {
				n := 0
				for _, f := range strings.Fields(strings.TrimPrefix(lines[i+1], "Buffers: shared")) {
					if k, v, ok := strings.Cut(f, "="); ok && (k == "hit" || k == "read") {
						m, _ := strconv.Atoi(v)
						n += m
					}
				}
				return n
			}
		}
		return 0 // no buffers read while planning
	}
	before := planBuffers()
	// A VACUUM removes rows no open transaction can see: other tests'
	// transactions on the same server may hold some back for a moment, and
	// VacuumQueue vacuums again while they outnumber the live ones.
	var did bool
	var dead int64 = -1
	for deadline := time.Now().Add(20 * time.Second); !did || dead != 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after VacuumQueue (vacuumed: %v): %d dead rows in the queue, want 0", did, dead)
		}
		v, err := s.VacuumQueue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		did = did || v
		if err := db.QueryRowContext(ctx, `SELECT n_dead_tup FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND relname = 'pending_issuance'`).Scan(&dead); err != nil {
			t.Fatal(err)
		}
	}
	if again, err := s.VacuumQueue(ctx); err != nil || again {
		t.Fatalf("VacuumQueue with no dead rows = %v, %v; want nothing done", again, err)
	}
	after := planBuffers()
	t.Logf("planning a claim read %d buffers with 35,000 dead rows in the queue, %d after VacuumQueue", before, after)
	if before < 50 || after > before/4 {
		t.Fatalf("planning a claim read %d buffers before VacuumQueue and %d after; want many, then a quarter or less", before, after)
	}
}
