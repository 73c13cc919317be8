package service

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/issuer"
)

// uploadPersons uploads n persons with one finalised dose each (and one
// person with contradictory doses) and returns the contradictory one's id.
func (e *env) uploadPersons(n int) string {
	e.t.Helper()
	var b strings.Builder
	for i := range n {
		id := fmt.Sprintf("0020900%05d", i)
		b.WriteString(mustJSON(e.t, record(id, dose("S1", "R"+id, 1, issuer.StatusFinalised))))
		b.WriteByte('\n')
	}
	bad := "002099999999"
	other := dose("S1", "X2", 1, issuer.StatusFinalised)
	other.Date = "2021-01-09"
	b.WriteString(mustJSON(e.t, record(bad, dose("S1", "X1", 1, issuer.StatusFinalised), other)) + "\n")
	if _, err := e.s.IngestBatch(e.ctx, uploader("S1"), FormatNDJSON, strings.NewReader(b.String()), nil); err != nil {
		e.t.Fatal(err)
	}
	return bad
}

func TestIssueAllJob(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.s.issueChunk = 7
		e.uploadPersons(40)
		e.iss.gate = make(chan struct{})
		id, err := e.s.StartIssueAll(e.ctx, finaliser)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.s.StartIssueAll(e.ctx, finaliser)
		wantErr(t, "a second job while one runs", err, ErrConflict)
		// Progress is readable while the job runs (signing is blocked).
		st, err := e.s.Job(e.ctx, finaliser, id)
		if err != nil || st.State != JobRunning || st.Total != 41 || st.Done != 0 {
			t.Fatalf("job while blocked: %+v (%v), want running, 0/41", st, err)
		}
		for range 10 {
			e.iss.gate <- struct{}{}
		}
		e.clock.Advance(10 * time.Second)
		for st.Done < 7 {
			st, _ = e.s.Job(e.ctx, finaliser, id)
			time.Sleep(time.Millisecond)
		}
		if st.State != JobRunning || st.Rate <= 0 || st.ETA <= 0 {
			t.Errorf("job in progress: %+v, want running with a rate and an ETA", st)
		}
		close(e.iss.gate)
		st = e.waitJob(id)
		if st.State != JobDone || st.Done != 41 || st.Issued != 40 || st.Blocked != 1 || st.Failed != 0 || st.ETA != 0 {
			t.Fatalf("finished job %+v: want done, 41 processed, 40 issued, 1 blocked", st)
		}
		stats := e.stats()
		if stats.CurrentCertificates != 40 || stats.PendingIssuance != 0 || stats.OpenReviews != 1 {
			t.Fatalf("stats %+v: want 40 current, nothing pending, 1 review", stats)
		}
		uvcis := currentUVCIs(t, e)

		// Re-running after everything was queued again (as after a crash
		// before the markers were cleared) signs nothing and keeps every
		// UVCI.
		var ids []int64
		for pid := range uvcis {
			ids = append(ids, pid)
		}
		if err := e.st.Write(e.ctx, func(tx *store.Tx) error { return tx.MarkPending(e.ctx, ids, e.clock.Now()) }); err != nil {
			t.Fatal(err)
		}
		id2, err := e.s.StartIssueAll(e.ctx, finaliser)
		if err != nil {
			t.Fatal(err)
		}
		st = e.waitJob(id2)
		if st.State != JobDone || st.Total != 40 || st.Done != 40 || st.Issued != 0 || e.iss.signs.Load() != 40 {
			t.Fatalf("re-run %+v with %d signatures: want 40 done, none issued, 40 signatures in all", st, e.iss.signs.Load())
		}
		for pid, u := range currentUVCIs(t, e) {
			if uvcis[pid] != u {
				t.Fatalf("person %d: UVCI changed on re-run", pid)
			}
		}
	})
}

func currentUVCIs(t *testing.T, e *env) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	err := e.st.Read(e.ctx, func(tx *store.Tx) error {
		ids := make([]int64, 50)
		for i := range ids {
			ids[i] = int64(i + 1)
		}
		cs, err := tx.CurrentCertificates(e.ctx, ids)
		for pid, c := range cs {
			out[pid] = c.UVCI
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIssueAllResumesAfterCrash(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.uploadPersons(5)
		// A job left "running" by a process that died: its heartbeat is old.
		crashed := store.Job{ID: "crashed", Kind: jobIssueAll, State: store.JobRunning, ActorID: finaliser.ID,
			StartedAt: e.clock.Now(), HeartbeatAt: e.clock.Now(), Total: 6, Done: 2}
		if err := e.st.Write(e.ctx, func(tx *store.Tx) error { return tx.InsertJob(e.ctx, &crashed) }); err != nil {
			t.Fatal(err)
		}
		_, err := e.s.StartIssueAll(e.ctx, finaliser)
		wantErr(t, "start while a fresh job runs", err, ErrConflict)
		e.clock.Advance(e.s.staleJob)
		if st, err := e.s.Job(e.ctx, finaliser, "crashed"); err != nil || st.State != JobInterrupted {
			t.Fatalf("stale job %+v (%v), want interrupted", st, err)
		}
		id, err := e.s.StartIssueAll(e.ctx, finaliser)
		if err != nil {
			t.Fatal(err)
		}
		if st := e.waitJob(id); st.State != JobDone || st.Issued != 5 {
			t.Fatalf("resumed job %+v, want 5 issued", st)
		}
		if st, _ := e.s.Job(e.ctx, finaliser, "crashed"); st.State != JobInterrupted || st.FinishedAt.IsZero() {
			t.Errorf("crashed job %+v, want interrupted and finished", st)
		}
		_, err = e.s.Job(e.ctx, finaliser, "nope")
		wantErr(t, "unknown job", err, ErrNotFound)
		_, err = e.s.StartIssueAll(e.ctx, uploader("S1"))
		wantErr(t, "job by an uploader", err, ErrForbidden)
	})
}

func TestJobStatusRate(t *testing.T) {
	s := &Service{now: func() time.Time { return time.Unix(1010, 0) }}
	st := s.status(store.Job{State: store.JobRunning, Total: 100, Done: 25, StartedAt: time.Unix(1000, 0)})
	if st.Rate != 2.5 || st.ETA != 30*time.Second {
		t.Errorf("rate %v, ETA %v; want 2.5/s, 30s", st.Rate, st.ETA)
	}
	st = s.status(store.Job{State: string(JobDone), Total: 100, Done: 100, StartedAt: time.Unix(1000, 0),
		FinishedAt: time.Unix(1004, 0)})
	if st.Rate != 25 || st.ETA != 0 {
		t.Errorf("finished: rate %v, ETA %v; want 25/s, 0", st.Rate, st.ETA)
	}
}
