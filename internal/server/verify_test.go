package server

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/scanpage"
	"github.com/vaxcert/vaxcert/internal/store/storetest"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/verifier"
)

func TestVerifyEndpoint(t *testing.T) {
	var e *env
	e = newEnv(t, storetest.Open(t, "sqlite"), func(c *Config) { c.Clock = testkit.Clock })
	scanEnv := newEnv(t, storetest.Open(t, "sqlite"), func(c *Config) {
		c.Scan = &scanpage.Config{Root: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.pki.CSCA.Cert.Raw}),
			TrustList: "/scan/trust.pem", Interim: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.pki.DSC.Cert.Raw})}
	})
	v, err := verifier.New(e.pki.Trust)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.cfg.Verifier = v
	cert, err := e.pki.Issuer(t).Issue(testkit.Record())
	if err != nil {
		t.Fatal(err)
	}
	report := func(r *response) verifier.Report {
		t.Helper()
		var rep verifier.Report
		if r.status != http.StatusOK || json.Unmarshal(r.body, &rep) != nil {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		return rep
	}
	rep := report(e.do(req{method: http.MethodPost, path: "/v1/verify", contentType: "text/plain", body: strings.NewReader(cert.HC1 + "\n")}))
	if !rep.Valid || rep.Type != "vaccination" || !strings.Contains(string(rep.Certificate), cert.UVCI) {
		t.Fatalf("valid certificate: %+v", rep)
	}
	rep = report(e.do(req{method: http.MethodPost, path: "/v1/verify", body: jsonBody(t, map[string]string{"qr": "HC2:" + cert.HC1[4:]})}))
	if rep.Valid || rep.Reason != verifier.ReasonBadPrefix || rep.Certificate != nil {
		t.Fatalf("bad prefix: %+v", rep)
	}
	// A certificate whose signature does not verify: nothing from its
	// payload in the answer (issue 9 item 2).
	other, err := verifier.New(testkit.NewPKI(t).Trust)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.cfg.Verifier = other
	r := e.do(req{method: http.MethodPost, path: "/v1/verify", contentType: "text/plain", body: strings.NewReader(cert.HC1)})
	rep = report(r)
	if rep.Valid || rep.Reason != verifier.ReasonUnknownKID || rep.Certificate != nil || rep.Type != "" || rep.IssuedAt != "" ||
		strings.Contains(string(r.body), cert.UVCI) || strings.Contains(string(r.body), "NGUYEN") {
		t.Fatalf("unverified certificate: %s", r.body)
	}
	e.srv.cfg.Verifier = v
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
	rep = report(e.do(req{method: http.MethodPost, path: "/v1/verify", contentType: "text/plain", body: strings.NewReader("HC1:" + strings.Repeat("A", limits.MaxQRText))}))
	if rep.Valid || rep.Reason != verifier.ReasonTooLarge {
		t.Fatalf("oversized QR text: %+v", rep)
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
		!strings.Contains(string(page.body), `"trust_list":"/scan/trust.pem"`) ||
		!strings.Contains(string(page.body), "BEGIN CERTIFICATE") || page.header.Get("Content-Security-Policy") == "" {
		t.Fatalf("scan page: %d %s", page.status, page.body)
	}
	if sw := scanEnv.do(req{method: http.MethodGet, path: "/scan/sw.js"}); sw.status != http.StatusOK || sw.header.Get("Service-Worker-Allowed") != "/scan" {
		t.Fatalf("service worker: %d %v", sw.status, sw.header)
	}
	// Without a verifier the route says so.
	e.srv.cfg.Verifier = nil
	if res := e.do(req{method: http.MethodPost, path: "/v1/verify", contentType: "text/plain", body: strings.NewReader(cert.HC1)}); res.status != http.StatusServiceUnavailable {
		t.Fatalf("no verifier: status %d", res.status)
	}
}
