package verifysvc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/internal/verifysync"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

// TestChecksWaitTheirTurn: with Config.Checks checks running, the next
// request waits (it does not run a third check) and answers once a turn
// is free; a request that ends while waiting gets 503, not a check.
func TestChecksWaitTheirTurn(t *testing.T) {
	checker, err := venue.NewChecker(nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sy, err := verifysync.New(verifysync.Config{Issuer: "http://127.0.0.1:1", Root: testkit.NewPKI(t).CSCA.Cert,
		Dir: t.TempDir()}, checker)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Checker: checker, Sync: sy, Checks: 2, Clock: func() time.Time { return testkit.Now }})
	if err != nil {
		t.Fatal(err)
	}
	if cap(s.turns) != 2 {
		t.Fatalf("%d turns, want 2", cap(s.turns))
	}
	verify := func(ctx context.Context) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/verify", strings.NewReader("HC1:NCF"))
		req.Header.Set("Content-Type", "text/plain")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec
	}
	// Two checks running.
	s.turns <- struct{}{}
	s.turns <- struct{}{}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	rec := verify(ctx)
	var body errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusServiceUnavailable ||
		body.Error.Code != "unavailable" {
		t.Fatalf("request ended while waiting: %d %s, want 503 unavailable", rec.Code, rec.Body)
	}

	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- verify(context.Background()) }()
	select {
	case rec := <-done:
		t.Fatalf("answered %d with every turn taken", rec.Code)
	case <-time.After(100 * time.Millisecond):
	}
	<-s.turns // one check ends
	select {
	case rec := <-done:
		var a venue.Answer
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil || rec.Code != http.StatusOK || a.Decision != "unavailable" {
			t.Fatalf("after a turn freed: %d %s, want 200 with the checker's answer (no lists: unavailable)", rec.Code, rec.Body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still waiting after a turn freed")
	}
	if len(s.turns) != 1 {
		t.Fatalf("%d turns held after the answer, want the 1 still running", len(s.turns))
	}
}
