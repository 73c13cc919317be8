package verifier

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"

	"github.com/veraison/go-cose"
)

// es256Verifier is go-cose's ES256 verifier without its detour: go-cose
// turns the r‖s signature into two big.Ints and calls ecdsa.Verify, which
// encodes them as ASN.1 again for ecdsa.VerifyASN1 (ten allocations). This
// one writes the DER on the stack and calls ecdsa.VerifyASN1 itself. The
// verdicts are go-cose's: a signature of any length but 64 bytes fails, as
// does r or s of zero or not below the group order; high s is accepted
// (RFC 9053 §2.1 has no low-s rule). A differential test holds it to
// go-cose's verifier.
//
// Reference: RFC 9053 §2.1 (r‖s, each 32 bytes for P-256).
type es256Verifier struct{ key *ecdsa.PublicKey }

var (
	_ cose.Verifier       = es256Verifier{}
	_ cose.DigestVerifier = es256Verifier{}
)

// newES256Verifier returns the ES256 verifier of a P-256 key that go-cose
// accepted (cv is go-cose's verifier for it), or cv unchanged for any other
// key or algorithm.
func newES256Verifier(cv cose.Verifier, key any) cose.Verifier {
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok || cv.Algorithm() != cose.AlgorithmES256 || pub.Curve != elliptic.P256() {
		return cv
	}
	return es256Verifier{key: pub}
}

func (es256Verifier) Algorithm() cose.Algorithm { return cose.AlgorithmES256 }

// Verify checks signature over content (SHA-256, then ECDSA P-256).
func (v es256Verifier) Verify(content, signature []byte) error {
	d := sha256.Sum256(content)
	return v.VerifyDigest(d[:], signature)
}

// VerifyDigest checks an r‖s signature over a SHA-256 digest.
func (v es256Verifier) VerifyDigest(digest, signature []byte) error {
	const n = 32
	if len(signature) != 2*n {
		return cose.ErrVerification
	}
	var buf [2 + 2*(2+n+1)]byte
	if !ecdsa.VerifyASN1(v.key, digest, appendDERSignature(buf[:0], signature[:n], signature[n:])) {
		return cose.ErrVerification
	}
	return nil
}

// appendDERSignature appends the DER ECDSA-Sig-Value SEQUENCE {r INTEGER,
// s INTEGER} of two unsigned big-endian integers of at most 33 bytes
// each (so that every length fits in one byte).
//
// Reference: RFC 3279 §2.2.3; X.690 §8.3 (minimal two's-complement
// INTEGER).
func appendDERSignature(dst, r, s []byte) []byte {
	r, s = trimZeros(r), trimZeros(s)
	dst = append(dst, 0x30, byte(derIntLen(r)+derIntLen(s)))
	return appendDERInt(appendDERInt(dst, r), s)
}

// trimZeros drops leading zero bytes, keeping at least one byte.
func trimZeros(b []byte) []byte {
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// derIntLen is the length of the DER INTEGER of the unsigned b (trimmed).
func derIntLen(b []byte) int {
	if len(b) > 0 && b[0]&0x80 != 0 {
		return 2 + 1 + len(b)
	}
	return 2 + len(b)
}

func appendDERInt(dst, b []byte) []byte {
	if len(b) > 0 && b[0]&0x80 != 0 {
		return append(append(dst, 0x02, byte(len(b)+1), 0x00), b...)
	}
	return append(append(dst, 0x02, byte(len(b))), b...)
}
