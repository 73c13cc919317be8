package issuing

import "errors"

var (
	// ErrNotSigner is returned by [NewDSC] for a certificate whose KeyUsage
	// extension lacks digitalSignature (a CSCA, for example): the issuer
	// does not sign with it.
	ErrNotSigner = errors.New("issuing: certificate key usage excludes digital signature")

	// ErrNotCA is returned by [NewCA] for a certificate that is not a CA
	// allowed to sign certificates.
	ErrNotCA = errors.New("issuing: certificate is not a certificate-signing ca")

	// ErrKeyMismatch is returned when a private key does not belong to the
	// certificate it is paired with.
	ErrKeyMismatch = errors.New("issuing: private key does not match certificate")

	// ErrOptions is returned by [NewCSCA] and [CA.IssueDSC] for invalid
	// options.
	ErrOptions = errors.New("issuing: invalid options")
)
