//go:build browser

package browsertest

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestIssuerScanPage runs the real issuer service (vaxcert serve --dev)
// and its /scan page: the page must accept the service's own signed lists
// (GET /v1/trust-list, /v1/revocations) against the CSCA it pins, and
// verify a certificate signed with the service's key folder, applying the
// signed rule set the issuer publishes. Then the standalone verifier
// service (vaxcert serve-verifier) syncs lists and rule set from it and
// its /scan page answers as its POST /v1/verify, also for a certificate
// the rule refuses; with both services stopped, the
// verifier's page still opens and answers from its caches (issue 7's
// "done when").
func TestIssuerScanPage(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "vaxcert")
	build := exec.Command("go", "build", "-o", bin, "github.com/vaxcert/vaxcert/cmd/vaxcert")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	// The issuer publishes a signed rule set (GET /v1/rule-set): a booster
	// (a third dose) is required.
	ruleDir := filepath.Join(dir, "rules", "VR-VN-0099")
	if err := os.MkdirAll(ruleDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ruleDir, "rule.json"), boosterRule, 0o644); err != nil {
		t.Fatal(err)
	}
	base, stopIssuer := start(t, bin, "serve", "--dev", "--data", data, "--rules", filepath.Join(dir, "rules"))

	// Certificates signed with the service's keys, as `vaxcert issue` does:
	// the example (its third dose is a draft, so two doses: the rule
	// fails) and the example with the third dose finalised.
	example := filepath.Join("..", "..", "..", "examples", "record.json")
	hc1 := issueCert(t, bin, data, example)
	rec, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	boosted := filepath.Join(dir, "boosted.json")
	if err := os.WriteFile(boosted, bytes.Replace(rec, []byte(`"status": "draft"`), []byte(`"status": "finalised"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	hc3 := issueCert(t, bin, data, boosted)

	ctx := browser(t, "")
	do(t, ctx, chromedp.Navigate(base+"/scan"))
	if _, from := waitReady(t, ctx); from != "network" {
		t.Fatalf("lists from %q", from)
	}
	s := scan(t, ctx, hc3)
	// The example's doses are from 2021-2022: the policy decides (full or
	// not), but the certificate itself verifies and meets the rule, so the
	// holder is shown.
	if s.State == "red" || s.Name != "Nguyễn Văn Đức" || s.DOB != "12/04/1990" {
		t.Fatalf("issuer's page: %+v", s)
	}
	shot(t, ctx, "12-issuer-service")
	t.Logf("issuer's scan page: %s / %s", s.Word, s.WordEN)
	// Two doses: the issuer's rule set refuses it, on the page too.
	if s = scan(t, ctx, hc1); s.Decision != "not_accepted" || s.State != "amber" {
		t.Fatalf("issuer's page, the rule failing: %+v", s)
	}

	// The standalone verifier service, synced from the issuer: its scan
	// page takes the lists it holds (revocations as full list + deltas).
	// Its policy accepts a primary series of up to ten years (the example's
	// doses are from 2021): its page must decide with it, not the default.
	policyFile := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policyFile, []byte(`{"primary_max_age_days": 3650}`), 0o644); err != nil {
		t.Fatal(err)
	}
	verifierURL, stopVerifier := start(t, bin, "serve-verifier", "--issuer", base, "--policy", policyFile,
		"--root", filepath.Join(data, "keys", "csca.pem"), "--data", filepath.Join(dir, "verifier-data"))
	for i := 0; ; i++ { // ready once the first sync is done
		if r, err := http.Get(verifierURL + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				break
			}
		}
		if i == 100 {
			t.Fatal("the verifier service did not become ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	do(t, ctx, chromedp.Navigate(verifierURL+"/scan"))
	if _, from := waitReady(t, ctx); from != "network" {
		t.Fatalf("verifier service: lists from %q", from)
	}
	// The page answers as the service's POST /v1/verify does, with the
	// service's policy and the rule set it synced: the certificate with a
	// booster is accepted, the one without is refused by the rule.
	wantDecisions := map[string]string{}
	for name, qr := range map[string]string{"booster": hc3, "two doses": hc1} {
		resp, err := http.Post(verifierURL+"/v1/verify", "text/plain", strings.NewReader(qr))
		if err != nil {
			t.Fatal(err)
		}
		var service struct{ Decision, Reason string }
		err = json.NewDecoder(resp.Body).Decode(&service)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if ok := map[bool]bool{true: service.Reason == "rules_failed", false: service.Decision == "full" || service.Decision == "booster"}[name == "two doses"]; !ok {
			t.Fatalf("verifier service with its policy and rule set, %s: %+v", name, service)
		}
		if s = scan(t, ctx, qr); s.Decision != service.Decision {
			t.Fatalf("verifier service's page, %s: %+v, the service: %+v", name, s, service)
		}
		wantDecisions[name] = s.Decision
	}
	if s = scan(t, ctx, hc3); s.State != "green" || s.Name != "Nguyễn Văn Đức" {
		t.Fatalf("verifier service's page: %+v", s)
	}
	want := s
	waitOffline(t, ctx)
	// Both services stop: the page still opens and answers, from its
	// caches, with the rule set too.
	stopIssuer()
	stopVerifier()
	do(t, ctx, chromedp.Navigate(verifierURL+"/scan"))
	if _, from := waitReady(t, ctx); from != "cache" {
		t.Fatalf("verifier service offline: lists from %q", from)
	}
	if s = scan(t, ctx, hc3); s.State != want.State || s.Name != want.Name || s.Decision != wantDecisions["booster"] {
		t.Fatalf("verifier service's page offline: %+v", s)
	}
	shot(t, ctx, "13-verifier-service-offline")
	if s = scan(t, ctx, hc1); s.Decision != wantDecisions["two doses"] {
		t.Fatalf("verifier service's page offline, the rule failing: %+v", s)
	}
	shot(t, ctx, "14-verifier-service-offline-rule-failed")
}

// boosterRule is a venue rule (gateway rule envelope, CertLogic): a
// vaccination certificate needs a third dose.
var boosterRule = []byte(`{"Identifier": "VR-VN-0099", "Type": "Acceptance", "Country": "VN", "Version": "1.0.0",
 "SchemaVersion": "1.3.0", "Engine": "CERTLOGIC", "EngineVersion": "1.3.3", "CertificateType": "Vaccination",
 "Description": [{"lang": "en", "desc": "A booster (a third dose) is required."}],
 "ValidFrom": "2021-06-01T00:00:00Z", "ValidTo": "2030-06-01T00:00:00Z", "AffectedFields": ["v.0.dn"],
 "Logic": {">=": [{"var": "payload.v.0.dn"}, 3]}}`)

// issueCert issues the record file with the key folder of data, as
// `vaxcert issue` does, and returns the HC1 text.
func issueCert(t *testing.T, bin, data, record string) string {
	t.Helper()
	out, err := exec.Command(bin, "issue", "--keys", filepath.Join(data, "keys"), "--record", record).Output()
	if err != nil {
		t.Fatalf("vaxcert issue %s: %v", record, err)
	}
	return strings.TrimSpace(string(out))
}

// start runs the vaxcert binary with args and --addr on a free loopback
// port, waits for /healthz, and returns the base URL and a stop func.
func start(t *testing.T, bin string, args ...string) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, append(args, "--addr", addr)...)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	t.Cleanup(stop)
	base := "http://" + addr
	for i := 0; ; i++ {
		if r, err := http.Get(base + "/healthz"); err == nil {
			r.Body.Close()
			return base, stop
		}
		if i == 100 {
			t.Fatalf("%s did not start:\n%s", args[0], log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
