package hcert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"

	"github.com/vaxcert/vaxcert/internal/dgcvectors"
)

// goCOSESigStructure is go-cose's own ToBeSigned for a message without
// external data: the same array, encoded with the same library and
// options (go-cose v1.3 sign1.go toBeSigned, cbor.go encMode).
func goCOSESigStructure(t testing.TB, rawProtected, payload []byte) []byte {
	t.Helper()
	em, err := cbor.EncOptions{Sort: cbor.SortCoreDeterministic, IndefLength: cbor.IndefLengthForbidden}.EncMode()
	if err != nil {
		t.Fatal(err)
	}
	b, err := em.Marshal([]any{"Signature1", cbor.RawMessage(rawProtected), []byte{}, payload})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAppendSigStructure1MatchesGoCOSE(t *testing.T) {
	prots := [][]byte{
		{0x43, 0xa1, 0x01, 0x26},                                     // {1: -7}
		{0x4d, 0xa2, 0x01, 0x26, 0x04, 0x48, 1, 2, 3, 4, 5, 6, 7, 8}, // {1: -7, 4: kid}
		{0x40}, // empty
		append([]byte{0x58, 0x18}, bytes.Repeat([]byte{0xa0}, 24)...),                   // 24 bytes
		append([]byte{0x59, 0x01, 0x00}, bytes.Repeat([]byte{0x00}, 256)...),            // 256 bytes
		append([]byte{0x5a, 0x00, 0x01, 0x00, 0x00}, bytes.Repeat([]byte{1}, 65536)...), // 65536 bytes
	}
	for _, prot := range prots {
		for _, n := range []int{0, 1, 23, 24, 255, 256, 1000, 65535, 65536, 70000} {
			payload := bytes.Repeat([]byte{0xab}, n)
			got := AppendSigStructure1([]byte("keep"), prot, payload)
			want := append([]byte("keep"), goCOSESigStructure(t, prot, payload)...)
			if !bytes.Equal(got, want) {
				t.Fatalf("protected %x…, payload %d bytes: Sig_structure differs from go-cose's", prot[:min(len(prot), 4)], n)
			}
		}
	}
}

// signed returns a COSE_Sign1 message signed by signer with go-cose, with
// the given protected header, parsed back with ParseSign1.
func signed(t testing.TB, signer cose.Signer, prot cose.ProtectedHeader, payload []byte) *cose.Sign1Message {
	t.Helper()
	m := &cose.Sign1Message{Headers: cose.Headers{Protected: prot, Unprotected: cose.UnprotectedHeader{}}, Payload: payload}
	if err := m.Sign(rand.Reader, nil, signer); err != nil {
		t.Fatal(err)
	}
	b, err := m.MarshalCBOR()
	if err != nil {
		t.Fatal(err)
	}
	msg, err := ParseSign1(b)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// sameVerdict fails unless VerifySign1 and go-cose's Verify agree on msg:
// both pass, or both fail (and both with ErrVerification, or neither).
// It returns whether the signature verified.
func sameVerdict(t testing.TB, msg *cose.Sign1Message, v cose.Verifier) bool {
	t.Helper()
	got, want := VerifySign1(msg, v), msg.Verify(nil, v)
	if (got == nil) != (want == nil) || errors.Is(got, cose.ErrVerification) != errors.Is(want, cose.ErrVerification) {
		t.Fatalf("VerifySign1: %v; go-cose Verify: %v", got, want)
	}
	return got == nil
}

// plainVerifier hides VerifyDigest: VerifySign1 must take go-cose's path.
type plainVerifier struct{ cose.Verifier }

func testKeys(t testing.TB) (es, ps cose.Signer, esv, psv cose.Verifier) {
	t.Helper()
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if es, err = cose.NewSigner(cose.AlgorithmES256, ek); err != nil {
		t.Fatal(err)
	}
	if ps, err = cose.NewSigner(cose.AlgorithmPS256, rk); err != nil {
		t.Fatal(err)
	}
	if esv, err = cose.NewVerifier(cose.AlgorithmES256, ek.Public()); err != nil {
		t.Fatal(err)
	}
	if psv, err = cose.NewVerifier(cose.AlgorithmPS256, rk.Public()); err != nil {
		t.Fatal(err)
	}
	return es, ps, esv, psv
}

func TestVerifySign1MatchesGoCOSE(t *testing.T) {
	es, ps, esv, psv := testKeys(t)
	kid := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	for _, tc := range []struct {
		name   string
		signer cose.Signer
		v      cose.Verifier
	}{{"ES256", es, esv}, {"PS256", ps, psv}} {
		t.Run(tc.name, func(t *testing.T) {
			alg := tc.v.Algorithm()
			for _, payload := range [][]byte{{0xa0}, bytes.Repeat([]byte{7}, 300), bytes.Repeat([]byte{9}, 5000)} {
				msg := signed(t, tc.signer, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: alg, cose.HeaderLabelKeyID: kid}, payload)
				if !sameVerdict(t, msg, tc.v) || !sameVerdict(t, msg, plainVerifier{tc.v}) {
					t.Fatal("a valid signature failed")
				}
				// Tampering with any signed byte fails both ways.
				for _, tamper := range []func(m *cose.Sign1Message){
					func(m *cose.Sign1Message) { m.Payload[len(m.Payload)-1] ^= 1 },
					func(m *cose.Sign1Message) { m.Signature[3] ^= 0x80 },
					func(m *cose.Sign1Message) { m.Headers.RawProtected[len(m.Headers.RawProtected)-1] ^= 1 },
					func(m *cose.Sign1Message) { m.Signature = m.Signature[:len(m.Signature)-1] },
					func(m *cose.Sign1Message) { m.Signature = append(m.Signature, 0) },
					func(m *cose.Sign1Message) { m.Signature = nil },
					func(m *cose.Sign1Message) { m.Payload = nil },
					// The protected header as a byte string with a longer
					// head than needed: go-cose re-encodes it.
					func(m *cose.Sign1Message) {
						m.Headers.RawProtected = append([]byte{0x58, byte(len(m.Headers.RawProtected) - 1)}, m.Headers.RawProtected[1:]...)
					},
				} {
					m := signed(t, tc.signer, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: alg, cose.HeaderLabelKeyID: kid}, payload)
					m.Payload, m.Signature = bytes.Clone(m.Payload), bytes.Clone(m.Signature)
					m.Headers.RawProtected = bytes.Clone(m.Headers.RawProtected)
					tamper(m)
					sameVerdict(t, m, tc.v)
				}
			}
			// No alg in the protected header, or another one: refused both
			// ways, though the signature over the Sig_structure is good.
			for _, prot := range []cose.ProtectedHeader{{cose.HeaderLabelKeyID: kid}, {cose.HeaderLabelAlgorithm: cose.AlgorithmES384}} {
				raw, err := prot.MarshalCBOR()
				if err != nil {
					t.Fatal(err)
				}
				payload := []byte{0xa0}
				d := sha256.Sum256(AppendSigStructure1(nil, raw, payload))
				sig, err := tc.signer.(cose.DigestSigner).SignDigest(rand.Reader, d[:])
				if err != nil {
					t.Fatal(err)
				}
				m := &cose.Sign1Message{Headers: cose.Headers{RawProtected: raw, Protected: prot}, Payload: payload, Signature: sig}
				if sameVerdict(t, m, tc.v) {
					t.Fatal("verified without a matching alg header")
				}
				m.Headers.Protected[cose.HeaderLabelAlgorithm] = alg // the check reads the parsed header
				if !sameVerdict(t, m, tc.v) {
					t.Fatal("the signature itself does not verify")
				}
			}
		})
	}
}

