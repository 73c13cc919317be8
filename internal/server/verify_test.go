package server

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/scanpage"
	"github.com/vaxcert/vaxcert/internal/store/storetest"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/rules"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

func TestVerifyEndpoint(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"), func(c *Config) { c.Clock = testkit.Clock })
	scanEnv := newEnv(t, storetest.Open(t, "sqlite"), func(c *Config) {
		c.Scan = &scanpage.Config{Root: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.pki.CSCA.Cert.Raw}),
			TrustList: "/v1/trust-list", Revocations: "/v1/revocations"}
	})
	cert, err := e.pki.Issuer(t).Issue(testkit.RecentRecord(testkit.Now))
	if err != nil {
		t.Fatal(err)
	}
	answer := func(r *response) venue.Answer {
		t.Helper()
		var a venue.Answer
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		r.json(t, &a)
		return a
	}
	a := answer(e.do(req{method: http.MethodPost, path: "/v1/verify", contentType: "text/plain", body: strings.NewReader(cert.HC1 + "\n")}))
	if !a.Valid || a.Decision != "full" || a.Holder == nil || a.Holder.BirthDate != "1990-04-12" || a.Stale {
		t.Fatalf("valid certificate: %+v", a)
	}
	a = answer(e.do(req{method: http.MethodPost, path: "/v1/verify", body: jsonBody(t, map[string]string{"qr": "HC2:" + cert.HC1[4:]})}))
	if a.Valid || a.Decision != venue.DecisionInvalid || a.Reason != "bad_prefix" || a.Holder != nil {
		t.Fatalf("bad prefix: %+v", a)
	}
	for name, r := range map[string]req{
		"unknown JSON member": {method: http.MethodPost, path: "/v1/verify", body: strings.NewReader(`{"qr":"x","y":1}`)},
		"wrong media type":    {method: http.MethodPost, path: "/v1/verify", contentType: "image/png", body: strings.NewReader("x")},
		"body over the limit": {method: http.MethodPost, path: "/v1/verify", contentType: "text/plain", body: strings.NewReader(strings.Repeat("A", limits.MaxVerifyBody+1))},
	} {
		if res := e.do(r); res.status < 400 || res.status >= 500 {
			t.Errorf("%s: status %d", name, res.status)
		}
	}
	// Under the body limit but over the QR limit: the verifier says so.
	a = answer(e.do(req{method: http.MethodPost, path: "/v1/verify", contentType: "text/plain", body: strings.NewReader("HC1:" + strings.Repeat("A", limits.MaxQRText))}))
	if a.Valid || a.Reason != "too_large" {
		t.Fatalf("oversized QR text: %+v", a)
	}
	// The access log names the route, never the payload.
	if logs := e.logs.String(); strings.Contains(logs, cert.UVCI) || strings.Contains(logs, "HC1:") || !strings.Contains(logs, "/v1/verify") {
		t.Errorf("access log: %s", logs)
	}
	// The scan page: served only when configured, with the root pinned in it.
	if res := e.do(req{method: http.MethodGet, path: "/scan"}); res.status != http.StatusServiceUnavailable {
		t.Fatalf("unconfigured scan page: status %d", res.status)
	}
	page := scanEnv.do(req{method: http.MethodGet, path: "/scan"})
	if page.status != http.StatusOK || !strings.Contains(string(page.body), "/scan/scan.js") ||
		!strings.Contains(string(page.body), `"trust_list":"/v1/trust-list"`) ||
		!strings.Contains(string(page.body), "BEGIN CERTIFICATE") || page.header.Get("Content-Security-Policy") == "" {
		t.Fatalf("scan page: %d %s", page.status, page.body)
	}
	if sw := scanEnv.do(req{method: http.MethodGet, path: "/scan/sw.js"}); sw.status != http.StatusOK || sw.header.Get("Service-Worker-Allowed") != "/scan" {
		t.Fatalf("service worker: %d %v", sw.status, sw.header)
	}
	// Without a checker the route says so.
	e.srv.cfg.Checker = nil
	if res := e.do(req{method: http.MethodPost, path: "/v1/verify", contentType: "text/plain", body: strings.NewReader(cert.HC1)}); res.status != http.StatusServiceUnavailable {
		t.Fatalf("no checker: status %d", res.status)
	}
}

// TestTrustListEndpoint: the signed trust list verifies against the CSCA,
// holds the service's DSC, and a matching If-None-Match gets 304.
func TestTrustListEndpoint(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"))
	r := e.do(req{method: http.MethodGet, path: "/v1/trust-list"})
	etag := r.header.Get("ETag")
	if r.status != http.StatusOK || etag == "" || r.header.Get("Content-Type") != mediaJOSE || !strings.Contains(r.header.Get("Cache-Control"), "max-age") {
		t.Fatalf("status %d, etag %q, headers %v", r.status, etag, r.header)
	}
	l, err := lists.ParseTrustList(r.body, e.pki.CSCA.Cert, testkit.Now)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 1 || len(l.Lookup(e.pki.DSC.KID())) != 1 || l.Signed.Sequence != 1 {
		t.Fatalf("trust list: %d keys, sequence %d", l.Len(), l.Signed.Sequence)
	}
	hr, _ := http.NewRequestWithContext(e.ctx, http.MethodGet, e.ts.URL+"/v1/trust-list", nil)
	hr.Header.Set("If-None-Match", etag)
	res, err := e.ts.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: status %d", res.StatusCode)
	}
}

