package hcert

import (
	"crypto/sha256"

	"github.com/veraison/go-cose"
)

// sigContext1 is the start of every COSE_Sign1 Sig_structure: an array of
// four, then the text string "Signature1".
const sigContext1 = "\x84\x6aSignature1"

// VerifySign1 checks msg's signature with v exactly as
// msg.Verify(nil, v) does (no external data), and more cheaply when it
// can: when v is a [cose.DigestVerifier] for a SHA-256 algorithm (ES256,
// PS256), the protected alg header names that algorithm and the protected
// header is a byte string in preferred encoding (which go-cose would use
// unchanged), the Sig_structure is written into one stack buffer and
// hashed with SHA-256, and v.VerifyDigest checks the digest. Otherwise it
// is msg.Verify(nil, v).
//
// go-cose (v1.3) has no digest path for a Sign1Message: its Verify encodes
// the Sig_structure through the reflection-based encoder (six allocations)
// and its verifiers hash it again. The Sig_structure of RFC 9052 §4.4 is
// four fixed items, so it is written here by hand; a differential test
// holds the bytes to go-cose's own encoding (fxamacker/cbor, the same
// encoder and options) and the verdicts to msg.Verify.
//
// Reference: RFC 9052 §4.4.
func VerifySign1(msg *cose.Sign1Message, v cose.Verifier) error {
	dv, ok := v.(cose.DigestVerifier)
	if !ok || msg == nil || msg.Payload == nil || len(msg.Signature) == 0 {
		return msg.Verify(nil, v)
	}
	switch alg := v.Algorithm(); alg {
	case cose.AlgorithmES256, cose.AlgorithmPS256:
		if got, err := msg.Headers.Protected.Algorithm(); err != nil || got != alg {
			return msg.Verify(nil, v)
		}
	default:
		return msg.Verify(nil, v)
	}
	raw := msg.Headers.RawProtected
	if _, end, ok := readBstr(raw, 0); !ok || end != len(raw) {
		return msg.Verify(nil, v) // go-cose re-encodes or refuses it
	}
	var stack [1024]byte
	d := sha256.Sum256(AppendSigStructure1(stack[:0], raw, msg.Payload))
	return dv.VerifyDigest(d[:], msg.Signature)
}

// AppendSigStructure1 appends the CBOR encoding of the COSE_Sign1
// Sig_structure ["Signature1", protected, empty external_aad, payload] to dst, where
// protected is the protected header's byte string item, head included, as
// received (in preferred encoding: [VerifySign1] checks).
//
// Reference: RFC 9052 §4.4.
func AppendSigStructure1(dst, protected, payload []byte) []byte {
	dst = append(dst, sigContext1...)
	dst = append(dst, protected...)
	dst = append(dst, 0x40) // external_aad: empty byte string
	dst = appendHead(dst, 2, uint64(len(payload)))
	return append(dst, payload...)
}

// appendHead appends a CBOR head in preferred (shortest) encoding.
func appendHead(dst []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(dst, m|byte(n))
	case n <= 0xff:
		return append(dst, m|24, byte(n))
	case n <= 0xffff:
		return append(dst, m|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(dst, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
		byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}
