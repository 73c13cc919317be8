package service

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/store/storetest"
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
		var running *JobRunningError
		if !errors.As(err, &running) || running.Job.ID != id || running.RetryAfter < time.Second {
			t.Fatalf("refusal %v does not name the running job %s with a Retry-After", err, id)
		}
		if js, err := e.s.Jobs(e.ctx, finaliser, "", 10); err != nil || len(js) != 1 || js[0].ID != id || js[0].State != JobRunning {
			t.Fatalf("Jobs = %+v, %v; want the running job", js, err)
		}
		// Progress is readable while the job runs (signing is blocked).
		st, err := e.s.Job(e.ctx, finaliser, id)
		if err != nil || st.State != JobRunning || st.Total != 41 || st.Done != 0 {
			t.Fatalf("job while blocked: %+v (%v), want running, 0/41", st, err)
		}
		// Two chunks' worth: on PostgreSQL two lanes sign at once.
		for range 2 * e.s.issueChunk {
			e.iss.gate <- struct{}{}
		}
		e.clock.Advance(10 * time.Second)
		for st.Done < 7 {
			st, _ = e.s.Job(e.ctx, finaliser, id)
			time.Sleep(time.Millisecond)
		}
		if st.State != JobRunning || st.Rate <= 0 || st.ETASeconds <= 0 || st.Workers != 1 {
			t.Errorf("job in progress: %+v, want running with a rate and an ETA", st)
		}
		close(e.iss.gate)
		st = e.waitJob(id)
		if st.State != JobDone || st.Done != 41 || st.Issued != 40 || st.Blocked != 1 || st.Failed != 0 || st.ETASeconds != 0 {
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

// TestIssueAllResumesAfterCrash: a job left "running" by a process that
// died is interrupted as soon as anyone looks (its worker's lease belongs
// to a dead process: on PostgreSQL its session is gone, on SQLite it is
// not this process), without waiting for the lease to lapse; a new job
// starts at once and resumes the work.
func TestIssueAllResumesAfterCrash(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.uploadPersons(5)
		now := e.clock.Now()
		crashed := store.Job{ID: "crashed", Kind: jobIssueAll, State: store.JobRunning, ActorID: finaliser.ID,
			StartedAt: now, HeartbeatAt: now, Total: 6, Done: 2}
		err := e.st.Write(e.ctx, func(tx *store.Tx) error {
			if err := tx.InsertJob(e.ctx, &crashed); err != nil {
				return err
			}
			return tx.InsertWorker(e.ctx, &store.Worker{JobID: "crashed", ID: "deadbeef.00000000", StartedAt: now,
				LeaseUntil: now.Add(time.Hour)})
		})
		if err != nil {
			t.Fatal(err)
		}
		if st, err := e.s.Job(e.ctx, finaliser, "crashed"); err != nil || st.State != JobInterrupted || st.Workers != 0 {
			t.Fatalf("job of a dead process %+v (%v), want interrupted", st, err)
		}
		e.clock.Advance(time.Second)
		id, err := e.s.StartIssueAll(e.ctx, finaliser)
		if err != nil {
			t.Fatal(err)
		}
		if st := e.waitJob(id); st.State != JobDone || st.Issued != 5 {
			t.Fatalf("resumed job %+v, want 5 issued\n%s", st, e.logText())
		}
		if st, _ := e.s.Job(e.ctx, finaliser, "crashed"); st.State != JobInterrupted || st.FinishedAt.IsZero() {
			t.Errorf("crashed job %+v, want interrupted and finished", st)
		}
		js, err := e.s.Jobs(e.ctx, finaliser, "", 10)
		if err != nil || len(js) != 2 || js[0].ID != id || js[1].ID != "crashed" || js[0].State != JobDone {
			t.Fatalf("Jobs = %+v, %v; want the new job, then the interrupted one", js, err)
		}
		if js, err := e.s.Jobs(e.ctx, finaliser, id, 10); err != nil || len(js) != 1 || js[0].ID != "crashed" {
			t.Fatalf("Jobs before %s = %+v, %v; want the interrupted one", id, js, err)
		}
		_, err = e.s.Job(e.ctx, finaliser, "nope")
		wantErr(t, "unknown job", err, ErrNotFound)
		_, err = e.s.StartIssueAll(e.ctx, uploader("S1"))
		wantErr(t, "job by an uploader", err, ErrForbidden)
		_, err = e.s.Jobs(e.ctx, uploader("S1"), "", 10)
		wantErr(t, "jobs listed by an uploader", err, ErrForbidden)
	})
}

