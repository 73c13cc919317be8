package service

import (
	"context"
	"errors"
	"sync"
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
	// JobInterrupted: the process running the job stopped without
	// finishing it (its heartbeat is stale). Starting a new job resumes
	// the work.
	JobInterrupted JobState = "interrupted"
)

const jobIssueAll = "issue-all"

// JobStatus is a job's progress. Counts are persons.
type JobStatus struct {
	ID    string
	State JobState
	// Total is the pending-issuance queue length when the job started;
	// persons queued later may be included too.
	Total int64
	// Done counts persons processed: Issued got a new certificate, Blocked
	// have contradictory records, Failed were refused by the issuer (they
	// stay pending); the others' certificates were already up to date.
	Done, Issued, Blocked, Failed int64
	// Rate is Done per second since the start; ETA the time left at that
	// rate (0 when unknown or finished).
	Rate       float64
	ETA        time.Duration
	StartedAt  time.Time
	FinishedAt time.Time
	// Error says why a failed job stopped; it carries no personal data.
	Error string
}

type runningJob struct {
	mu  sync.Mutex
	job store.Job
}

func (j *runningJob) snapshot() store.Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.job
}

func (s *Service) status(j store.Job) JobStatus {
	st := JobStatus{ID: j.ID, State: JobState(j.State), Total: j.Total, Done: j.Done, Issued: j.Issued,
		Blocked: j.Blocked, Failed: j.Failed, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, Error: j.Error}
	end := j.FinishedAt
	if end.IsZero() {
		end = s.clock()
	}
	if d := end.Sub(j.StartedAt).Seconds(); d > 0 {
		st.Rate = float64(j.Done) / d
	}
	if st.State == JobRunning && st.Rate > 0 && j.Total > j.Done {
		st.ETA = time.Duration(float64(j.Total-j.Done) / st.Rate * float64(time.Second))
	}
	return st
}

// StartIssueAll starts the batch issuance: it issues (see
// [Service.IssueFor]) for every person in the pending-issuance queue — the
// persons whose finalised records changed since their last issuance —
// streaming through the queue in chunks, signing on every core and
// committing each chunk in one transaction. It returns the job id at once;
// follow it with [Service.Job]. Only one batch issuance runs at a time
// ([ErrConflict]). The job is idempotent and resumable: a person is taken
// off the queue in the transaction that stores their certificate, so after
// a crash a new job continues with the persons left, and a person issued
// again with unchanged records keeps their certificate. Requires
// auth.PermIssue.
func (s *Service) StartIssueAll(ctx context.Context, actor Actor) (string, error) {
	if err := allow(actor, auth.PermIssue); err != nil {
		return "", err
	}
	now := s.clock()
	j := store.Job{ID: newBatchID(), Kind: jobIssueAll, State: store.JobRunning, ActorID: actor.ID,
		StartedAt: now, HeartbeatAt: now}
	err := s.st.Write(ctx, func(tx *store.Tx) error {
		c := newChanges(staffOrSystem(actor), now)
		old, err := tx.RunningJob(ctx, jobIssueAll)
		switch {
		case err == nil && now.Sub(old.HeartbeatAt) < s.staleJob:
			return ErrConflict
		case err == nil:
			old.State, old.FinishedAt = string(JobInterrupted), now
			if err := tx.UpdateJob(ctx, old); err != nil {
				return err
			}
			c.record("job.interrupted", "job:"+old.ID, nil, map[string]any{"done": old.Done})
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if j.Total, err = tx.CountPending(ctx); err != nil {
			return err
		}
		if err := tx.InsertJob(ctx, &j); err != nil {
			return err
		}
		c.record("job.start", "job:"+j.ID, nil, map[string]any{"kind": j.Kind, "total": j.Total})
		return tx.InsertAudit(ctx, c.audit)
	})
	if err != nil {
		return "", err
	}
	rj := &runningJob{job: j}
	s.mu.Lock()
	s.jobs[j.ID] = rj
	s.mu.Unlock()
	s.wg.Go(func() { s.runIssueAll(rj, staffOrSystem(actor)) })
	s.log.InfoContext(ctx, "job started", "job", j.ID, "kind", j.Kind, "total", j.Total, "actor", actor.ID)
	return j.ID, nil
}

// Job returns a job's status, live while it runs in this process. Requires
// auth.PermIssue.
func (s *Service) Job(ctx context.Context, actor Actor, id string) (JobStatus, error) {
	if err := allow(actor, auth.PermIssue); err != nil {
		return JobStatus{}, err
	}
	s.mu.Lock()
	rj := s.jobs[id]
	s.mu.Unlock()
	if rj != nil {
		return s.status(rj.snapshot()), nil
	}
	var j *store.Job
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		var err error
		j, err = tx.Job(ctx, id)
		return err
	})
	if err != nil {
		return JobStatus{}, err
	}
	if j.State == store.JobRunning && s.clock().Sub(j.HeartbeatAt) >= s.staleJob {
		j.State = string(JobInterrupted)
	}
	return s.status(*j), nil
}

// runIssueAll runs a batch issuance: a reader reads and signs chunk k+1
// while the writer commits chunk k.
func (s *Service) runIssueAll(rj *runningJob, by auditActor) {
	ctx := s.ctx
	chunks := make(chan []*issuance, 1)
	var readErr error
	go func() {
		defer close(chunks)
		var after int64
		for ctx.Err() == nil {
			var pend []store.Pending
			readErr = s.st.Read(ctx, func(tx *store.Tx) error {
				var err error
				pend, err = tx.PendingAfter(ctx, after, s.issueChunk)
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
		var j store.Job
		err = s.st.Write(ctx, func(tx *store.Tx) error {
			j = rj.snapshot()
			if err := s.writeIssuances(ctx, tx, newChanges(by, now), iss); err != nil {
				return err
			}
			for _, is := range iss {
				switch is.kind {
				case issueNew:
					j.Issued++
				case issueBlocked:
					j.Blocked++
				case issueFailed:
					j.Failed++
				}
			}
			j.Done += int64(len(iss))
			j.HeartbeatAt = now
			return tx.UpdateJob(ctx, &j)
		})
		if err == nil {
			rj.mu.Lock()
			rj.job = j
			rj.mu.Unlock()
		}
	}
	err = errors.Join(err, readErr)
	j := rj.snapshot()
	j.FinishedAt = s.clock()
	j.HeartbeatAt = j.FinishedAt
	switch {
	case ctx.Err() != nil:
		j.State = string(JobCancelled)
	case err != nil:
		j.State, j.Error = string(JobFailed), err.Error()
	default:
		j.State = string(JobDone)
	}
	// The final state is written even when the service is closing.
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	werr := s.st.Write(fctx, func(tx *store.Tx) error {
		c := newChanges(by, j.FinishedAt)
		c.record("job.finish", "job:"+j.ID, nil, map[string]any{"state": j.State, "done": j.Done,
			"issued": j.Issued, "blocked": j.Blocked, "failed": j.Failed})
		if err := tx.UpdateJob(fctx, &j); err != nil {
			return err
		}
		return tx.InsertAudit(fctx, c.audit)
	})
	s.mu.Lock()
	delete(s.jobs, j.ID) // Job reads the final state from the store
	s.mu.Unlock()
	s.log.Info("job finished", "job", j.ID, "state", j.State, "done", j.Done, "issued", j.Issued,
		"blocked", j.Blocked, "failed", j.Failed, "error", errors.Join(err, werr))
}
