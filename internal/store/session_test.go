package store_test

import (
	"context"
	"testing"

	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/store/storetest"
)

// TestSessionHeldClaimAs: on PostgreSQL a worker is alive while its session
// is held or one of its claiming transactions is open (its persons are
// locked), and a worker whose session is gone may not claim.
func TestSessionHeldClaimAs(t *testing.T) {
	url := storetest.URL(t, "postgres") // skips, saying so, without VAXCERT_TEST_PG
	ctx := context.Background()
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	held := func(name string) bool {
		t.Helper()
		var ok bool
		if err := s.Read(ctx, func(tx *store.Tx) (err error) { ok, err = tx.SessionHeld(ctx, name); return err }); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	release, err := s.HoldSession(ctx, "w1")
	if err != nil {
		t.Fatal(err)
	}
	if !held("w1") || held("w2") {
		t.Fatalf("with w1's session held: w1 %v, w2 %v; want true, false", held("w1"), held("w2"))
	}
	// A claiming transaction of w1, open while w1's session ends.
	claimed, finish, done := make(chan bool), make(chan struct{}), make(chan error)
	go func() {
		done <- s.Write(ctx, func(tx *store.Tx) error {
			ok, err := tx.ClaimAs(ctx, "w1")
			claimed <- ok
			<-finish
			return err
		})
	}()
	if !<-claimed {
		t.Fatal("ClaimAs with the session held: false, want true")
	}
	release()
	if !held("w1") {
		t.Error("w1's session ended while its claim is open: not held, want held")
	}
	close(finish)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if held("w1") {
		t.Error("w1's session and claim ended: held, want not held")
	}
	var ok bool
	if err := s.Write(ctx, func(tx *store.Tx) (err error) { ok, err = tx.ClaimAs(ctx, "w1"); return err }); err != nil || ok {
		t.Errorf("ClaimAs after w1's session ended: %v (%v), want false", ok, err)
	}
}
