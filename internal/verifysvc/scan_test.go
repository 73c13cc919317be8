package verifysvc_test

import (
	"context"
	"encoding/pem"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/scanpage"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/internal/verifysvc"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/verifier/offline"
)

// TestScanPageLists: the verifier service serves the scan page and the
// lists it holds; a browser-side session (verifier/offline, what the wasm
// runs) built from those lists answers exactly as POST /v1/verify does,
// for a valid certificate, a revoked one (revocations as full list +
// delta) and a tampered one.
func TestScanPageLists(t *testing.T) {
	w := newWorld(t)
	iss := w.pki.Issuer(t)
	cert, err := iss.Issue(testkit.RecentRecord(testkit.Now))
	if err != nil {
		t.Fatal(err)
	}
	other := testkit.RecentRecord(testkit.Now)
	other.Person.ID = "001090055555"
	revoked, err := iss.Issue(other)
	if err != nil {
		t.Fatal(err)
	}
	root := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.pki.CSCA.Cert.Raw})
	sy, ts := w.verifier(func(c *verifysvc.Config) {
		c.Scan = &scanpage.Config{Root: root, TrustList: "/v1/trust-list", Revocations: "/v1/revocations"}
	})
	third := testkit.RecentRecord(testkit.Now)
	third.Person.ID = "001090066666"
	late, err := iss.Issue(third)
	if err != nil {
		t.Fatal(err)
	}
	// Two revocations, a sync after each: the second arrives as a delta.
	for _, c := range []string{"revoked", "late"} {
		w.src.revoke(map[string]*issuer.Certificate{"revoked": revoked, "late": late}[c])
		w.clk.advance(time.Minute)
		if err := sy.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	if code, body := get(t, ts, "/scan"); code != http.StatusOK || !strings.Contains(body, "BEGIN CERTIFICATE") ||
		!strings.Contains(body, "/v1/revocations") {
		t.Fatalf("scan page: %d", code)
	}
	code, trust := get(t, ts, "/v1/trust-list")
	if code != http.StatusOK {
		t.Fatalf("trust list: %d %s", code, trust)
	}
	code, bundle := get(t, ts, "/v1/revocations")
	if code != http.StatusOK || !strings.Contains(bundle, `"deltas":["`) {
		t.Fatalf("revocation bundle: %d %s", code, bundle)
	}
	now := w.clk.now()
	s, err := offline.NewSession(root, []byte(trust), nil, now, offline.Options{StaleAfter: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateRevocationBundle([]byte(bundle), now); err != nil {
		t.Fatal(err)
	}
	for name, qr := range map[string]string{"valid": cert.HC1, "revoked": revoked.HC1, "revoked by the delta": late.HC1,
		"tampered": testkit.Tamper(t, cert.HC1)} {
		_, service := post(t, ts, qr, "")
		browser := s.Verify([]byte(qr), now)
		if !reflect.DeepEqual(service, browser) {
			t.Errorf("%s: service %+v, browser %+v", name, service, browser)
		}
		if strings.HasPrefix(name, "revoked") && browser.Decision != "revoked" {
			t.Errorf("revoked: %+v", browser)
		}
	}
}

// TestScanListsBeforeSync: without lists the routes say so.
func TestScanListsBeforeSync(t *testing.T) {
	w := newWorld(t)
	w.issuer.Close() // the first sync fails
	_, ts := w.verifier(func(c *verifysvc.Config) { c.Scan = &scanpage.Config{TrustList: "/v1/trust-list"} })
	for _, path := range []string{"/v1/trust-list", "/v1/revocations"} {
		if code, body := get(t, ts, path); code != http.StatusServiceUnavailable || !strings.Contains(body, "sync") {
			t.Errorf("%s: %d %s", path, code, body)
		}
	}
}
