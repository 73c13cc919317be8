package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AuditEntry is one row of the audit trail. Subject, Before and After hold
// opaque ids and record metadata only, never personal data.
type AuditEntry struct {
	ID        int64
	At        time.Time
	ActorKind string
	ActorID   string
	ActorRole string
	Action    string
	// Subject names what changed: "dose:<site>/<record_id>", "person:<key>",
	// "cert:<uvci>", "token:<id>", "correction:<id>", "review:<id>",
	// "batch:<id>", "job:<id>".
	Subject string
	// Before and After are JSON objects ("{}" when empty).
	Before string
	After  string
}

// InsertAudit appends entries to the audit trail.
func (t *Tx) InsertAudit(ctx context.Context, es []*AuditEntry) error {
	return t.insertRows(ctx, "audit", []string{"at", "actor_kind", "actor_id", "actor_role", "action", "subject",
		"before_json", "after_json"}, len(es), func(i int) []any {
		e := es[i]
		return []any{micros(e.At), e.ActorKind, e.ActorID, e.ActorRole, e.Action, e.Subject, e.Before, e.After}
	})
}

// AuditFilter selects audit entries; zero fields match everything.
type AuditFilter struct {
	Action  string
	Subject string
	ActorID string
	Since   time.Time // inclusive
	Until   time.Time // exclusive
}

// ListAudit returns up to limit entries matching f with an id greater than
// afterID, oldest first.
func (t *Tx) ListAudit(ctx context.Context, f AuditFilter, afterID int64, limit int) ([]*AuditEntry, error) {
	q := "SELECT id, at, actor_kind, actor_id, actor_role, action, subject, before_json, after_json FROM audit WHERE id > ?"
	args := []any{afterID}
	for _, c := range []struct {
		col, val string
	}{{"action", f.Action}, {"subject", f.Subject}, {"actor_id", f.ActorID}} {
		if c.val != "" {
			q += " AND " + c.col + " = ?"
			args = append(args, c.val)
		}
	}
	if !f.Since.IsZero() {
		q += " AND at >= ?"
		args = append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		q += " AND at < ?"
		args = append(args, micros(f.Until))
	}
	rows, err := t.query(ctx, q+" ORDER BY id LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: failed to list audit: %w", err)
	}
	defer rows.Close()
	var out []*AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.ActorKind, &e.ActorID, &e.ActorRole, &e.Action, &e.Subject, &e.Before, &e.After); err != nil {
			return nil, fmt.Errorf("store: failed to list audit: %w", err)
		}
		e.At = fromMicros(at)
		out = append(out, &e)
	}
	return out, rows.Err()
}

// Job is a background job's persisted state.
type Job struct {
	ID          string
	Kind        string
	State       string
	Total       int64
	Done        int64
	Issued      int64
	Failed      int64
	Blocked     int64
	ActorID     string
	StartedAt   time.Time
	HeartbeatAt time.Time
	FinishedAt  time.Time
	Error       string
}

// JobRunning is the state of a job that has not finished. At most one job
// of a kind is running: inserting a second is [ErrConflict].
const JobRunning = "running"

const jobCols = "id, kind, state, total, done, issued, failed, blocked, actor_id, started_at, heartbeat_at, finished_at, error"

func scanJob(sc interface{ Scan(...any) error }) (*Job, error) {
	var j Job
	var started, beat int64
	var finished sql.NullInt64
	if err := sc.Scan(&j.ID, &j.Kind, &j.State, &j.Total, &j.Done, &j.Issued, &j.Failed, &j.Blocked, &j.ActorID, &started, &beat,
		&finished, &j.Error); err != nil {
		return nil, err
	}
	j.StartedAt, j.HeartbeatAt, j.FinishedAt = fromMicros(started), fromMicros(beat), fromNullMicros(finished)
	return &j, nil
}

// InsertJob records a new job.
func (t *Tx) InsertJob(ctx context.Context, j *Job) error {
	_, err := t.exec(ctx, "INSERT INTO jobs ("+jobCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		j.ID, j.Kind, j.State, j.Total, j.Done, j.Issued, j.Failed, j.Blocked, j.ActorID, micros(j.StartedAt), micros(j.HeartbeatAt),
		nullMicros(j.FinishedAt), j.Error)
	if err != nil {
		if classify(err) == errUnique {
			return fmt.Errorf("%w: a %s job is already running", ErrConflict, j.Kind)
		}
		return fmt.Errorf("store: failed to insert job: %w", err)
	}
	return nil
}

// UpdateJob stores a job's progress and state.
func (t *Tx) UpdateJob(ctx context.Context, j *Job) error {
	_, err := t.exec(ctx, `UPDATE jobs SET state = ?, total = ?, done = ?, issued = ?, failed = ?, blocked = ?, heartbeat_at = ?,
		finished_at = ?, error = ? WHERE id = ?`, j.State, j.Total, j.Done, j.Issued, j.Failed, j.Blocked, micros(j.HeartbeatAt),
		nullMicros(j.FinishedAt), j.Error, j.ID)
	if err != nil {
		return fmt.Errorf("store: failed to update job: %w", err)
	}
	return nil
}

// Job returns the job with that id.
func (t *Tx) Job(ctx context.Context, id string) (*Job, error) {
	j, err := scanJob(t.queryRow(ctx, "SELECT "+jobCols+" FROM jobs WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: failed to read job: %w", err)
	}
	return j, nil
}

// RunningJob returns the running job of that kind.
func (t *Tx) RunningJob(ctx context.Context, kind string) (*Job, error) {
	j, err := scanJob(t.queryRow(ctx, "SELECT "+jobCols+" FROM jobs WHERE kind = ? AND state = '"+JobRunning+"'", kind))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: failed to read job: %w", err)
	}
	return j, nil
}

// Counts are the sizes the service reports as metrics.
type Counts struct {
	Certificates        int64 // every certificate ever issued
	CurrentCertificates int64
	Revocations         int64
	PendingIssuance     int64
	OpenReviews         int64
	OpenCorrections     int64
}

// Counts returns the current counts: the large tables' from the counters
// their writers keep (counters.go), the open reviews and corrections by
// counting them (a few per contradiction or request).
func (t *Tx) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	err := t.queryRow(ctx, `SELECT
		(SELECT n FROM counters WHERE name = '`+countCertificates+`'),
		(SELECT n FROM counters WHERE name = '`+countCurrent+`'),
		(SELECT n FROM counters WHERE name = '`+countRevocations+`'),
		(SELECT n FROM counters WHERE name = '`+countPending+`'),
		(SELECT COUNT(*) FROM reviews WHERE resolved_at IS NULL),
		(SELECT COUNT(*) FROM corrections WHERE status = '`+CorrectionOpen+`')`).Scan(
		&c.Certificates, &c.CurrentCertificates, &c.Revocations, &c.PendingIssuance, &c.OpenReviews, &c.OpenCorrections)
	if err != nil {
		return c, fmt.Errorf("store: failed to count: %w", err)
	}
	return c, nil
}
