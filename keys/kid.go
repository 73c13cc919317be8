package keys

import (
	"crypto/sha256"
	"encoding/base64"
)

// KIDSize is the length of a DCC key identifier in bytes.
const KIDSize = 8

// KID returns the key identifier of a DSC: the first 8 bytes of the SHA-256
// digest of its DER encoding (pass [x509.Certificate.Raw]).
//
// Reference: https://github.com/ehn-dcc-development/hcert-spec/blob/main/hcert_spec.md, Annex A.1
func KID(certDER []byte) []byte {
	sum := sha256.Sum256(certDER)
	return sum[:KIDSize:KIDSize]
}

// KIDString formats a kid as the EU gateway and trust lists do: standard
// base64 with padding (12 characters for an 8-byte kid).
func KIDString(kid []byte) string {
	return base64.StdEncoding.EncodeToString(kid)
}
