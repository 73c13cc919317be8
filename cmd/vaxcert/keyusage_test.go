package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/issuer"
)

// A certificate given as trusted is trusted for its key: one whose
// key-usage bits omit digitalSignature verifies, with a warning in the
// result, instead of a usage error (issue 9 item 14).
func TestVerifyTrustedCertWithoutDigitalSignature(t *testing.T) {
	pki := testkit.NewPKI(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{Country: []string{"VN"}, CommonName: "VN DSC"},
		NotBefore:    pki.DSC.Cert.NotBefore,
		NotAfter:     pki.DSC.Cert.NotAfter,
		KeyUsage:     x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, pki.CSCA.Cert, key.Public(), pki.CSCA.Signer())
	if err != nil {
		t.Fatal(err)
	}
	dsc, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := issuer.New(key, dsc, issuer.WithClock(now), issuer.WithIssuerName(defaultIssuerName),
		issuer.WithUVCISecret(testkit.UVCISecret))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := iss.Issue(testkit.Record())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dsc.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	res := verifyJSONOut(t, exitOK, "", "verify", "--json", "--trust-cert", file, cert.HC1)
	if !res.Valid || len(res.Warnings) != 1 || res.Warnings[0].Code != "signer_key_usage" {
		t.Fatalf("valid %v, warnings %+v", res.Valid, res.Warnings)
	}
	code, stdout, _ := runCLI(t, "", "verify", "--trust-cert", file, cert.HC1)
	if code != exitOK || !strings.Contains(stdout, "warning    signer_key_usage") {
		t.Fatalf("exit %d, text output:\n%s", code, stdout)
	}
	// A CSCA is still not a trust entry.
	cscaFile := filepath.Join(t.TempDir(), "csca.pem")
	os.WriteFile(cscaFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.CSCA.Cert.Raw}), 0o644)
	if code, _, _ := runCLI(t, "", "verify", "--trust-cert", cscaFile, cert.HC1); code != exitError {
		t.Fatalf("CSCA as trust: exit %d, want %d", code, exitError)
	}
}

// A Bimervax certificate (EU/1/22/1709, value-set release 2.12.0) is issued
// and verifies with the embedded value sets (issue 9 item 14: it failed
// with "schema: v[0].mp violates valueset").
func TestBimervaxVerifies(t *testing.T) {
	data, err := os.ReadFile(exampleRecord)
	if err != nil {
		t.Fatal(err)
	}
	rec := strings.ReplaceAll(strings.ReplaceAll(string(data), "EU/1/20/1528", "EU/1/22/1709"), "ORG-100030215", "ORG-100036914")
	file := filepath.Join(t.TempDir(), "bimervax.json")
	if err := os.WriteFile(file, []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := initKeys(t)
	hc1 := issue(t, dir, file)
	res := verifyJSONOut(t, exitOK, "", "verify", "--json", "--trust-dir", dir, hc1)
	if !res.Valid || res.Checks["value_sets"] != "pass" || !strings.Contains(string(res.Certificate), "EU/1/22/1709") {
		t.Fatalf("Bimervax: %+v", res)
	}
}
