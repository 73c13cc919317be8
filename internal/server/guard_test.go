package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/netguard"
)

// anonymous sends GET /v1/revocations (public, keyed by address) with an
// optional X-Forwarded-For.
func (e *env) anonymous(xff string) *response {
	e.t.Helper()
	hr, err := http.NewRequestWithContext(e.ctx, http.MethodGet, e.ts.URL+"/v1/revocations", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if xff != "" {
		hr.Header.Set("X-Forwarded-For", xff)
	}
	res, err := e.ts.Client().Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return &response{status: res.StatusCode, header: res.Header}
}

// TestTrustedProxyKeys: behind a trusted proxy each forwarded client has
// its own bucket; from an untrusted peer X-Forwarded-For is ignored, so a
// client cannot pick a fresh bucket per request.
func TestTrustedProxyKeys(t *testing.T) {
	one := Rate{PerSecond: 0.001, Burst: 1}
	t.Run("trusted", func(t *testing.T) {
		proxies, err := netguard.ParseProxies("127.0.0.1, ::1")
		if err != nil {
			t.Fatal(err)
		}
		run(t, func(t *testing.T, e *env) {
			for _, client := range []string{"203.0.113.1", "203.0.113.2", "2001:db8::1"} {
				if r := e.anonymous(client); r.status != http.StatusOK {
					t.Fatalf("first request of %s: %d", client, r.status)
				}
			}
			if r := e.anonymous("203.0.113.1"); r.status != http.StatusTooManyRequests {
				t.Fatalf("second request of 203.0.113.1: %d, want 429", r.status)
			}
			// The same /64 is one client.
			if r := e.anonymous("2001:db8::2"); r.status != http.StatusTooManyRequests {
				t.Fatalf("second address of a /64: %d, want 429", r.status)
			}
		}, func(c *Config) { c.AnonymousRate, c.TrustedProxies = one, proxies })
	})
	t.Run("untrusted", func(t *testing.T) {
		run(t, func(t *testing.T, e *env) {
			if r := e.anonymous("203.0.113.1"); r.status != http.StatusOK {
				t.Fatalf("first request: %d", r.status)
			}
			if r := e.anonymous("203.0.113.2"); r.status != http.StatusTooManyRequests {
				t.Fatalf("spoofed X-Forwarded-For from an untrusted peer got a fresh bucket: %d", r.status)
			}
		}, func(c *Config) { c.AnonymousRate = one })
	})
}

// TestVenueRate: POST /v1/verify has its own per-address class, so a
// crowd of venue scans does not use up the anonymous bucket, and a
// credential sent along does not move it to another class.
func TestVenueRate(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		verify := func(cred string) *response {
			return e.do(req{method: "POST", path: "/v1/verify", cred: cred, contentType: "text/plain",
				body: strings.NewReader("HC1:not-a-certificate")})
		}
		for range 2 {
			if r := verify(""); r.status != http.StatusOK && r.status != http.StatusServiceUnavailable {
				t.Fatalf("verify within the venue rate: %d %s", r.status, r.body)
			}
		}
		r := verify(credCitizenA)
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Fatalf("third verify: %d (Retry-After %q), want 429 with Retry-After", r.status, r.header.Get("Retry-After"))
		}
		if r := e.anonymous(""); r.status != http.StatusOK {
			t.Fatalf("the anonymous bucket was spent by verify: %d", r.status)
		}
	}, func(c *Config) { c.VenueRate = Rate{PerSecond: 0.001, Burst: 2} })
}

// TestAdmission: with every slot taken, a citizen request is refused at
// once with 503 and Retry-After, before its credential is checked; staff
// routes are not gated.
func TestAdmission(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		release, ok := e.srv.admission.Acquire(e.ctx)
		if !ok {
			t.Fatal("no slot")
		}
		start := time.Now()
		r := e.call("GET", "/v1/me/certificates", credCitizenA, nil, http.StatusServiceUnavailable)
		if d := time.Since(start); d > time.Second {
			t.Errorf("refusal took %v", d)
		}
		if r.header.Get("Retry-After") != "1" || r.apiErr(t).Code != codeOverloaded {
			t.Errorf("refusal: Retry-After %q, body %s", r.header.Get("Retry-After"), r.body)
		}
		e.call("GET", "/v1/revocations", "", nil, http.StatusServiceUnavailable)
		e.call("GET", "/v1/reviews", credFinaliser, nil, http.StatusOK)
		release()
		e.call("GET", "/v1/me/certificates", credCitizenA, nil, http.StatusOK)
	}, func(c *Config) { c.MaxInFlight, c.AdmissionWait = 1, 5*time.Millisecond })
}

// TestShedding: while the process is congested, citizen and public requests
// arriving with others in flight are refused with 503 and Retry-After; a
// lone request, staff routes and venue scans are not.
func TestShedding(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		now := time.Unix(1_700_000_000, 0)
		e.srv.shedder = netguard.NewShedder(time.Millisecond, func() time.Duration { return time.Second },
			func() time.Time { return now }, func() float64 { return 0 })
		e.call("GET", "/v1/me/certificates", credCitizenA, nil, http.StatusOK) // starts the first period
		// A crowd: sparse requests never raise the share shed.
		for range 100 {
			e.srv.shedder.Shed(0)
		}
		now = now.Add(netguard.ShedInterval)
		e.call("GET", "/v1/me/certificates", credCitizenA, nil, http.StatusOK) // alone: never shed
		if p := e.srv.shedder.Probability(); p <= 0 {
			t.Fatalf("shed probability %v after a congested period", p)
		}
		release, ok := e.srv.admission.Acquire(e.ctx) // another request in flight
		if !ok {
			t.Fatal("no slot")
		}
		r := e.call("GET", "/v1/me/certificates", credCitizenA, nil, http.StatusServiceUnavailable)
		if r.header.Get("Retry-After") != "1" || r.apiErr(t).Code != codeOverloaded {
			t.Errorf("shed: Retry-After %q, body %s", r.header.Get("Retry-After"), r.body)
		}
		e.call("GET", "/v1/revocations", "", nil, http.StatusServiceUnavailable)
		e.call("GET", "/v1/reviews", credFinaliser, nil, http.StatusOK)
		// A venue scan is never shed, only bounded by the admission limit.
		if r := e.do(req{method: http.MethodPost, path: "/v1/verify", contentType: "text/plain",
			body: strings.NewReader("HC1:not-a-certificate\n")}); r.status == http.StatusServiceUnavailable {
			t.Errorf("POST /v1/verify shed: %s", r.body)
		}
		release()
		if n := e.srv.shedder.Count(); n != 2 {
			t.Errorf("%d requests shed, want 2", n)
		}
		if e.srv.admission.Refused() != 0 {
			t.Errorf("the admission limit refused %d: the shedder must act first", e.srv.admission.Refused())
		}
	})
}
