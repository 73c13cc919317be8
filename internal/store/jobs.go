package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"hash/fnv"
	"time"
)

// Worker is one process's part in a job: its lease, renewed while it works.
type Worker struct {
	JobID, ID  string
	StartedAt  time.Time
	LeaseUntil time.Time
	FinishedAt time.Time // zero while it works
}

// InsertWorker records a worker joining a job.
func (t *Tx) InsertWorker(ctx context.Context, w *Worker) error {
	_, err := t.exec(ctx, "INSERT INTO job_workers (job_id, worker_id, started_at, lease_until, finished_at) VALUES (?, ?, ?, ?, ?)",
		w.JobID, w.ID, micros(w.StartedAt), micros(w.LeaseUntil), nullMicros(w.FinishedAt))
	if err != nil {
		if classify(err) == errUnique {
			return fmt.Errorf("%w: the worker already takes part in the job", ErrConflict)
		}
		return fmt.Errorf("store: failed to insert job worker: %w", err)
	}
	return nil
}

// RenewWorker extends a working worker's lease; it reports false when the
// worker has finished or does not exist.
func (t *Tx) RenewWorker(ctx context.Context, jobID, workerID string, until time.Time) (bool, error) {
	n, err := t.execN(ctx, "UPDATE job_workers SET lease_until = ? WHERE job_id = ? AND worker_id = ? AND finished_at IS NULL",
		micros(until), jobID, workerID)
	if err != nil {
		return false, fmt.Errorf("store: failed to renew job worker: %w", err)
	}
	return n == 1, nil
}

// FinishWorker ends a worker's part in a job.
func (t *Tx) FinishWorker(ctx context.Context, jobID, workerID string, at time.Time) error {
	_, err := t.exec(ctx, "UPDATE job_workers SET finished_at = ?, lease_until = ? WHERE job_id = ? AND worker_id = ?",
		micros(at), micros(at), jobID, workerID)
	if err != nil {
		return fmt.Errorf("store: failed to finish job worker: %w", err)
	}
	return nil
}

// Workers returns the workers of a job that have not finished.
func (t *Tx) Workers(ctx context.Context, jobID string) ([]*Worker, error) {
	rows, err := t.query(ctx, "SELECT worker_id, started_at, lease_until FROM job_workers WHERE job_id = ? AND finished_at IS NULL ORDER BY worker_id", jobID)
	if err != nil {
		return nil, fmt.Errorf("store: failed to read job workers: %w", err)
	}
	defer rows.Close()
	var out []*Worker
	for rows.Next() {
		w := &Worker{JobID: jobID}
		var started, lease int64
		if err := rows.Scan(&w.ID, &started, &lease); err != nil {
			return nil, fmt.Errorf("store: failed to read job workers: %w", err)
		}
		w.StartedAt, w.LeaseUntil = fromMicros(started), fromMicros(lease)
		out = append(out, w)
	}
	return out, rows.Err()
}

// AddJobProgress adds one worker's progress to a job's counts and moves
// its heartbeat; several workers add to the same job.
func (t *Tx) AddJobProgress(ctx context.Context, id string, done, issued, blocked, failed int64, at time.Time) error {
	_, err := t.exec(ctx, `UPDATE jobs SET done = done + ?, issued = issued + ?, blocked = blocked + ?, failed = failed + ?,
		heartbeat_at = ? WHERE id = ?`, done, issued, blocked, failed, micros(at), id)
	if err != nil {
		return fmt.Errorf("store: failed to update job: %w", err)
	}
	return nil
}

// FinishJob ends a running job in state (not "running"); it reports false
// when the job was no longer running.
func (t *Tx) FinishJob(ctx context.Context, id, state, errText string, at time.Time) (bool, error) {
	n, err := t.execN(ctx, "UPDATE jobs SET state = ?, error = ?, finished_at = ?, heartbeat_at = ? WHERE id = ? AND state = '"+
		JobRunning+"'", state, errText, micros(at), micros(at), id)
	if err != nil {
		return false, fmt.Errorf("store: failed to finish job: %w", err)
	}
	return n == 1, nil
}

