package issuer_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/issuer"
)

// Issue benchmarks: one record to HC1 text (payload building, schema and
// value-set checks, CBOR, signature, zlib, Base45; no PNG), each beside the
// bare signature as the yardstick (SHA-256 and ECDSA P-256 or RSA-PSS over
// a message of the same size). `make bench` reports the ratios.

func benchIssue(b *testing.B, pki *testkit.PKI) {
	iss := newIssuer(b, pki)
	rec := sampleRecord()
	b.ReportAllocs()
	defer testkit.ReportCPU(b)() // CPU time of the loop: make ratios reads it
	for b.Loop() {
		if _, err := iss.Issue(rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssueES256(b *testing.B) { benchIssue(b, testkit.NewPKI(b)) }
func BenchmarkIssuePS256(b *testing.B) { benchIssue(b, testkit.NewPKI(b, testkit.WithPS256())) }

const msgLen = 330 // about the size of a Sig_structure for a vaccination DCC

func BenchmarkBareECDSAP256Sign(b *testing.B) {
	pki := testkit.NewPKI(b)
	priv := pki.DSC.Signer()
	if _, ok := priv.Public().(*ecdsa.PublicKey); !ok {
		b.Fatal("not ECDSA")
	}
	msg := make([]byte, msgLen)
	b.ReportAllocs()
	defer testkit.ReportCPU(b)() // CPU time of the loop: make ratios reads it
	for b.Loop() {
		d := sha256.Sum256(msg)
		if _, err := priv.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBareRSAPSSSign(b *testing.B) {
	pki := testkit.NewPKI(b, testkit.WithPS256())
	priv := pki.DSC.Signer()
	opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	msg := make([]byte, msgLen)
	b.ReportAllocs()
	defer testkit.ReportCPU(b)() // CPU time of the loop: make ratios reads it
	for b.Loop() {
		d := sha256.Sum256(msg)
		if _, err := priv.Sign(rand.Reader, d[:], opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQRPNG is reported separately: rendering is not part of issuing.
func BenchmarkQRPNG(b *testing.B) {
	pki := testkit.NewPKI(b)
	c, err := newIssuer(b, pki).Issue(sampleRecord())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := issuer.QRPNG(c.HC1); err != nil {
			b.Fatal(err)
		}
	}
}
