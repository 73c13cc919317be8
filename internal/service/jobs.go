package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/store"
)

// JobState is the state of a background job.
type JobState string

// Job states.
const (
	JobRunning   JobState = store.JobRunning
	JobDone      JobState = "done"
	JobFailed    JobState = "failed"    // stopped by an error; see JobStatus.Error
	JobCancelled JobState = "cancelled" // stopped by Service.Close
	// JobInterrupted: every process working on the job stopped without
	// finishing it (their leases lapsed or, on PostgreSQL, their database
	// sessions ended). Starting a new job resumes the work.
	JobInterrupted JobState = "interrupted"
)

const jobIssueAll = "issue-all"

// JobStatus is a batch issuance job's progress, as the API returns it and
// the command line reads it. Counts are persons.
type JobStatus struct {
	ID    string   `json:"id"`
	State JobState `json:"state"`
	// Total is the pending-issuance queue length when the job started;
	// persons queued later may be included too.
	Total int64 `json:"total"`
	// Done counts persons processed: Issued got a new certificate, Blocked
	// have contradictory records, Failed were refused by the issuer (they
	// stay pending); the others' certificates were already up to date.
	Done    int64 `json:"done"`
	Issued  int64 `json:"issued"`
	Blocked int64 `json:"blocked"`
	Failed  int64 `json:"failed"`
	// Rate is Done per second since the start; ETASeconds the time left at
	// that rate (0 when unknown or finished).
	Rate       float64 `json:"rate"`
	ETASeconds float64 `json:"eta_seconds"`
	// Workers counts the processes working on a running job.
	Workers    int       `json:"workers"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// Error says why a failed job stopped; it carries no personal data.
	Error string `json:"error,omitempty"`
}

// JobRunningError refuses to start a batch issuance while another runs. It
// is an [ErrConflict].
type JobRunningError struct {
	Job JobStatus
	// RetryAfter is when to try again: the running job's ETA, within 1 s
	// to 1 min.
	RetryAfter time.Duration
}

func (e *JobRunningError) Error() string {
	return fmt.Sprintf("service: issuance job %s is running", e.Job.ID)
}

func (e *JobRunningError) Unwrap() error { return ErrConflict }

// ErrCannotJoin: the database has a single writer (SQLite), so a job
// cannot take more workers.
var ErrCannotJoin = fmt.Errorf("%w: only PostgreSQL lets several processes share a job", ErrConflict)

// Leases: a worker renews its lease every leaseTTL/4; a worker whose lease
// lapsed is dead. On PostgreSQL a worker is also dead the moment its
// database session ends (see store.HoldSession), so a killed process is
// known at once, lease or not.
const defaultLeaseTTL = 10 * time.Second

// runningJob is this process's worker on a job.
type runningJob struct {
	jobID, workerID string
	cancel          context.CancelFunc
	// failed holds the persons the issuer refused in this worker: they
	// stay pending, and a later pass does not count them twice.
	failed sync.Map
}

func (s *Service) status(j store.Job, workers int) JobStatus {
	st := JobStatus{ID: j.ID, State: JobState(j.State), Total: j.Total, Done: j.Done, Issued: j.Issued,
		Blocked: j.Blocked, Failed: j.Failed, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, Error: j.Error}
	if st.State == JobRunning {
		st.Workers = workers
		if workers == 0 {
			st.State = JobInterrupted
		}
	}
	end := j.FinishedAt
	if end.IsZero() {
		end = s.clock()
	}
	if d := end.Sub(j.StartedAt).Seconds(); d > 0 {
		st.Rate = float64(j.Done) / d
	}
	if st.State == JobRunning && st.Rate > 0 && j.Total > j.Done {
		st.ETASeconds = float64(j.Total-j.Done) / st.Rate
	}
	return st
}

// liveWorkers counts the workers of a job that are alive: lease valid and,
// on PostgreSQL, database session held. SQLite has one process per
// database, so there a worker must also be this process's.
func (s *Service) liveWorkers(ctx context.Context, tx *store.Tx, jobID string, now time.Time, except string) (live int, dead []*store.Worker, err error) {
	ws, err := tx.Workers(ctx, jobID)
	if err != nil {
		return 0, nil, err
	}
	for _, w := range ws {
		if w.ID == except {
			continue
		}
		ok := w.LeaseUntil.After(now)
		if ok && s.st.SkipsLocked() {
			if ok, err = tx.SessionHeld(ctx, w.ID); err != nil {
				return 0, nil, err
			}
		} else if ok {
			ok = s.ownWorker(w.ID)
		}
		if ok {
			live++
		} else {
			dead = append(dead, w)
		}
	}
	return live, dead, nil
}

func (s *Service) ownWorker(workerID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rj := range s.jobs {
		if rj.workerID == workerID {
			return true
		}
	}
	return false
}

// StartIssueAll starts the batch issuance: it issues (see
// [Service.IssueFor]) for every person in the pending-issuance queue — the
// persons whose finalised records changed since their last issuance —
// streaming through the queue in chunks, signing on every core and
// committing each chunk in one transaction. It returns the job id at once;
// follow it with [Service.Job]. Only one batch issuance runs at a time:
// while one runs, StartIssueAll returns a [*JobRunningError] naming it
// (other processes may join it, see [Service.JoinIssueAll]). The job is
// idempotent and resumable: a person is taken off the queue in the
// transaction that stores their certificate, so after a crash a new job
// continues with the persons left, and a person issued again with
// unchanged records keeps their certificate. A job whose workers all died
// is interrupted, and a new one may start at once. Requires
// auth.PermIssue.
func (s *Service) StartIssueAll(ctx context.Context, actor Actor) (string, error) {
	if err := allow(actor, auth.PermIssue); err != nil {
		return "", err
	}
	workerID := s.newWorkerID()
	release, err := s.st.HoldSession(ctx, workerID)
	if err != nil {
		return "", err
	}
	now := s.clock()
	j := store.Job{ID: newBatchID(), Kind: jobIssueAll, State: store.JobRunning, ActorID: actor.ID,
		StartedAt: now, HeartbeatAt: now}
	err = s.st.Write(ctx, func(tx *store.Tx) error {
		c := newChanges(staffOrSystem(actor), now)
		old, err := tx.RunningJob(ctx, jobIssueAll)
		switch {
		case err == nil:
			live, _, err := s.liveWorkers(ctx, tx, old.ID, now, "")
			if err != nil {
				return err
			}
			if live > 0 {
				st := s.status(*old, live)
				retry := time.Duration(st.ETASeconds * float64(time.Second))
				return &JobRunningError{Job: st, RetryAfter: min(max(retry, time.Second), time.Minute)}
			}
			// Not running any more when it ended meanwhile (READ COMMITTED:
			// the update sees the latest state).
			if ended, err := tx.FinishJob(ctx, old.ID, string(JobInterrupted), "", now); err != nil {
				return err
			} else if ended {
				c.record("job.interrupted", "job:"+old.ID, nil, map[string]any{"done": old.Done})
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if j.Total, err = tx.CountPending(ctx); err != nil {
			return err
		}
		if err := tx.InsertJob(ctx, &j); err != nil {
			return err
		}
		if err := tx.InsertWorker(ctx, &store.Worker{JobID: j.ID, ID: workerID, StartedAt: now,
			LeaseUntil: now.Add(s.leaseTTL)}); err != nil {
			return err
		}
		c.record("job.start", "job:"+j.ID, nil, map[string]any{"kind": j.Kind, "total": j.Total, "worker": workerID})
		return tx.InsertAudit(ctx, c.audit)
	})
	if err != nil {
		release()
		return "", err
	}
	s.startWorker(j.ID, workerID, release, staffOrSystem(actor))
	s.log.InfoContext(ctx, "job started", "job", j.ID, "kind", j.Kind, "total", j.Total, "actor", actor.ID,
		"worker", workerID)
	return j.ID, nil
}

// JoinIssueAll makes this process a worker of the running batch issuance
// id, on PostgreSQL: the workers of a job take disjoint persons from the
// queue (see store.Tx.ClaimPending), each exactly once, and a worker that
// dies leaves its persons to the others. Joining a job this process already
// works on changes nothing. Errors: [ErrNotFound], [ErrConflict] (the job
// is not running), [ErrCannotJoin] on SQLite. Requires auth.PermIssue.
func (s *Service) JoinIssueAll(ctx context.Context, actor Actor, id string) error {
	if err := allow(actor, auth.PermIssue); err != nil {
		return err
	}
	if !s.st.SkipsLocked() {
		return ErrCannotJoin
	}
	s.mu.Lock()
	_, here := s.jobs[id]
	s.mu.Unlock()
	if here {
		return nil
	}
	workerID := s.newWorkerID()
	release, err := s.st.HoldSession(ctx, workerID)
	if err != nil {
		return err
	}
	now := s.clock()
	err = s.st.Write(ctx, func(tx *store.Tx) error {
		j, err := tx.Job(ctx, id)
		if err != nil {
			return err
		}
		if j.Kind != jobIssueAll || j.State != store.JobRunning {
			return fmt.Errorf("%w: job %s is %s", ErrConflict, id, j.State)
		}
		if live, _, err := s.liveWorkers(ctx, tx, id, now, ""); err != nil {
			return err
		} else if live == 0 {
			return fmt.Errorf("%w: job %s was interrupted; start a new one", ErrConflict, id)
		}
		if err := tx.InsertWorker(ctx, &store.Worker{JobID: id, ID: workerID, StartedAt: now,
			LeaseUntil: now.Add(s.leaseTTL)}); err != nil {
			return err
		}
		c := newChanges(staffOrSystem(actor), now)
		c.record("job.join", "job:"+id, nil, map[string]any{"worker": workerID})
		return tx.InsertAudit(ctx, c.audit)
	})
	if err != nil {
		release()
		return err
	}
	s.startWorker(id, workerID, release, staffOrSystem(actor))
	s.log.InfoContext(ctx, "job joined", "job", id, "actor", actor.ID, "worker", workerID)
	return nil
}

func (s *Service) newWorkerID() string { return s.instance + "." + newBatchID()[:8] }

// Job returns a job's status. Requires auth.PermIssue.
func (s *Service) Job(ctx context.Context, actor Actor, id string) (JobStatus, error) {
	if err := allow(actor, auth.PermIssue); err != nil {
		return JobStatus{}, err
	}
	var st JobStatus
	// A worker releases its session only after committing its end, so a
	// job that looks interrupted in one snapshot (its last worker ended
	// after the snapshot was taken) is read once more in a new one.
	for attempt := 0; attempt < 2; attempt++ {
		err := s.st.Read(ctx, func(tx *store.Tx) error {
			j, err := tx.Job(ctx, id)
			if err != nil {
				return err
			}
			st, err = s.jobStatus(ctx, tx, j)
			return err
		})
		if err != nil || st.State != JobInterrupted || !st.FinishedAt.IsZero() {
			return st, err
		}
	}
	return st, nil
}

func (s *Service) jobStatus(ctx context.Context, tx *store.Tx, j *store.Job) (JobStatus, error) {
	live := 0
	if j.State == store.JobRunning {
		var err error
		if live, _, err = s.liveWorkers(ctx, tx, j.ID, s.clock(), ""); err != nil {
			return JobStatus{}, err
		}
	}
	return s.status(*j, live), nil
}

// Jobs lists batch issuance jobs, newest first: up to limit (1–100,
// default 20) started before the job before (from the start when empty).
// Requires auth.PermIssue.
func (s *Service) Jobs(ctx context.Context, actor Actor, before string, limit int) ([]JobStatus, error) {
	if err := allow(actor, auth.PermIssue); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	var out []JobStatus
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		js, err := tx.ListJobs(ctx, jobIssueAll, before, limit)
		if err != nil {
			return err
		}
		out = make([]JobStatus, len(js))
		for i, j := range js {
			if out[i], err = s.jobStatus(ctx, tx, j); err != nil {
				return err
			}
		}
		return nil
	})
	for i := range out {
		if err == nil && out[i].State == JobInterrupted && out[i].FinishedAt.IsZero() {
			out[i], err = s.Job(ctx, actor, out[i].ID) // see Job
		}
	}
	return out, err
}

// startWorker runs this process's part of a job until the queue is empty,
// the service closes or the job ends.
func (s *Service) startWorker(jobID, workerID string, release func(), by auditActor) {
	ctx, cancel := context.WithCancel(s.ctx)
	rj := &runningJob{jobID: jobID, workerID: workerID, cancel: cancel}
	s.mu.Lock()
	s.jobs[jobID] = rj
	s.mu.Unlock()
	s.wg.Go(func() {
		defer release()
		defer cancel()
		s.work(ctx, rj, by)
	})
}

// work runs a worker: it renews its lease while it issues, then ends its
// part, and the job when it is the last worker.
func (s *Service) work(ctx context.Context, rj *runningJob, by auditActor) {
	leaseCtx, stopLease := context.WithCancel(ctx)
	var leaseLost atomic.Bool
	var leaseWG sync.WaitGroup
	leaseWG.Go(func() {
		t := time.NewTicker(s.leaseTTL / 4)
		defer t.Stop()
		for {
			select {
			case <-leaseCtx.Done():
				return
			case <-t.C:
			}
			var ok bool
			err := s.st.Write(leaseCtx, func(tx *store.Tx) error {
				var err error
				ok, err = tx.RenewWorker(leaseCtx, rj.jobID, rj.workerID, s.clock().Add(s.leaseTTL))
				return err
			})
			if err == nil && !ok {
				leaseLost.Store(true)
				rj.cancel() // the job ended elsewhere
				return
			}
		}
	})
	var err error
	for reaps := 0; ; reaps++ {
		if s.st.SkipsLocked() {
			err = s.issueClaiming(ctx, rj, by)
		} else {
			err = s.issuePipelined(ctx, rj, by)
		}
		// Persons a dead worker had claimed went back to the queue when
		// its transaction died: take them too, then end.
		if err != nil || ctx.Err() != nil || reaps == maxReaps {
			break
		}
		var n int
		if n, err = s.reapDead(ctx, rj); err != nil || n == 0 {
			break
		}
	}
	stopLease()
	leaseWG.Wait()

	now := s.clock()
	state := JobDone
	errText := ""
	switch {
	case leaseLost.Load() || errors.Is(err, errSessionLost):
		state = "" // taken for dead: the others end the job
	case err != nil && !errors.Is(err, context.Canceled):
		state, errText = JobFailed, err.Error()
	case ctx.Err() != nil:
		state = JobCancelled
	case err != nil:
		state, errText = JobFailed, err.Error()
	}
	// The end is written even when the service is closing.
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var finished bool
	var j *store.Job
	werr := s.st.Write(fctx, func(tx *store.Tx) error {
		finished = false
		if err := tx.LockJob(fctx, rj.jobID); err != nil {
			return err
		}
		if err := tx.FinishWorker(fctx, rj.jobID, rj.workerID, now); err != nil {
			return err
		}
		if state == "" {
			return nil
		}
		if state != JobFailed {
			// Others still working finish the job; a failure ends it for all.
			if live, _, err := s.liveWorkers(fctx, tx, rj.jobID, now, rj.workerID); err != nil || live > 0 {
				return err
			}
		}
		var err error
		if finished, err = tx.FinishJob(fctx, rj.jobID, string(state), errText, now); err != nil || !finished {
			return err
		}
		if j, err = tx.Job(fctx, rj.jobID); err != nil {
			return err
		}
		c := newChanges(by, now)
		c.record("job.finish", "job:"+j.ID, nil, map[string]any{"state": j.State, "done": j.Done,
			"issued": j.Issued, "blocked": j.Blocked, "failed": j.Failed})
		return tx.InsertAudit(fctx, c.audit)
	})
	s.mu.Lock()
	delete(s.jobs, rj.jobID)
	s.mu.Unlock()
	if finished {
		s.log.Info("job finished", "job", j.ID, "state", j.State, "done", j.Done, "issued", j.Issued,
			"blocked", j.Blocked, "failed", j.Failed, "error", errors.Join(err, werr))
	} else {
		s.log.Info("job worker finished", "job", rj.jobID, "worker", rj.workerID, "error", errors.Join(err, werr))
	}
}

// errSessionLost stops a worker whose database session ended while the
// process lives on: the other workers take it for dead and retake its
// persons, so it must claim no more (see store.Tx.ClaimAs).
var errSessionLost = errors.New("service: job worker lost its database session; the other workers take over its persons")

// maxReaps bounds the extra passes a worker makes for dead workers' persons.
const maxReaps = 8

// reapDead ends the part of every dead worker of the job and reports how
// many there were.
func (s *Service) reapDead(ctx context.Context, rj *runningJob) (int, error) {
	var n int
	err := s.st.Write(ctx, func(tx *store.Tx) error {
		now := s.clock()
		_, dead, err := s.liveWorkers(ctx, tx, rj.jobID, now, rj.workerID)
		if err != nil {
			return err
		}
		n = len(dead)
		for _, w := range dead {
			if err := tx.FinishWorker(ctx, rj.jobID, w.ID, now); err != nil {
				return err
			}
		}
		return nil
	})
	if n > 0 {
		s.log.Warn("job workers died; retaking their persons", "job", rj.jobID, "dead", n)
	}
	return n, err
}

// progress is one chunk's counts.
type progress struct{ done, issued, blocked, failed int64 }

func progressOf(iss []*issuance) progress {
	p := progress{done: int64(len(iss))}
	for _, is := range iss {
		switch is.kind {
		case issueNew:
			p.issued++
		case issueBlocked:
			p.blocked++
		case issueFailed:
			p.failed++
		}
	}
	return p
}

// issueClaiming is the PostgreSQL worker: issueLanes transactions at once,
// each claims a chunk of the queue (store.Tx.ClaimPending skips persons
// other transactions hold, in this process or another), reads, signs and
// writes it, and commits. While one lane signs, another commits. Each lane
// makes two passes over the queue: the second takes what was skipped in
// the first, locked by a transaction that then rolled back. The lanes of a
// pass share its cursor (the highest person claimed so far), so that a
// lane's claim starts after the chunks the other lanes hold instead of
// skipping over them row by row.
func (s *Service) issueClaiming(ctx context.Context, rj *runningJob, by auditActor) error {
	var wg sync.WaitGroup
	errs := make([]error, s.issueLanes)
	var cursors [2]atomic.Int64
	for lane := range s.issueLanes {
		wg.Go(func() {
			for pass := 0; pass < 2 && errs[lane] == nil; pass++ {
				var after int64
				for ctx.Err() == nil {
					after = max(after, cursors[pass].Load())
					last, err := s.claimChunk(ctx, rj, by, after)
					if err != nil {
						errs[lane] = err
						rj.cancel()
						return
					}
					if last == 0 {
						break
					}
					after = last
					for cur := cursors[pass].Load(); cur < last && !cursors[pass].CompareAndSwap(cur, last); {
						cur = cursors[pass].Load()
					}
				}
			}
		})
	}
	wg.Wait()
	// A lane that fails cancels the others, whose context errors only echo
	// it: the job failed (with that error), it was not cancelled.
	var failed []error
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		return errors.Join(failed...)
	}
	return errors.Join(errs...)
}

// claimChunk issues for one claimed chunk in one transaction and returns
// the last person id claimed (0: the queue after `after` is empty).
func (s *Service) claimChunk(ctx context.Context, rj *runningJob, by auditActor, after int64) (int64, error) {
	var last int64
	var failed []int64
	attempt := 0
	err := s.st.Write(ctx, func(tx *store.Tx) error {
		last, failed = 0, failed[:0]
		attempt++
		if alive, err := tx.ClaimAs(ctx, rj.workerID); err != nil {
			return err
		} else if !alive {
			return errSessionLost
		}
		pend, err := tx.ClaimPending(ctx, after, s.issueChunk)
		if err != nil || len(pend) == 0 {
			return err
		}
		last = pend[len(pend)-1].PersonID
		ids := make([]int64, 0, len(pend))
		persons := make(map[int64]*store.Person, len(pend))
		for _, p := range pend {
			if _, f := rj.failed.Load(p.PersonID); !f {
				ids = append(ids, p.PersonID)
				persons[p.PersonID] = p.Person
			}
		}
		if len(ids) == 0 {
			return nil
		}
		iss, err := s.loadIssuancesTx(ctx, tx, ids, persons)
		if err != nil {
			return err
		}
		// A person another worker issued while this claim ran is locked
		// but no longer pending (the claim read the queue before that
		// commit): skip it, it was counted there.
		iss = slices.DeleteFunc(iss, func(is *issuance) bool { return is.pending.Seq == 0 })
		if len(iss) == 0 {
			return nil
		}
		s.decideAll(iss)
		now := s.clock()
		// The UVCIs are checked by the unique index; a collision makes
		// the store run this transaction again, which checks them first.
		if err := s.writeIssuances(ctx, tx, newChanges(by, now), iss, true, attempt > 1); err != nil {
			if errors.Is(err, store.ErrUVCIInUse) {
				s.log.WarnContext(ctx, "issuance chunk: a UVCI is already in use; retrying with the UVCIs checked",
					"job", rj.jobID, "worker", rj.workerID)
			}
			return err
		}
		for _, is := range iss {
			if is.kind == issueFailed {
				failed = append(failed, is.person.ID)
			}
		}
		p := progressOf(iss)
		return tx.AddJobProgress(ctx, rj.jobID, p.done, p.issued, p.blocked, p.failed, now)
	})
	for _, id := range failed {
		rj.failed.Store(id, true)
	}
	return last, err
}

// issuePipelined is the single-writer (SQLite) worker: a reader reads and
// signs chunk k+1 while the writer commits chunk k.
func (s *Service) issuePipelined(ctx context.Context, rj *runningJob, by auditActor) error {
	chunks := make(chan []*issuance, 1)
	var readErr error
	go func() {
		defer close(chunks)
		var after int64
		for ctx.Err() == nil {
			var pend []store.Pending
			readErr = s.st.Read(ctx, func(tx *store.Tx) error {
				var err error
				pend, err = tx.ClaimPending(ctx, after, s.issueChunk)
				return err
			})
			if readErr != nil || len(pend) == 0 {
				return
			}
			after = pend[len(pend)-1].PersonID
			ids := make([]int64, len(pend))
			for i, p := range pend {
				ids[i] = p.PersonID
			}
			var iss []*issuance
			if iss, readErr = s.loadIssuances(ctx, ids); readErr != nil {
				return
			}
			s.decideAll(iss)
			select {
			case chunks <- iss:
			case <-ctx.Done():
				return
			}
		}
	}()
	var err error
	for iss := range chunks {
		if err != nil {
			continue // drain
		}
		now := s.clock()
		err = s.st.Write(ctx, func(tx *store.Tx) error {
			if err := s.writeIssuances(ctx, tx, newChanges(by, now), iss, false, true); err != nil {
				return err
			}
			p := progressOf(iss)
			return tx.AddJobProgress(ctx, rj.jobID, p.done, p.issued, p.blocked, p.failed, now)
		})
	}
	return errors.Join(err, readErr)
}
