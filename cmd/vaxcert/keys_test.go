package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/keyfile"
)

// initKeys runs "keys init" in a fresh folder and returns the folder.
func initKeys(t *testing.T, extra ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	code, _, stderr := runCLI(t, "", append([]string{"keys", "init", "--dir", dir}, extra...)...)
	if code != exitOK {
		t.Fatalf("keys init: exit status %d:\n%s", code, stderr)
	}
	return dir
}

// readDSC returns the DSC certificate of a key folder.
func readDSC(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, keyfile.DSCCertFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeysInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	code, stdout, stderr := runCLI(t, "", "keys", "init", "--dir", dir, "--country", "VN")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit status %d, stderr:\n%s", code, stderr)
	}

	certs, err := keys.ParseCertificates(readDSC(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	dsc := certs[0]
	want := "kid: " + keys.KIDString(keys.KID(dsc.Raw)) + "\n"
	for _, f := range []string{"csca.key", "csca.pem", "dsc.key", "dsc.pem", "uvci.key"} {
		want += "wrote " + filepath.Join(dir, f) + "\n"
	}
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	if !dsc.NotBefore.Equal(now()) || dsc.Subject.Country[0] != "VN" {
		t.Errorf("DSC notBefore %v, country %v; want %v, VN", dsc.NotBefore, dsc.Subject.Country, now())
	}
	pub, ok := dsc.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("DSC key is %T, want ECDSA P-256", dsc.PublicKey)
	}

	modes := map[string]os.FileMode{".": 0o700, "csca.key": 0o600, "dsc.key": 0o600, "uvci.key": 0o600,
		"csca.pem": 0o644, "dsc.pem": 0o644}
	for name, mode := range modes {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s has mode %04o, want %04o", name, fi.Mode().Perm(), mode)
		}
	}
}

func TestKeysInitRefusesOverwrite(t *testing.T) {
	dir := initKeys(t)
	dscBefore := readDSC(t, dir)
	secretBefore, err := os.ReadFile(filepath.Join(dir, "uvci.key"))
	if err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runCLI(t, "", "keys", "init", "--dir", dir)
	wantError(t, code, stdout, stderr, exitError)
	if !strings.Contains(stderr, "--force") {
		t.Errorf("no --force hint:\n%s", stderr)
	}
	if !bytes.Equal(readDSC(t, dir), dscBefore) {
		t.Fatal("dsc.pem changed without --force")
	}

	code, stdout, stderr = runCLI(t, "", "keys", "init", "--dir", dir, "--force")
	if code != exitOK {
		t.Fatalf("--force: exit status %d:\n%s", code, stderr)
	}
	if bytes.Equal(readDSC(t, dir), dscBefore) {
		t.Error("--force did not replace dsc.pem")
	}
	secretAfter, err := os.ReadFile(filepath.Join(dir, "uvci.key"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(secretAfter, secretBefore) {
		t.Error("--force replaced uvci.key; UVCIs would change")
	}
	if !strings.HasSuffix(stdout, "kept "+filepath.Join(dir, "uvci.key")+"\n") {
		t.Errorf("stdout does not report the kept uvci.key:\n%s", stdout)
	}
}

func TestKeysInitPS256(t *testing.T) {
	dir := initKeys(t, "--alg", "PS256")
	certs, err := keys.ParseCertificates(readDSC(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	if pub, ok := certs[0].PublicKey.(*rsa.PublicKey); !ok || pub.N.BitLen() != 2048 {
		t.Fatalf("DSC key is %T, want RSA-2048", certs[0].PublicKey)
	}
	hc1 := issue(t, dir, "../../examples/record.json")
	res := verifyJSONOut(t, exitOK, "", "verify", "--trust-dir", dir, "--json", hc1)
	if res.Alg != "PS256" {
		t.Errorf("alg = %q, want PS256", res.Alg)
	}
}
