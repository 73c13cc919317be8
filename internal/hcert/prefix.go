package hcert

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/vaxcert/vaxcert/internal/limits"
)

// Prefix is the HCERT context identifier for version 1.
//
// Reference: hcert_spec.md §4.2.2: "the Base45 encoded data SHALL be prefixed
// with the Context Identifier string "HC1:"".
const Prefix = "HC1:"

// TrimPrefix checks that qr starts with exactly "HC1:" and is no longer than
// [limits.MaxQRText], and returns the Base45 text after the prefix. Future
// versions ("HC2:" …) and near misses ("hc1:", "HL0:", no prefix) are
// rejected with [ErrPrefix].
func TrimPrefix(qr []byte) ([]byte, error) {
	if len(qr) > limits.MaxQRText {
		return nil, fmt.Errorf("%w: QR text longer than %d bytes", ErrTooLarge, limits.MaxQRText)
	}
	if !bytes.HasPrefix(qr, []byte(Prefix)) {
		return nil, ErrPrefix
	}
	return qr[len(Prefix):], nil
}

// AppendHC1 appends the QR text of a COSE_Sign1 message to dst: "HC1:" +
// Base45(zlib(cose)), compressed by [AppendDeflate] at [DeflateLevel]. The
// same message always gives the same text, which is why the service can
// store a certificate's COSE message alone and rebuild its QR text.
func AppendHC1(dst, cose []byte) []byte {
	z := AppendDeflate(nil, cose)
	dst = slices.Grow(dst, len(Prefix)+Base45EncodedLen(len(z)))
	return AppendBase45(append(dst, Prefix...), z)
}