func TestJobStatusRate(t *testing.T) {
	s := &Service{now: func() time.Time { return time.Unix(1010, 0) }}
	st := s.status(store.Job{State: store.JobRunning, Total: 100, Done: 25, StartedAt: time.Unix(1000, 0)}, 1)
	if st.Rate != 2.5 || st.ETASeconds != 30 || st.State != JobRunning {
		t.Errorf("rate %v, ETA %v; want 2.5/s, 30s", st.Rate, st.ETASeconds)
	}
	if st := s.status(store.Job{State: store.JobRunning, StartedAt: time.Unix(1000, 0)}, 0); st.State != JobInterrupted {
		t.Errorf("running job without a live worker: %s, want interrupted", st.State)
	}
	st = s.status(store.Job{State: string(JobDone), Total: 100, Done: 100, StartedAt: time.Unix(1000, 0),
		FinishedAt: time.Unix(1004, 0)}, 0)
	if st.Rate != 25 || st.ETASeconds != 0 || st.State != JobDone {
		t.Errorf("finished: rate %v, ETA %v; want 25/s, 0", st.Rate, st.ETASeconds)
	}
}

// TestIssueAllAudited: every certificate a batch issuance signs has its
// "cert.issue" audit entry, written in the chunk's transaction (COPY on
// PostgreSQL): exactly one per certificate, found by its subject, naming
// the person and the expiry, and the superseded certificate when there is
// one.
func TestIssueAllAudited(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.s.issueChunk = 7
		e.uploadPersons(30)
		st := e.waitJob(e.startJob())
		if st.State != JobDone || st.Issued != 30 {
			t.Fatalf("job %+v: want done, 30 issued", st)
		}
		first := currentUVCIs(t, e)
		if len(first) != 30 {
			t.Fatalf("%d current certificates, want 30", len(first))
		}
		e.checkIssueAudit(first, nil)

		// A second dose for one person: the next job supersedes that
		// person's certificate only.
		var pid int64
		var nid string
		for i := range 30 {
			nid = fmt.Sprintf("0020900%05d", i)
			if pid = e.personID(nid); first[pid] != "" {
				break
			}
		}
		e.submit(record(nid, dose("S1", "R"+nid, 1, issuer.StatusFinalised), dose("S1", "Q"+nid, 2, issuer.StatusFinalised)))
		if st := e.waitJob(e.startJob()); st.State != JobDone || st.Issued != 1 {
			t.Fatalf("second job %+v: want done, 1 issued", st)
		}
		second := currentUVCIs(t, e)
		if second[pid] == first[pid] {
			t.Fatalf("person %d kept certificate %s", pid, first[pid])
		}
		e.checkIssueAudit(second, map[string]string{second[pid]: first[pid]})
	})
}

