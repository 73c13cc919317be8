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
// verify a certificate signed with the service's key folder. Then the
// standalone verifier service (vaxcert serve-verifier) syncs from it and
// its /scan page answers the same; with both services stopped, the
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
	base, stopIssuer := start(t, bin, "serve", "--dev", "--data", data)

	// A certificate signed with the service's keys, as `vaxcert issue` does.
	issue := exec.Command(bin, "issue", "--keys", filepath.Join(data, "keys"), "--record", filepath.Join("..", "..", "..", "examples", "record.json"))
	hc1, err := issue.Output()
	if err != nil {
		t.Fatalf("vaxcert issue: %v", err)
	}

	ctx := browser(t, "")
	do(t, ctx, chromedp.Navigate(base+"/scan"))
	if _, from := waitReady(t, ctx); from != "network" {
		t.Fatalf("lists from %q", from)
	}
	s := scan(t, ctx, strings.TrimSpace(string(hc1)))
	// The example's doses are from 2021: the policy decides (full or not),
	// but the certificate itself verifies, so the holder is shown.
	if s.State == "red" || s.Name != "Nguyễn Văn Đức" || s.DOB != "12/04/1990" {
		t.Fatalf("issuer's page: %+v", s)
	}
	shot(t, ctx, "12-issuer-service")
	t.Logf("issuer's scan page: %s / %s", s.Word, s.WordEN)

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
	// The page answers as the service's POST /v1/verify does.
	resp, err := http.Post(verifierURL+"/v1/verify", "text/plain", bytes.NewReader(hc1))
	if err != nil {
		t.Fatal(err)
	}
	var service struct{ Decision string }
	err = json.NewDecoder(resp.Body).Decode(&service)
	resp.Body.Close()
	if err != nil || service.Decision != "full" {
		t.Fatalf("verifier service with its policy: %q %v", service.Decision, err)
	}
	if s = scan(t, ctx, strings.TrimSpace(string(hc1))); s.State != "green" || s.Decision != service.Decision || s.Name != "Nguyễn Văn Đức" {
		t.Fatalf("verifier service's page: %+v, the service: %s", s, service.Decision)
	}
	want := s
	waitOffline(t, ctx)
	// Both services stop: the page still opens and answers, from its caches.
	stopIssuer()
	stopVerifier()
	do(t, ctx, chromedp.Navigate(verifierURL+"/scan"))
	if _, from := waitReady(t, ctx); from != "cache" {
		t.Fatalf("verifier service offline: lists from %q", from)
	}
	if s = scan(t, ctx, strings.TrimSpace(string(hc1))); s.State != want.State || s.Name != want.Name {
		t.Fatalf("verifier service's page offline: %+v", s)
	}
	shot(t, ctx, "13-verifier-service-offline")
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
