package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/keys/keyfile"
)

// oneRevoked is a revocation source holding one certificate.
type oneRevoked struct{ r *store.RevokedCertificate }

func (o oneRevoked) RevokedCertificates(context.Context, int64, time.Time, int) ([]*store.RevokedCertificate, error) {
	return []*store.RevokedCertificate{o.r}, nil
}

// coseOf decodes an HC1 text down to its COSE message.
func coseOf(t *testing.T, hc1 string) []byte {
	t.Helper()
	b45, err := hcert.TrimPrefix([]byte(hc1))
	if err != nil {
		t.Fatal(err)
	}
	z, err := hcert.AppendBase45Decode(nil, b45)
	if err != nil {
		t.Fatal(err)
	}
	c, err := hcert.AppendInflate(nil, z, limits.MaxCOSE)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestVerifySignedLists: trust export, then verify offline with
// --trust-list and --root, with --revocations, and after keys rotate and
// keys retire.
func TestVerifySignedLists(t *testing.T) {
	dir := initKeys(t)
	hc1 := issue(t, dir, exampleRecord)
	out := filepath.Join(t.TempDir(), "trust-list.jws")
	root := filepath.Join(dir, keyfile.CSCACertFile)
	if code, stdout, stderr := runCLI(t, "", "trust", "export", "--keys", dir, "--out", out); code != exitOK || !strings.Contains(stdout, "wrote") {
		t.Fatalf("trust export: %d %s %s", code, stdout, stderr)
	}
	res := verifyJSONOut(t, exitOK, "", "verify", "--trust-list", out, "--root", root, "--json", hc1)
	if !res.Valid || res.Decision != "not_accepted" { // the example's 2021 series is past its maximum age in 2026
		t.Fatalf("signed trust list: %+v", res)
	}
	res = verifyJSONOut(t, exitOK, "", "verify", "--trust-list", out, "--root", root, "--json",
		"--policy", writeTemp(t, `{"primary_max_age_days": 0}`), hc1)
	if res.Decision != "full" {
		t.Fatalf("with a policy without a maximum age: %+v", res)
	}

	// Another CSCA pinned: refused with a hint.
	code, _, stderr := runCLI(t, "", "verify", "--trust-list", out, "--root", filepath.Join(initKeys(t), keyfile.CSCACertFile), hc1)
	if code != exitError || !strings.Contains(stderr, "list_wrong_root") && !strings.Contains(stderr, "does not chain") {
		t.Fatalf("wrong root: %d %s", code, stderr)
	}
	// Expired at --at: refused.
	if code, _, stderr := runCLI(t, "", "verify", "--trust-list", out, "--root", root, "--at", "2026-06-04T00:00:00Z", hc1); code != exitError || !strings.Contains(stderr, "expired") {
		t.Fatalf("expired list: %d %s", code, stderr)
	}

	// Revoked: the revocation check fails, decision revoked.
	pub, err := trustpub.New(trustpub.Config{KeyDir: dir, Clock: testkit.Clock})
	if err != nil {
		t.Fatal(err)
	}
	c := verifyJSONOut(t, exitOK, "", "verify", "--trust-dir", dir, "--json", hc1)
	rl, err := pub.Revocations(context.Background(), oneRevoked{&store.RevokedCertificate{RevocationID: 1,
		UVCI: c.dcc(t).V[0].CI, COSE: coseOf(t, hc1), ExpiresAt: testkit.Now.AddDate(1, 0, 0)}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	revFile := writeTemp(t, string(rl))
	code, stdout, _ := runCLI(t, "", "verify", "--trust-list", out, "--root", root, "--revocations", revFile, "--json", hc1)
	if code != exitInvalid || !strings.Contains(stdout, `"revocation": "fail"`) || !strings.Contains(stdout, `"decision": "revoked"`) {
		t.Fatalf("revoked: %d %s", code, stdout)
	}

	// Rotate: the old DSC stays listed; retire: it is not.
	code, stdout, stderr = runCLI(t, "", "keys", "rotate", "--dir", dir)
	if code != exitOK || !strings.Contains(stdout, "new kid:") {
		t.Fatalf("keys rotate: %d %s %s", code, stdout, stderr)
	}
	runCLI(t, "", "trust", "export", "--keys", dir, "--out", out)
	verifyJSONOut(t, exitOK, "", "verify", "--trust-list", out, "--root", root, "--json", hc1)
	oldKID := strings.Fields(stdout[strings.Index(stdout, "old kid:"):])[2]
	if code, stdout, stderr := runCLI(t, "", "keys", "retire", "--dir", dir, "--kid", oldKID); code != exitOK {
		t.Fatalf("keys retire: %d %s %s", code, stdout, stderr)
	}
	runCLI(t, "", "trust", "export", "--keys", dir, "--out", out)
	res = verifyJSONOut(t, exitInvalid, "", "verify", "--trust-list", out, "--root", root, "--json", hc1)
	if res.Reason != "unknown_kid" || res.Decision != "invalid" {
		t.Fatalf("after retire: %+v", res)
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