// ListJobs returns up to limit jobs of the kind, newest first, started
// before the job beforeID (all when empty).
func (t *Tx) ListJobs(ctx context.Context, kind, beforeID string, limit int) ([]*Job, error) {
	q := "SELECT " + jobCols + " FROM jobs WHERE kind = ?"
	args := []any{kind}
	if beforeID != "" {
		q += " AND (started_at, id) < (SELECT started_at, id FROM jobs WHERE id = ?)"
		args = append(args, beforeID)
	}
	rows, err := t.query(ctx, q+" ORDER BY started_at DESC, id DESC LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: failed to list jobs: %w", err)
	}
	defer rows.Close()
	var out []*Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("store: failed to list jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// claimSQL reads the queue in key order (SQLite: no locks to take).
const claimSQL = "SELECT q.seq, q.person_id FROM pending_issuance q WHERE q.person_id > ? ORDER BY q.person_id LIMIT ?"

// claimSQLPostgres walks the queue's key index from afterPersonID and
// locks each queued person in turn, skipping those another transaction
// holds, until it has limit of them. The join is written as a LATERAL
// subquery that locks its one row, which the planner cannot flatten (it
// holds a locking clause): the plan is that walk, whatever the statistics
// say (TestClaimPlan). Written as a plain join, the planner chose it from
// its estimate of the join's rows, which it takes as the product of both
// sides' rows over the number of persons: with 30,000 of 1,000,000
// persons left in the queue that is 900 rows, below the LIMIT, so it
// planned a hash join of the whole rest of the queue with the whole rest
// of the persons and a sort, 44 ms a claim instead of 3 (EXPLAIN ANALYZE),
// and the last tenth of a 1M-person issuance cost the database twice the
// CPU per certificate of the others. A bound on p.id was needed there too,
// or a merge join read the persons from the first one.
const claimSQLPostgres = `SELECT q.seq, p.id, p.national_id, p.family_name, p.given_name, p.birth_date, p.created_at, p.updated_at
	FROM pending_issuance q CROSS JOIN LATERAL (
		SELECT id, national_id, family_name, given_name, birth_date, created_at, updated_at
		FROM persons WHERE id = q.person_id FOR UPDATE SKIP LOCKED) p
	WHERE q.person_id > ? ORDER BY q.person_id LIMIT ?`

// ClaimPending takes up to limit persons waiting for issuance whose key is
// greater than afterPersonID, in key order, and locks them until the end
// of the transaction. On PostgreSQL persons another transaction holds are
// skipped (FOR UPDATE SKIP LOCKED), so concurrent workers take disjoint
// persons and none waits for another; a worker that dies releases its
// persons with its transaction. The lock is on the person row, which
// every change of a person's records also takes first, so claiming cannot
// deadlock with intake. SQLite has one writer, so nothing is skipped nor
// locked, and a read-only transaction may call it to read the queue. On
// PostgreSQL each Pending carries the person's row as locked (its latest
// version), so that the claimer need not read it again.
func (t *Tx) ClaimPending(ctx context.Context, afterPersonID int64, limit int) ([]Pending, error) {
	q, args := claimSQL, []any{afterPersonID, limit}
	if t.s.d.postgres {
		q = claimSQLPostgres
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: failed to claim pending issuance: %w", err)
	}
	defer rows.Close()
	out := make([]Pending, 0, min(limit, 1024))
	for rows.Next() {
		var p Pending
		if t.s.d.postgres {
			p.Person, err = scanPerson(prefixScan{rows, []any{&p.Seq}})
			if err == nil {
				p.PersonID = p.Person.ID
				t.sawPersons(p.PersonID)
			}
		} else {
			err = rows.Scan(&p.Seq, &p.PersonID)
		}
		if err != nil {
			return nil, fmt.Errorf("store: failed to claim pending issuance: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// prefixScan scans into pre, then into the destinations given.
type prefixScan struct {
	rows *sql.Rows
	pre  []any
}

func (s prefixScan) Scan(dest ...any) error { return s.rows.Scan(append(s.pre, dest...)...) }

// LockJob locks a job's row until the end of the transaction, so that the
// workers of a job finish one after the other.
func (t *Tx) LockJob(ctx context.Context, id string) error {
	var got string
	if err := t.queryRow(ctx, "SELECT id FROM jobs WHERE id = ?"+t.forUpdate(true), id).Scan(&got); err != nil {
		return fmt.Errorf("store: failed to lock job: %w", err)
	}
	return nil
}

// SkipsLocked reports whether [Tx.ClaimPending] lets several workers claim
// at once (PostgreSQL); otherwise one worker at a time writes.
func (s *Store) SkipsLocked() bool { return s.d.postgres }

// sessionKey maps a name to the PostgreSQL advisory lock key its session
// holds (see [Store.HoldSession]).
func sessionKey(name string) int64 { return advisoryKey("vaxcert-session:" + name) }

// workKey maps a name to the advisory lock key its claiming transactions
// hold, shared (see [Tx.ClaimAs]).
func workKey(name string) int64 { return advisoryKey("vaxcert-work:" + name) }

func advisoryKey(s string) int64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return int64(h.Sum64() >> 1)
}

// advisoryHeld is true when some session or transaction of this database
// holds one of two bigint advisory lock keys: pg_locks shows such a key
// with its high half in classid, its low half in objid and objsubid 1. It
// reads the lock table and takes no lock, so concurrent checks cannot see
// each other's locks as the worker's.
const advisoryHeld = `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
	AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
	AND ((classid::bigint = ? AND objid::bigint = ?) OR (classid::bigint = ? AND objid::bigint = ?)))`

func keyHalves(k int64) (hi, lo int64) { return k >> 32, k & 0xffffffff }

// HoldSession marks name (a worker id) as alive for as long as this
// process holds it: on PostgreSQL a session advisory lock on a connection
// of its own, which the server releases the moment the process dies and
// its connection closes. Call release when done. On SQLite it holds
// nothing ([Tx.SessionHeld] cannot tell; the lease must).
func (s *Store) HoldSession(ctx context.Context, name string) (release func(), err error) {
	if !s.d.postgres {
		return func() {}, nil
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: failed to hold session: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", sessionKey(name)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("store: failed to hold session: %w", err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", sessionKey(name))
		// Raw closes the connection for good: a pooled one would keep
		// the lock if the unlock failed.
		conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
	}, nil
}

// SessionHeld reports whether name (a worker id) is alive: some process
// holds it with [Store.HoldSession], or one of its claiming transactions
// (see [Tx.ClaimAs]) is still open, whose persons are locked. On
// PostgreSQL exactly; on SQLite it cannot tell and reports true.
func (t *Tx) SessionHeld(ctx context.Context, name string) (bool, error) {
	if !t.s.d.postgres {
		return true, nil
	}
	sHi, sLo := keyHalves(sessionKey(name))
	wHi, wLo := keyHalves(workKey(name))
	var held bool
	if err := t.queryRow(ctx, advisoryHeld, sHi, sLo, wHi, wLo).Scan(&held); err != nil {
		return false, fmt.Errorf("store: failed to check session: %w", err)
	}
	return held, nil
}

// ClaimAs marks this transaction as one of worker name's, before it claims
// (see [Tx.ClaimPending]): until it ends, [Tx.SessionHeld] reports the
// worker alive. It reports false when the worker's session is gone: the
// others may already have taken the worker for dead and finished its
// part, so it must not claim anything. On SQLite it reports true.
func (t *Tx) ClaimAs(ctx context.Context, name string) (bool, error) {
	if !t.s.d.postgres {
		return true, nil
	}
	// The work key first, then the session check: a check that saw
	// neither held cannot be followed by a claim.
	if _, err := t.exec(ctx, "SELECT pg_advisory_xact_lock_shared(?)", workKey(name)); err != nil {
		return false, fmt.Errorf("store: failed to mark claiming worker: %w", err)
	}
	sHi, sLo := keyHalves(sessionKey(name))
	var held bool
	if err := t.queryRow(ctx, advisoryHeld, sHi, sLo, sHi, sLo).Scan(&held); err != nil {
		return false, fmt.Errorf("store: failed to check session: %w", err)
	}
	return held, nil
}
