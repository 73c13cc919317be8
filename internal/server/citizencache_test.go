package server

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/store/storetest"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/issuer"
)

// fakeVerifier verifies tokens from a table and counts its calls.
type fakeVerifier struct {
	mu     sync.Mutex
	tokens map[string]auth.Citizen
	calls  int
}

var errFakeRefused = fmt.Errorf("%w: refused by the fake verifier", auth.ErrUnauthenticated)

func (f *fakeVerifier) verify(tok string) (auth.Citizen, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	cz, ok := f.tokens[tok]
	if !ok {
		return auth.Citizen{}, errFakeRefused
	}
	return cz, nil
}

func TestCitizenCache(t *testing.T) {
	t0 := testkit.Now
	// step is a request at offset at with token tok; revoke makes the
	// fake verifier refuse tok from then on (as it would once expired).
	type step struct {
		at        time.Duration
		tok       string
		revoke    bool
		wantID    string
		wantErr   error
		wantCalls int // verifier calls so far
	}
	tokens := func() map[string]auth.Citizen {
		return map[string]auth.Citizen{
			"a":       {ID: citizenA, Expires: t0.Add(time.Hour)},
			"b":       {ID: citizenB, Expires: t0.Add(time.Hour)},
			"short":   {ID: citizenA, Expires: t0.Add(time.Minute)},
			"expired": {ID: citizenA, Expires: t0.Add(-time.Second)}, // within the verifier's skew
		}
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"remembered", []step{
			{tok: "a", wantID: citizenA, wantCalls: 1},
			{at: time.Second, tok: "a", wantID: citizenA, wantCalls: 1},
			{at: 2 * time.Second, tok: "b", wantID: citizenB, wantCalls: 2},
			{at: 3 * time.Second, tok: "b", wantID: citizenB, wantCalls: 2},
			{at: 4 * time.Second, tok: "a", wantID: citizenA, wantCalls: 2},
		}},
		{"refusals not remembered", []step{
			{tok: "garbage", wantErr: auth.ErrUnauthenticated, wantCalls: 1},
			{tok: "garbage", wantErr: auth.ErrUnauthenticated, wantCalls: 2},
		}},
		{"forgotten at exp", []step{
			{tok: "short", wantID: citizenA, wantCalls: 1},
			{at: time.Minute - time.Nanosecond, tok: "short", revoke: true, wantID: citizenA, wantCalls: 1},
			{at: time.Minute, tok: "short", wantErr: auth.ErrUnauthenticated, wantCalls: 2},
		}},
		{"forgotten after the ttl", []step{
			{tok: "a", wantID: citizenA, wantCalls: 1},
			{at: citizenCacheTTL - time.Nanosecond, tok: "a", wantID: citizenA, wantCalls: 1},
			{at: citizenCacheTTL, tok: "a", revoke: true, wantErr: auth.ErrUnauthenticated, wantCalls: 2},
		}},
		{"expired token accepted by the verifier is not remembered", []step{
			{tok: "expired", wantID: citizenA, wantCalls: 1},
			{tok: "expired", wantID: citizenA, wantCalls: 2},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeVerifier{tokens: tokens()}
			var now time.Time
			c := newCitizenCache(10, func() time.Time { return now })
			for i, s := range tc.steps {
				now = t0.Add(s.at)
				if s.revoke {
					delete(f.tokens, s.tok)
				}
				id, err := c.verify(s.tok, f.verify)
				if !errors.Is(err, s.wantErr) || id != s.wantID || f.calls != s.wantCalls {
					t.Fatalf("step %d: id %q, err %v, %d calls; want %q, %v, %d calls", i, id, err, f.calls,
						s.wantID, s.wantErr, s.wantCalls)
				}
			}
		})
	}
}

func TestCitizenCacheBounded(t *testing.T) {
	const size = 10
	t0 := testkit.Now
	now := t0
	f := &fakeVerifier{tokens: map[string]auth.Citizen{}}
	c := newCitizenCache(size, func() time.Time { return now })
	tok := func(i int) string { return fmt.Sprintf("t%d", i) }
	// Five tokens expire after a minute, the others after an hour.
	for i := range 40 {
		exp := t0.Add(time.Hour)
		if i < 5 {
			exp = t0.Add(time.Minute)
		}
		f.tokens[tok(i)] = auth.Citizen{ID: citizenA, Expires: exp}
	}
	for i := range 5 {
		if _, err := c.verify(tok(i), f.verify); err != nil {
			t.Fatal(err)
		}
	}
	now = t0.Add(2 * time.Minute)
	for i := 5; i < 10; i++ {
		if _, err := c.verify(tok(i), f.verify); err != nil {
			t.Fatal(err)
		}
	}
	// Full: the next token drops the five expired entries only.
	if _, err := c.verify(tok(10), f.verify); err != nil {
		t.Fatal(err)
	}
	if len(c.m) != 6 {
		t.Fatalf("%d entries after dropping the expired ones, want 6", len(c.m))
	}
	for i := 11; i < 40; i++ {
		if _, err := c.verify(tok(i), f.verify); err != nil {
			t.Fatal(err)
		}
		if len(c.m) > size {
			t.Fatalf("%d entries, more than %d", len(c.m), size)
		}
	}
	// The last token is always kept.
	calls := f.calls
	if _, err := c.verify(tok(39), f.verify); err != nil || f.calls != calls {
		t.Errorf("last token not remembered: err %v, calls %d → %d", err, calls, f.calls)
	}
}

// TestCitizenTokensRemembered checks the cache in the request path: a
// citizen token that verified is remembered, refused ones are not, and
// concurrent requests share it.
func TestCitizenTokensRemembered(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"))
	e.srv.citizens = newCitizenCache(citizenCacheSize, testkit.Clock)
	e.submit(record(citizenA, dose("HN-001", "r1", 1, issuer.StatusFinalised)))
	e.issue(citizenA)
	for _, tc := range []struct {
		cred        string
		want        int
		wantEntries int
	}{
		{credCitizenA, http.StatusOK, 1},
		{credCitizenA, http.StatusOK, 1},
		{credExpired, http.StatusUnauthorized, 1},
		{credGarbage, http.StatusUnauthorized, 1},
		{credCitizenB, http.StatusOK, 2},
	} {
		e.call("GET", "/v1/me/certificates", tc.cred, nil, tc.want)
		if n := len(e.srv.citizens.m); n != tc.wantEntries {
			t.Errorf("after %s: %d cache entries, want %d", tc.cred, n, tc.wantEntries)
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				req, err := http.NewRequest("GET", e.ts.URL+"/v1/me/certificates", nil)
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Authorization", "Bearer "+e.creds[credCitizenA])
				res, err := e.ts.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Errorf("status %d", res.StatusCode)
				}
			}
		})
	}
	wg.Wait()
}
