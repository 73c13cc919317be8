package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"strconv"
)

// Algorithm is a COSE signature algorithm, valued as its COSE identifier.
// The zero value, [AlgNone], is no algorithm: it never verifies.
type Algorithm int

// The algorithms the DCC specification requires (§3.3.2).
const (
	AlgNone  Algorithm = 0
	AlgES256 Algorithm = -7  // ECDSA P-256 with SHA-256
	AlgPS256 Algorithm = -37 // RSASSA-PSS with SHA-256, MGF1-SHA-256, salt 32
)

// MinRSABits is the smallest RSA modulus accepted for PS256.
const MinRSABits = 2048

// String returns "ES256", "PS256", or "none".
func (a Algorithm) String() string {
	switch a {
	case AlgES256:
		return "ES256"
	case AlgPS256:
		return "PS256"
	case AlgNone:
		return "none"
	}
	return "Algorithm(" + strconv.Itoa(int(a)) + ")"
}

// AlgorithmFor returns the one algorithm a public key may verify, decided by
// the key alone: ECDSA on P-256 gives [AlgES256]; RSA with a modulus of at
// least [MinRSABits] gives [AlgPS256]; any other key (P-384, RSA-1024,
// Ed25519, ...) gives [AlgNone].
//
// Reference: https://github.com/ehn-dcc-development/hcert-spec/blob/main/hcert_spec.md, §3.3.2
func AlgorithmFor(pub crypto.PublicKey) Algorithm {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return AlgES256
		}
	case *rsa.PublicKey:
		if k.N != nil && k.N.BitLen() >= MinRSABits {
			return AlgPS256
		}
	}
	return AlgNone
}
