//go:build browser

package browsertest

import (
	"net"
	"net/http"
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
// verify a certificate signed with the service's key folder.
func TestIssuerScanPage(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "vaxcert")
	build := exec.Command("go", "build", "-o", bin, "github.com/vaxcert/vaxcert/cmd/vaxcert")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := filepath.Join(dir, "data")
	srv := exec.Command(bin, "serve", "--dev", "--data", data, "--addr", addr)
	var log strings.Builder
	srv.Stdout, srv.Stderr = &log, &log
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	base := "http://" + addr
	for i := 0; ; i++ {
		if r, err := http.Get(base + "/healthz"); err == nil {
			r.Body.Close()
			break
		}
		if i == 100 {
			t.Fatalf("the service did not start:\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

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
		t.Fatalf("issuer's page: %+v\nservice log:\n%s", s, log.String())
	}
	shot(t, ctx, "12-issuer-service")
	t.Logf("issuer's scan page: %s / %s", s.Word, s.WordEN)
}