// A non-preferred head on the protected header is re-encoded by go-cose,
// so a signature over the re-encoded form verifies: VerifySign1 leaves
// that case to go-cose and agrees.
func TestVerifySign1NonPreferredProtected(t *testing.T) {
	es, _, esv, _ := testKeys(t)
	prot := []byte{0xa1, 0x01, 0x26}
	payload := []byte{0xa1, 0x01, 0x02}
	d := sha256.Sum256(AppendSigStructure1(nil, append([]byte{0x43}, prot...), payload))
	sig, err := es.(cose.DigestSigner).SignDigest(rand.Reader, d[:])
	if err != nil {
		t.Fatal(err)
	}
	m := &cose.Sign1Message{Headers: cose.Headers{RawProtected: append([]byte{0x58, 0x03}, prot...),
		Protected: cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES256}}, Payload: payload, Signature: sig}
	if !sameVerdict(t, m, esv) {
		t.Fatal("signature over the re-encoded header failed")
	}
}

// The EU test vectors: every vector whose COSE parses gets the same
// verdict from VerifySign1 and from go-cose, with go-cose's verifier for
// its DSC.
func TestVerifySign1Vectors(t *testing.T) {
	n, ok := 0, 0
	for _, vec := range dgcvectors.Load(t) {
		key := vec.DSCKey()
		msg, err := ParseSign1(vec.COSE)
		if key == nil || err != nil {
			continue
		}
		for _, alg := range []cose.Algorithm{cose.AlgorithmES256, cose.AlgorithmPS256} {
			v, err := cose.NewVerifier(alg, key)
			if err != nil {
				continue
			}
			n++
			if sameVerdict(t, msg, v) {
				ok++
			}
		}
	}
	if n < 50 || ok < 40 {
		t.Fatalf("%d vectors checked, %d verified: too few", n, ok)
	}
	t.Logf("%d vector verifications, %d valid, same verdicts", n, ok)
}

// FuzzVerifySign1 holds VerifySign1 to go-cose's Verify on whatever
// ParseSign1 accepts, with a fixed ES256 and PS256 key: seeded with
// messages those keys signed, so that mutations of valid signatures are
// explored.
func FuzzVerifySign1(f *testing.F) {
	es, ps, esv, psv := testKeys(f)
	for _, s := range []cose.Signer{es, ps} {
		for _, payload := range [][]byte{{0xa0}, bytes.Repeat([]byte{0x41}, 40)} {
			m := signed(f, s, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: s.Algorithm(), cose.HeaderLabelKeyID: []byte{1, 2}}, payload)
			b, err := m.MarshalCBOR()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := ParseSign1(b)
		if err != nil {
			return
		}
		sameVerdict(t, msg, esv)
		sameVerdict(t, msg, psv)
	})
}