// startJob starts a batch issuance and returns its id.
func (e *env) startJob() string {
	e.t.Helper()
	id, err := e.s.StartIssueAll(e.ctx, finaliser)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// checkIssueAudit checks that each current certificate (person → UVCI)
// has exactly one "cert.issue" entry, for that person, superseding the
// UVCI supersedes names (none when absent).
func (e *env) checkIssueAudit(current map[int64]string, supersedes map[string]string) {
	e.t.Helper()
	for pid, uvci := range current {
		audit, err := e.s.ListAudit(e.ctx, admin, AuditFilter{Subject: certSubject(uvci)}, Page{})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(audit) != 1 || audit[0].Action != "cert.issue" {
			e.t.Fatalf("audit of %s: %+v, want one cert.issue entry", uvci, audit)
		}
		var after certIssued
		var before map[string]string
		if err := json.Unmarshal([]byte(audit[0].After), &after); err != nil {
			e.t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(audit[0].Before), &before); err != nil {
			e.t.Fatal(err)
		}
		if after.Person != pid || after.ExpiresAt.IsZero() {
			e.t.Errorf("audit of %s: after %s, want person %d and an expiry", uvci, audit[0].After, pid)
		}
		if want := supersedes[uvci]; before["supersedes"] != want || len(before) > 1 || want == "" && audit[0].Before != "{}" {
			e.t.Errorf("audit of %s: before %s, want supersedes %q", uvci, audit[0].Before, want)
		}
	}
	all, err := e.s.ListAudit(e.ctx, admin, AuditFilter{Action: "cert.issue"}, Page{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	if want := len(current) + len(supersedes); len(all) != want {
		e.t.Errorf("%d cert.issue entries, want %d (one per certificate issued)", len(all), want)
	}
}

// TestUVCIInUse: a UVCI some certificate already carries fails its person
// alone, who stays pending, on both paths. The batch job on PostgreSQL
// inserts without looking the UVCIs up (the unique index refuses the
// chunk) and then runs the chunk again with the lookup; a later second
// gives the person another UVCI.
func TestUVCIInUse(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.uploadPersons(5)
		victim, other := e.personID("002090000002"), e.personID("002090000004")
		// The UVCI the victim's certificate gets in this second, taken by
		// a certificate of another person.
		iss, err := e.s.loadIssuances(e.ctx, []int64{victim})
		if err != nil || len(iss) != 1 {
			t.Fatalf("loadIssuances: %v (%d)", err, len(iss))
		}
		e.s.decide(iss[0])
		if iss[0].kind != issueNew {
			t.Fatalf("victim's decision %v (%v), want a new certificate", iss[0].kind, iss[0].err)
		}
		c := iss[0].cert
		err = e.st.Write(e.ctx, func(tx *store.Tx) error {
			return tx.InsertCertificates(e.ctx, []*store.Certificate{{UVCI: c.UVCI, PersonID: other, Status: store.CertRevoked,
				ContentHash: []byte{1}, COSE: c.COSE, KID: c.KID, IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, IssuedBy: "test"}})
		})
		if err != nil {
			t.Fatal(err)
		}
		// The store's own answer to a second certificate with that UVCI.
		err = e.st.Write(e.ctx, func(tx *store.Tx) error {
			return tx.InsertCertificates(e.ctx, []*store.Certificate{{UVCI: c.UVCI, PersonID: victim, Status: store.CertRevoked,
				ContentHash: []byte{2}, COSE: c.COSE, KID: c.KID, IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, IssuedBy: "test"}})
		})
		wantErr(t, "a second certificate with a UVCI", err, store.ErrConflict)

		_, err = e.s.IssueFor(e.ctx, finaliser, victim)
		wantErr(t, "IssueFor with its UVCI in use", err, ErrUVCIReused)

		id, err := e.s.StartIssueAll(e.ctx, finaliser)
		if err != nil {
			t.Fatal(err)
		}
		st := e.waitJob(id)
		if st.State != JobDone || st.Done != 6 || st.Issued != 4 || st.Blocked != 1 || st.Failed != 1 {
			t.Fatalf("job %+v: want done, 6 processed, 4 issued, 1 blocked, 1 failed", st)
		}
		if stats := e.stats(); stats.CurrentCertificates != 4 || stats.PendingIssuance != 1 {
			t.Fatalf("stats %+v: want 4 current, the victim pending", stats)
		}
		retried := strings.Contains(e.logText(), "a UVCI is already in use; retrying with the UVCIs checked")
		if retried != e.st.SkipsLocked() {
			t.Errorf("chunk retried after the unique index refused it: %v, want %v (PostgreSQL only)", retried, e.st.SkipsLocked())
		}
		if got := currentUVCIs(t, e)[victim]; got != "" {
			t.Fatalf("the victim has current certificate %s", got)
		}

		e.clock.Advance(time.Second)
		if id, err = e.s.StartIssueAll(e.ctx, finaliser); err != nil {
			t.Fatal(err)
		}
		if st := e.waitJob(id); st.State != JobDone || st.Done != 1 || st.Issued != 1 || st.Failed != 0 {
			t.Fatalf("job a second later %+v: want the victim issued", st)
		}
		if got := currentUVCIs(t, e)[victim]; got == "" || got == c.UVCI {
			t.Fatalf("the victim's certificate %q, want a new UVCI (not %s)", got, c.UVCI)
		}
	})
}

// TestIssueAllJobFails: a chunk the database refuses ends the job as
// failed, with the error, on both engines (on PostgreSQL the failing lane
// cancels the others, which is not a cancellation of the job); nothing of
// the chunk is kept and the persons stay pending.
func TestIssueAllJobFails(t *testing.T) {
	triggers := map[string][]string{
		"sqlite": {`CREATE TRIGGER fail_issue BEFORE INSERT ON audit WHEN NEW.action = 'cert.issue'
			BEGIN SELECT RAISE(ABORT, 'injected failure'); END`},
		"postgres": {`CREATE FUNCTION fail_issue() RETURNS trigger LANGUAGE plpgsql AS
			$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`,
			`CREATE TRIGGER fail_issue BEFORE INSERT ON audit FOR EACH ROW WHEN (NEW.action = 'cert.issue')
			EXECUTE FUNCTION fail_issue()`},
	}
	drivers := map[string]string{"sqlite": "sqlite", "postgres": "pgx"}
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			url := storetest.URL(t, engine)
			st, err := store.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			e := newEnv(t, st)
			e.s.issueChunk = 3
			e.uploadPersons(10)
			db, err := sql.Open(drivers[engine], url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, q := range triggers[engine] {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			id, err := e.s.StartIssueAll(e.ctx, finaliser)
			if err != nil {
				t.Fatal(err)
			}
			js := e.waitJob(id)
			if js.State != JobFailed || !strings.Contains(js.Error, "injected failure") || js.Issued != 0 {
				t.Fatalf("job %+v: want failed with the database's error, nothing issued", js)
			}
			noPersonalData(t, "job error", js.Error)
			if stats := e.stats(); stats.CurrentCertificates != 0 || stats.PendingIssuance != 11-js.Done {
				t.Fatalf("stats %+v after a failed job that processed %d", stats, js.Done)
			}
		})
	}
}
