package hcert

import (
	"bytes"
	"fmt"

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