// TestRuleSetEndpoint: 404 with a JSON error until a rule set is
// published; then the signed rule set opens against the CSCA, and a
// matching If-None-Match gets 304.
func TestRuleSetEndpoint(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"), func(c *Config) { c.Clock = testkit.Clock })
	r := e.do(req{method: http.MethodGet, path: "/v1/rule-set"})
	if r.status != http.StatusNotFound || !strings.Contains(string(r.body), `"not_found"`) || !strings.Contains(string(r.body), "--rules") {
		t.Fatalf("no rule set: status %d: %s", r.status, r.body)
	}
	rule := []byte(`{"Identifier": "VR-VN-0001", "Type": "Acceptance", "Country": "VN", "Version": "1.0.0",
		"SchemaVersion": "1.3.0", "Engine": "CERTLOGIC", "EngineVersion": "1.3.3", "CertificateType": "Vaccination",
		"Description": [{"lang": "en", "desc": "The vaccination must be against COVID-19."}],
		"ValidFrom": "2021-06-01T00:00:00Z", "ValidTo": "2030-06-01T00:00:00Z", "AffectedFields": ["v.0"],
		"Logic": {"===": [{"var": "payload.v.0.tg"}, "840539006"]}}`)
	e.srv.cfg.Lists.PublishRules(func() ([]json.RawMessage, []json.RawMessage, error) {
		return []json.RawMessage{rule}, nil, nil
	})
	r = e.do(req{method: http.MethodGet, path: "/v1/rule-set"})
	etag := r.header.Get("ETag")
	if r.status != http.StatusOK || etag == "" || r.header.Get("Content-Type") != mediaJOSE {
		t.Fatalf("status %d, etag %q: %s", r.status, etag, r.body)
	}
	set, err := rules.OpenSigned(r.body, e.pki.CSCA.Cert, testkit.Now, lists.Version{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Set.Rules) != 1 || set.Set.Rules[0].Identifier != "VR-VN-0001" {
		t.Fatalf("rule set: %+v", set.Set.Rules)
	}
	hr, _ := http.NewRequestWithContext(e.ctx, http.MethodGet, e.ts.URL+"/v1/rule-set", nil)
	hr.Header.Set("If-None-Match", etag)
	res, err := e.ts.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: status %d", res.StatusCode)
	}
}

// TestVerifyDoesNotQueueBehindRebuild: while one request rebuilds the
// service's own lists (the lock held here stands for it), a verify answers
// from the lists held instead of waiting; before any lists are held it
// waits for the first build.
func TestVerifyDoesNotQueueBehindRebuild(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"), func(c *Config) { c.Clock = testkit.Clock })
	cert, err := e.pki.Issuer(t).Issue(testkit.RecentRecord(testkit.Now))
	if err != nil {
		t.Fatal(err)
	}
	post := func() <-chan *response {
		done := make(chan *response, 1)
		go func() {
			done <- e.do(req{method: http.MethodPost, path: "/v1/verify", contentType: "text/plain", body: strings.NewReader(cert.HC1)})
		}()
		return done
	}
	// No lists held yet: the request waits for the build in progress.
	e.srv.self.mu.Lock()
	first := post()
	select {
	case r := <-first:
		e.srv.self.mu.Unlock()
		t.Fatalf("answered (%d) without lists while a build was in progress", r.status)
	case <-time.After(200 * time.Millisecond):
	}
	e.srv.self.mu.Unlock()
	if r := <-first; r.status != http.StatusOK {
		t.Fatalf("first answer: %d %s", r.status, r.body)
	}
	// Lists held, a rebuild due and in progress: answered from the lists held.
	e.srv.self.mu.Lock()
	e.srv.self.at, e.srv.self.wall = time.Time{}, time.Time{}
	select {
	case r := <-post():
		var a venue.Answer
		if r.status != http.StatusOK || json.Unmarshal(r.body, &a) != nil || a.Decision != "full" {
			t.Errorf("answer during a rebuild: %d %s", r.status, r.body)
		}
	case <-time.After(10 * time.Second):
		t.Error("the verify waited for the rebuild")
	}
	e.srv.self.mu.Unlock()
}

// TestVerifyRebuildsOnlyOnChange: a due refresh of the service's own lists
// keeps the state held while the publisher hands out the same lists, and
// builds a new one, which answers revoked, once a revocation is published.
func TestVerifyRebuildsOnlyOnChange(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"), func(c *Config) { c.Clock = testkit.Clock })
	rec := testkit.RecentRecord(testkit.Now)
	e.submit(rec)
	cert := e.issue(rec.Person.ID)
	verify := func() venue.Answer {
		t.Helper()
		e.srv.self.at, e.srv.self.wall = time.Time{}, time.Time{} // a refresh is due
		r := e.do(req{method: http.MethodPost, path: "/v1/verify", contentType: "text/plain", body: strings.NewReader(cert.HC1)})
		var a venue.Answer
		if r.status != http.StatusOK || json.Unmarshal(r.body, &a) != nil {
			t.Fatalf("verify: %d %s", r.status, r.body)
		}
		return a
	}
	if a := verify(); a.Decision != "full" {
		t.Fatalf("issued certificate: %+v", a)
	}
	held := e.srv.cfg.Checker.State()
	if a := verify(); a.Decision != "full" || e.srv.cfg.Checker.State() != held {
		t.Fatalf("unchanged lists: %+v, state rebuilt: %v", a, e.srv.cfg.Checker.State() != held)
	}
	e.call("POST", "/v1/revocations", credReviewer, map[string]any{"uvci": cert.UVCI, "reason": "fraud"}, http.StatusOK)
	time.Sleep(time.Second) // the publisher reads the store at most once a second
	if a := verify(); a.Decision != "revoked" || e.srv.cfg.Checker.State() == held {
		t.Fatalf("after a revocation: %+v, state rebuilt: %v", a, e.srv.cfg.Checker.State() != held)
	}
}
