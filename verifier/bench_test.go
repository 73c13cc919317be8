package verifier_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"runtime"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/verifier"
)

// The benchmarks come in pairs: a full verification of an HC1 text, schema
// and value-set checks included, and the bare signature check it contains
// (SHA-256 and ECDSA P-256 or RSA-PSS over a message of the same size) as
// the yardstick. `make bench` reports their ratio.

func benchVerify(b *testing.B, pki *testkit.PKI) {
	cert := issue(b, pki)
	v, err := verifier.New(pki.Trust)
	if err != nil {
		b.Fatal(err)
	}
	qr := []byte(cert.HC1)
	if _, err := v.Verify(qr, testkit.Now); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer testkit.ReportCPU(b)() // CPU time of the loop: make ratios reads it
	for b.Loop() {
		if _, err := v.Verify(qr, testkit.Now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyES256(b *testing.B) { benchVerify(b, testkit.NewPKI(b)) }
func BenchmarkVerifyPS256(b *testing.B) { benchVerify(b, testkit.NewPKI(b, testkit.WithPS256())) }

// msgLen is about the size of a Sig_structure for a vaccination DCC.
const msgLen = 330

func BenchmarkBareECDSAP256Verify(b *testing.B) {
	pki := testkit.NewPKI(b)
	msg := make([]byte, msgLen)
	d := sha256.Sum256(msg)
	sig, err := pki.DSC.Signer().Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		b.Fatal(err)
	}
	pub := pki.DSC.Cert.PublicKey.(*ecdsa.PublicKey)
	b.ReportAllocs()
	defer testkit.ReportCPU(b)() // CPU time of the loop: make ratios reads it
	for b.Loop() {
		d := sha256.Sum256(msg)
		if !ecdsa.VerifyASN1(pub, d[:], sig) {
			b.Fatal("verify failed")
		}
	}
}

func BenchmarkBareRSAPSSVerify(b *testing.B) {
	pki := testkit.NewPKI(b, testkit.WithPS256())
	msg := make([]byte, msgLen)
	d := sha256.Sum256(msg)
	opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	sig, err := pki.DSC.Signer().Sign(rand.Reader, d[:], opts)
	if err != nil {
		b.Fatal(err)
	}
	pub := pki.DSC.Cert.PublicKey.(*rsa.PublicKey)
	b.ReportAllocs()
	defer testkit.ReportCPU(b)() // CPU time of the loop: make ratios reads it
	for b.Loop() {
		d := sha256.Sum256(msg)
		if err := rsa.VerifyPSS(pub, crypto.SHA256, d[:], sig, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyES256Interleaved runs a whole ES256 verification and the
// bare ECDSA P-256 verify alternately in one loop and reports the ratio of
// the time spent in each ("verify/ecdsa"): on a shared machine both see the
// same load, which back-to-back benchmarks do not. Garbage collection that
// the verifications cause may run in either half.
func BenchmarkVerifyES256Interleaved(b *testing.B) {
	pki := testkit.NewPKI(b)
	v, err := verifier.New(pki.Trust)
	if err != nil {
		b.Fatal(err)
	}
	qr := []byte(issue(b, pki).HC1)
	msg := make([]byte, msgLen)
	d := sha256.Sum256(msg)
	sig, err := pki.DSC.Signer().Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		b.Fatal(err)
	}
	pub := pki.DSC.Cert.PublicKey.(*ecdsa.PublicKey)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var inVerify, inECDSA, cpuVerify, cpuECDSA time.Duration
	for b.Loop() {
		t0, c0 := time.Now(), threadCPU()
		if _, err := v.Verify(qr, testkit.Now); err != nil {
			b.Fatal(err)
		}
		t1, c1 := time.Now(), threadCPU()
		d := sha256.Sum256(msg)
		if !ecdsa.VerifyASN1(pub, d[:], sig) {
			b.Fatal("verify failed")
		}
		t2, c2 := time.Now(), threadCPU()
		inVerify += t1.Sub(t0)
		inECDSA += t2.Sub(t1)
		cpuVerify += c1 - c0
		cpuECDSA += c2 - c1
	}
	b.ReportMetric(float64(inVerify)/float64(inECDSA), "verify/ecdsa")
	b.ReportMetric(float64(cpuVerify)/float64(cpuECDSA), "cpu-verify/ecdsa")
	b.ReportMetric(float64(inVerify.Nanoseconds())/float64(b.N), "verify-ns/op")
	b.ReportMetric(float64(inECDSA.Nanoseconds())/float64(b.N), "ecdsa-ns/op")
}
