package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Planner statistics on PostgreSQL.
//
// The service looks rows up by lists of keys (persons by id, doses by
// person, records by key). Without statistics PostgreSQL estimates such a
// list to match the whole table and reads it sequentially: measured on
// 200,000 persons and 400,000 doses never analysed, reading the doses of
// 1,000 persons was a parallel sequential scan of the whole table (cost
// 41,875) and locking 1,000 persons by id a sequential scan of persons
// (cost 4,076), where an index scan costs 7,944 and 2,563; statistics
// taken while a table was nearly empty do the same as it grows. That is
// the collapse of bulk finalisation after about 160,000 doses on a server
// with autovacuum off. A national deployment cannot depend on a vacuum
// schedule, so the store keeps its own statistics: after writes it checks,
// at most every analyzeEvery, which tables changed by more than
// analyzeBase + analyzeScale × their size since their last ANALYZE, and
// analyzes those (ANALYZE samples a bounded number of rows, so each costs
// tens of milliseconds whatever the size). Growth is geometric, so a table
// grown to N rows was analysed O(log N) times. With autovacuum on, both
// run; nothing depends on either.
const (
	analyzeEvery = 2 * time.Second
	analyzeBase  = 1000
	analyzeScale = 0.1
	// analyzeLock keeps processes sharing a database from analysing
	// together (they would queue on the table lock).
	analyzeLock = 7262701
)

// analyzer rate-limits the statistics check of one store.
type analyzer struct {
	mu      sync.Mutex
	last    time.Time
	running bool
}

// afterWrite starts a statistics check in the background when the last
// one is old enough.
func (s *Store) afterWrite() {
	if !s.d.postgres {
		return
	}
	a := &s.analyzer
	a.mu.Lock()
	if a.running || time.Since(a.last) < analyzeEvery {
		a.mu.Unlock()
		return
	}
	a.running, a.last = true, time.Now()
	a.mu.Unlock()
	s.bg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		s.AnalyzeGrown(ctx) // failures only mean older statistics
		s.VacuumQueue(ctx)  // or a slower claim, until the next check
		a.mu.Lock()
		a.running = false
		a.mu.Unlock()
	})
}

// AnalyzeGrown analyzes the tables of the store's schema that changed by
// more than analyzeBase + analyzeScale × their size since they were last
// analyzed (by anyone), and returns their names. On SQLite it does
// nothing. Another process analysing at the same moment makes it return
// at once.
func (s *Store) AnalyzeGrown(ctx context.Context) ([]string, error) {
	if !s.d.postgres {
		return nil, nil
	}
	var tables []string
	err := s.maintain(ctx, func(conn *sql.Conn) error {
		rows, err := conn.QueryContext(ctx, `SELECT t.relname FROM pg_stat_user_tables t JOIN pg_class c ON c.oid = t.relid
			WHERE t.schemaname = current_schema() AND t.n_mod_since_analyze > $1 + $2 * GREATEST(c.reltuples, 0)
			ORDER BY t.relname`, analyzeBase, analyzeScale)
		if err != nil {
			return err
		}
		for rows.Next() {
			var t string
			if err := rows.Scan(&t); err != nil {
				rows.Close()
				return err
			}
			tables = append(tables, t)
		}
		rows.Close()
		for _, t := range tables {
			if _, err := conn.ExecContext(ctx, "ANALYZE "+pgx.Identifier{t}.Sanitize()); err != nil {
				return fmt.Errorf("%s: %w", t, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: failed to analyze: %w", err)
	}
	return tables, nil
}

// maintain runs fn on a connection of its own that holds the maintenance
// advisory lock (analyzeLock), and does nothing when another session holds
// it: processes sharing a database analyse and vacuum one at a time.
func (s *Store) maintain(ctx context.Context, fn func(conn *sql.Conn) error) error {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var got bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", analyzeLock).Scan(&got); err != nil || !got {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", analyzeLock)
	return fn(conn)
}

// queueVacuumAt is the least number of dead rows of the issuance queue
// past which [Store.VacuumQueue] vacuums it.
const queueVacuumAt = 20000

// VacuumQueue vacuums the issuance queue (pending_issuance) when it holds
// more dead rows than live ones, and more than queueVacuumAt, and reports
// whether it did. On SQLite it does nothing.
//
// Every person whose records change passes through the queue and leaves
// it by a DELETE, so it churns as no other table does. Without autovacuum
// its dead rows stay: the heap only grows, and their index entries sit at
// the low end of its key index, where the planner looks for the key's
// actual minimum each time it plans a claim (the selectivity of
// "person_id > after"). With the claim written as a merge join that was
// costly: on 1,000,000 persons, planning a claim read 400-500 buffers and
// took 4 ms once 900,000 had been issued, 0.2 ms after a VACUUM, and batch
// issuance cost 1.3 times as much per certificate in its last tenth as in
// its first; so the queue was vacuumed every 20,000 dead rows. The claim
// now makes one such lookup, and PostgreSQL bounds it (about 100 pages):
// 93 buffers with 30,000 dead rows, 15 after a VACUUM (TestVacuumQueue),
// a fraction of a millisecond per claim of 1,000 persons. A VACUUM of the
// queue, on the other hand, reads its whole key index, whatever the number
// of dead rows: 16-18 ms at 1,000,000 rows, and it grows with the queue
// (about 270,000 index pages at 100,000,000 persons), so vacuuming every
// 20,000 rows made draining a queue of N persons cost O(N²). Vacuuming
// when the dead rows outnumber the live ones keeps the heap and index
// within twice what the live rows need and drains the queue with
// O(log N) vacuums.
func (s *Store) VacuumQueue(ctx context.Context) (bool, error) {
	if !s.d.postgres {
		return false, nil
	}
	var did bool
	err := s.maintain(ctx, func(conn *sql.Conn) error {
		var dead, live int64
		err := conn.QueryRowContext(ctx, `SELECT n_dead_tup, n_live_tup FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND relname = 'pending_issuance'`).Scan(&dead, &live)
		if err != nil || dead <= max(queueVacuumAt, live) {
			return err
		}
		_, err = conn.ExecContext(ctx, "VACUUM pending_issuance")
		did = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: failed to vacuum the issuance queue: %w", err)
	}
	return did, nil
}
