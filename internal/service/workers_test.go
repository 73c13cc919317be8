package service

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/store/storetest"
)

// TestIssueAllWorkers: three processes (services with stores of their
// own) share one batch issuance on PostgreSQL. C dies in the middle of a
// chunk (its database sessions are terminated, as when the process is
// SIGKILLed, and it never runs again): it is known dead at once, the
// others take disjoint persons, retake C's, and every person ends with
// exactly one certificate.
func TestIssueAllWorkers(t *testing.T) {
	dbURL := storetest.URL(t, "postgres") // skips, saying so, without VAXCERT_TEST_PG
	ctx := context.Background()
	open := func(app string) *env {
		st, err := store.Open(ctx, dbURL+"&application_name="+app)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		e := newEnv(t, st)
		e.s.issueChunk = 5
		return e
	}
	a, b, c := open("worker-a"), open("worker-b"), open("worker-c")
	a.uploadPersons(300) // and one contradictory person

	// signing reports the first Sign call of a service, then blocks it.
	signing := func(e *env) (started <-chan struct{}, release func()) {
		gate, first := make(chan struct{}), make(chan struct{})
		var once sync.Once
		e.iss.gate, e.iss.onSign = gate, func() { once.Do(func() { close(first) }) }
		var closeOnce sync.Once
		return first, func() { closeOnce.Do(func() { close(gate) }) }
	}
	aStarted, releaseA := signing(a)
	cStarted, releaseC := signing(c)
	defer releaseA()
	defer releaseC()
	wait := func(ch <-chan struct{}, what string) {
		select {
		case <-ch:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s did not start signing", what)
		}
	}

	id, err := a.s.StartIssueAll(ctx, finaliser)
	if err != nil {
		t.Fatal(err)
	}
	wait(aStarted, "A")
	if err := c.s.JoinIssueAll(ctx, finaliser, id); err != nil {
		t.Fatal(err)
	}
	wait(cStarted, "C") // C holds a claimed chunk, as A does
	if st, err := a.s.Job(ctx, finaliser, id); err != nil || st.Workers != 2 {
		t.Fatalf("job with A and C: %+v (%v), want 2 workers", st, err)
	}

	// C "dies": PostgreSQL ends its sessions; its goroutines stay blocked.
	admin, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var killed int
	if err := admin.QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'worker-c'`).Scan(&killed); err != nil || killed == 0 {
		t.Fatalf("terminate C's sessions: %d (%v)", killed, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := a.s.Job(ctx, finaliser, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Workers == 1 && st.State == JobRunning {
			break // C is known dead without waiting for its lease (1 h here)
		}
		if time.Now().After(deadline) {
			t.Fatalf("after C died: %+v, want running with 1 worker", st)
		}
		time.Sleep(10 * time.Millisecond)
	}

	if err := b.s.JoinIssueAll(ctx, finaliser, id); err != nil {
		t.Fatal(err)
	}
	if err := b.s.JoinIssueAll(ctx, finaliser, id); err != nil {
		t.Fatalf("joining twice: %v", err)
	}
	time.Sleep(20 * time.Millisecond) // B starts while A still waits
	releaseA()
	st := a.waitJob(id)
	if st.State != JobDone || st.Done != 301 || st.Issued != 300 || st.Blocked != 1 || st.Failed != 0 {
		t.Fatalf("job %+v: want done, 301 processed, 300 issued, 1 blocked\n%s\n%s", st, a.logs, b.logs)
	}
	if a.iss.signs.Load() == 0 || b.iss.signs.Load() == 0 || a.iss.signs.Load()+b.iss.signs.Load() != 300 {
		t.Errorf("signatures: A %d, B %d; want both working, 300 in all", a.iss.signs.Load(), b.iss.signs.Load())
	}
	var certs, persons, pending int
	if err := admin.QueryRow(`SELECT (SELECT COUNT(*) FROM certificates), (SELECT COUNT(DISTINCT person_id) FROM certificates),
		(SELECT COUNT(*) FROM pending_issuance)`).Scan(&certs, &persons, &pending); err != nil {
		t.Fatal(err)
	}
	if certs != 300 || persons != 300 || pending != 0 {
		t.Fatalf("%d certificates for %d persons, %d pending; want exactly one each for 300, none pending", certs, persons, pending)
	}
	// C comes back to life only now: its writes fail and change nothing.
	releaseC()
	c.s.Close()
	if st, _ := a.s.Job(ctx, finaliser, id); st.State != JobDone || st.Done != 301 {
		t.Fatalf("after C's end: %+v", st)
	}
}
