package verifier

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/big"
	"testing"

	"github.com/veraison/go-cose"

	"github.com/vaxcert/vaxcert/internal/dgcvectors"
	"github.com/vaxcert/vaxcert/internal/hcert"
)

// es256Pair is a P-256 key with go-cose's ES256 verifier and ours.
type es256Pair struct {
	priv      *ecdsa.PrivateKey
	ref, ours cose.Verifier
}

func newES256Pair(t testing.TB, pub *ecdsa.PublicKey) es256Pair {
	t.Helper()
	var priv *ecdsa.PrivateKey
	if pub == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub = k, &k.PublicKey
	}
	ref, err := cose.NewVerifier(cose.AlgorithmES256, pub)
	if err != nil {
		t.Fatal(err)
	}
	ours := newES256Verifier(ref, pub)
	if _, ok := ours.(es256Verifier); !ok {
		t.Fatalf("newES256Verifier kept %T", ours)
	}
	return es256Pair{priv, ref, ours}
}

// same fails unless both verifiers give the same verdict, through Verify
// and through VerifyDigest, and reports it. Failures must be
// cose.ErrVerification on both sides.
func (p es256Pair) same(t testing.TB, content, sig []byte) bool {
	t.Helper()
	d := sha256.Sum256(content)
	want := p.ref.Verify(content, sig)
	for _, got := range []error{p.ours.Verify(content, sig), p.ours.(cose.DigestVerifier).VerifyDigest(d[:], sig),
		p.ref.(cose.DigestVerifier).VerifyDigest(d[:], sig)} {
		if (got == nil) != (want == nil) || (got != nil && !errors.Is(got, cose.ErrVerification)) ||
			(want != nil && !errors.Is(want, cose.ErrVerification)) {
			t.Fatalf("sig %x: ours %v, go-cose %v", sig, got, want)
		}
	}
	return want == nil
}

// sign returns the r‖s signature of content, each padded to 32 bytes.
func (p es256Pair) sign(t testing.TB, content []byte) (r, s *big.Int, sig []byte) {
	t.Helper()
	d := sha256.Sum256(content)
	r, s, err := ecdsa.Sign(rand.Reader, p.priv, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return r, s, rs(r, s)
}

func rs(r, s *big.Int) []byte {
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return sig
}

func TestES256VerifierMatchesGoCOSE(t *testing.T) {
	p := newES256Pair(t, nil)
	n := elliptic.P256().Params().N
	msg := []byte("Sig_structure stand-in")
	highBitR, shortR := false, false
	// At least 200 signatures, among them an r with its high bit set (DER
	// adds a zero byte) and one with a leading zero byte (DER drops it).
	for i := 0; i < 200 || !highBitR || !shortR; i++ {
		if i == 10000 {
			t.Fatal("no r with a leading zero byte in 10,000 signatures")
		}
		content := append(msg, byte(i))
		r, s, sig := p.sign(t, content)
		highBitR = highBitR || sig[0]&0x80 != 0
		shortR = shortR || sig[0] == 0
		if !p.same(t, content, sig) {
			t.Fatal("a valid signature failed")
		}
		// (r, n−s) is the other valid signature: both accept it.
		if !p.same(t, content, rs(r, new(big.Int).Sub(n, s))) {
			t.Fatal("(r, n-s) failed")
		}
		if i >= 20 {
			continue
		}
		for _, bad := range [][]byte{
			sig[:63], append(bytes.Clone(sig), 0), append([]byte{0}, sig...), nil, make([]byte, 64),
			rs(big.NewInt(0), s), rs(r, big.NewInt(0)), rs(n, s), rs(r, n),
			rs(r, new(big.Int).Add(s, big.NewInt(1))), rs(new(big.Int).Sub(n, r), s),
			bytes.Repeat([]byte{0xff}, 64), append(bytes.Repeat([]byte{0}, 31), append([]byte{1}, sig[32:]...)...),
		} {
			if p.same(t, content, bad) {
				t.Fatalf("forged signature %x verified", bad)
			}
		}
		// r + n and s + n, where they fit in 32 bytes: not reduced.
		if rn := new(big.Int).Add(r, n); rn.BitLen() <= 256 && p.same(t, content, rs(rn, s)) {
			t.Fatal("r + n verified")
		}
		if sn := new(big.Int).Add(s, n); sn.BitLen() <= 256 && p.same(t, content, rs(r, sn)) {
			t.Fatal("s + n verified")
		}
		tampered := bytes.Clone(content)
		tampered[0] ^= 1
		if p.same(t, tampered, sig) {
			t.Fatal("signature verified over other content")
		}
	}
}

func TestNewES256VerifierKeepsOthers(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := cose.NewVerifier(cose.AlgorithmPS256, rk.Public())
	if err != nil {
		t.Fatal(err)
	}
	if got := newES256Verifier(ps, rk.Public()); got != ps {
		t.Fatalf("PS256 verifier replaced by %T", got)
	}
	k384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	es384, err := cose.NewVerifier(cose.AlgorithmES384, k384.Public())
	if err != nil {
		t.Fatal(err)
	}
	if got := newES256Verifier(es384, k384.Public()); got != es384 {
		t.Fatalf("ES384 verifier replaced by %T", got)
	}
}

func TestAppendDERSignature(t *testing.T) {
	for _, tc := range []struct {
		r, s []byte
		want []byte
	}{
		{[]byte{0, 0, 1}, []byte{0x7f}, []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x7f}},
		{[]byte{0x80}, []byte{0, 0x80}, []byte{0x30, 0x08, 0x02, 0x02, 0x00, 0x80, 0x02, 0x02, 0x00, 0x80}},
		{[]byte{0, 0}, []byte{0}, []byte{0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00}},
	} {
		if got := appendDERSignature(nil, tc.r, tc.s); !bytes.Equal(got, tc.want) {
			t.Errorf("r %x s %x: %x, want %x", tc.r, tc.s, got, tc.want)
		}
	}
}

// The EU test vectors: every ES256 vector whose COSE parses gets the same
// verdict from our verifier as from go-cose's, for the whole message.
func TestES256VerifierVectors(t *testing.T) {
	checked, valid := 0, 0
	for _, vec := range dgcvectors.Load(t) {
		pub, ok := vec.DSCKey().(*ecdsa.PublicKey)
		msg, err := hcert.ParseSign1(vec.COSE)
		if !ok || pub.Curve != elliptic.P256() || err != nil {
			continue
		}
		p := newES256Pair(t, pub)
		got, want := hcert.VerifySign1(msg, p.ours), msg.Verify(nil, p.ref)
		if (got == nil) != (want == nil) {
			t.Fatalf("%s: ours %v, go-cose %v", vec.Name, got, want)
		}
		p.same(t, nil, msg.Signature) // the raw verifier too, over other content
		checked++
		if got == nil {
			valid++
		}
	}
	if checked < 40 || valid < 30 {
		t.Fatalf("%d ES256 vectors, %d valid: too few", checked, valid)
	}
	t.Logf("%d ES256 vectors, %d valid, same verdicts", checked, valid)
}

// FuzzES256Verifier holds our verifier to go-cose's on arbitrary
// signatures, seeded with valid ones (so mutations near valid signatures
// are explored) over a fixed content.
func FuzzES256Verifier(f *testing.F) {
	p := newES256Pair(f, nil)
	content := []byte("fixed content")
	for range 4 {
		_, _, sig := p.sign(f, content)
		f.Add(sig)
	}
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, sig []byte) {
		p.same(t, content, sig)
	})
}
