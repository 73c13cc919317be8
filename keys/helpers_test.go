package keys_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/testkit"
)

var (
	issuerOnce sync.Once
	issuerKey  *ecdsa.PrivateKey
	issuerCert *x509.Certificate
)

// testIssuer returns a P-256 CA used to sign hand-made test certificates.
func testIssuer(tb testing.TB) (*x509.Certificate, crypto.Signer) {
	tb.Helper()
	issuerOnce.Do(func() {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{Country: []string{"VN"}, CommonName: "test CA"},
			NotBefore:             testkit.Now.AddDate(-1, 0, 0),
			NotAfter:              testkit.Now.AddDate(3, 0, 0),
			KeyUsage:              x509.KeyUsageCertSign,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
		if err != nil {
			panic(err)
		}
		issuerCert, _ = x509.ParseCertificate(der)
		issuerKey = k
	})
	return issuerCert, issuerKey
}

var serial int64 = 100

// makeCert issues a certificate for pub from testIssuer; edit adjusts the
// template (nil for none).
func makeCert(tb testing.TB, pub crypto.PublicKey, edit func(*x509.Certificate)) *x509.Certificate {
	tb.Helper()
	ca, key := testIssuer(tb)
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{Country: []string{"VN"}, CommonName: "test DSC"},
		NotBefore:    testkit.Now.Add(-24 * time.Hour),
		NotAfter:     testkit.Now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if edit != nil {
		edit(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, key)
	if err != nil {
		tb.Fatalf("CreateCertificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("ParseCertificate: %v", err)
	}
	return cert
}

// p256Key returns a fresh P-256 public key.
func p256Key(tb testing.TB) crypto.PublicKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k.Public()
}
