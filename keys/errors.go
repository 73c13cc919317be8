package keys

import (
	"errors"
	"fmt"
)

// ErrCertificate is the parent of every error [ParseCertificates] returns:
// the input is not an acceptable certificate list.
var ErrCertificate = errors.New("keys: invalid certificate input")

// Reasons [ParseCertificates] rejects an input; each wraps [ErrCertificate].
var (
	// ErrTooLarge: the input or one certificate exceeds its size limit.
	ErrTooLarge = fmt.Errorf("%w: size limit exceeded", ErrCertificate)
	// ErrNoCertificate: the input holds no certificate.
	ErrNoCertificate = fmt.Errorf("%w: no certificate", ErrCertificate)
	// ErrPEMBlockType: a PEM block is not of type CERTIFICATE.
	ErrPEMBlockType = fmt.Errorf("%w: pem block is not a certificate", ErrCertificate)
	// ErrTrailingData: bytes other than whitespace follow or precede the
	// certificates.
	ErrTrailingData = fmt.Errorf("%w: trailing data", ErrCertificate)
	// ErrMalformed: bad PEM, base64 or DER.
	ErrMalformed = fmt.Errorf("%w: malformed", ErrCertificate)
)

var (
	// ErrTooManyEntries is returned when a trust list would exceed
	// limits.MaxTrustEntries certificates.
	ErrTooManyEntries = errors.New("keys: trust list exceeds entry limit")

	// ErrNotSigner is returned for a CA certificate without the
	// digitalSignature key usage (a CSCA, see [IsCSCA]): it signs
	// certificates, not DCCs, and is never a trust entry.
	ErrNotSigner = errors.New("keys: ca certificate cannot sign dccs")
)
