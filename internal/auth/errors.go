package auth

import (
	"errors"
	"fmt"
)

// ErrUnauthenticated is the parent of every authentication failure. Every
// error returned by [CitizenVerifier.Verify] and [BearerToken] is an *[Error]
// that unwraps to it; the HTTP layer maps it to 401 and switches on
// [Error.Reason] when it needs more.
var ErrUnauthenticated = errors.New("auth: unauthenticated")

// Configuration errors, returned by [NewCitizenVerifier],
// [CitizenVerifier.ReloadJWKS], [ReadJWKSFile] and the development helpers.
var (
	// ErrInvalidArgument reports a missing or out-of-range option or argument.
	ErrInvalidArgument = errors.New("auth: invalid argument")

	// ErrInvalidJWKS is the parent of every JWK Set rejection.
	ErrInvalidJWKS = errors.New("auth: invalid jwks")
	// ErrJWKSTooLarge reports a JWK Set larger than limits.MaxJWKS.
	ErrJWKSTooLarge = fmt.Errorf("%w: too large", ErrInvalidJWKS)
	// ErrMalformedJWKS reports a JWK Set that is not a JSON object with a
	// non-empty "keys" array of well-formed keys, each with a "kid".
	ErrMalformedJWKS = fmt.Errorf("%w: malformed", ErrInvalidJWKS)
	// ErrPrivateKey reports private or symmetric (secret) key material in a
	// JWK Set, which must only ever hold public keys.
	ErrPrivateKey = fmt.Errorf("%w: private or secret key material", ErrInvalidJWKS)
	// ErrUnsupportedKey reports a key whose type, curve, size, algorithm or
	// intended use is not accepted (see the package documentation).
	ErrUnsupportedKey = fmt.Errorf("%w: unsupported key", ErrInvalidJWKS)

	// ErrInvalidDevKey reports a development signing key that is not a
	// PKCS#8 PEM ECDSA P-256 private key.
	ErrInvalidDevKey = errors.New("auth: invalid development signing key")

	// ErrUnknownRole reports a staff role name that [ParseRole] does not know.
	ErrUnknownRole = errors.New("auth: unknown role")
)

// Reason says why a bearer credential was refused.
type Reason int

// Reasons for an authentication failure.
const (
	// ReasonMissing: no credential was presented.
	ReasonMissing Reason = iota + 1
	// ReasonMalformed: the header or token is not well formed, uses an
	// unsupported JOSE feature (JSON serialisation, crit) or lacks "exp".
	ReasonMalformed
	// ReasonTooLarge: the credential exceeds limits.MaxBearerToken.
	ReasonTooLarge
	// ReasonUnknownKey: the token has no "kid" or none in the JWK Set matches.
	ReasonUnknownKey
	// ReasonBadSignature: no candidate key verifies the signature, or the
	// token's "alg" is not the algorithm the key set states for that key.
	ReasonBadSignature
	// ReasonExpired: "exp" has passed (beyond the allowed skew).
	ReasonExpired
	// ReasonNotYetValid: "nbf" or "iat" lies in the future (beyond the skew).
	ReasonNotYetValid
	// ReasonWrongIssuer: "iss" is missing or not the configured issuer.
	ReasonWrongIssuer
	// ReasonWrongAudience: "aud" is missing or does not contain the
	// configured audience.
	ReasonWrongAudience
	// ReasonBadSubject: "sub" is missing or not shaped like a Vietnamese
	// national ID number.
	ReasonBadSubject
	// ReasonWrongType: the JOSE header "typ" is not the configured token
	// type (see [WithType]), or, with none configured, not "JWT".
	ReasonWrongType
)

var reasonNames = [...]string{
	ReasonMissing:       "missing credential",
	ReasonMalformed:     "malformed credential",
	ReasonTooLarge:      "credential too large",
	ReasonUnknownKey:    "unknown key",
	ReasonBadSignature:  "bad signature",
	ReasonExpired:       "expired",
	ReasonNotYetValid:   "not yet valid",
	ReasonWrongIssuer:   "wrong issuer",
	ReasonWrongAudience: "wrong audience",
	ReasonBadSubject:    "bad subject",
	ReasonWrongType:     "wrong token type",
}

// String returns a short lowercase description of r.
func (r Reason) String() string {
	if r > 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// Error is an authentication failure. It unwraps to [ErrUnauthenticated].
//
// Its message never contains the credential or any claim value (the
// subject is a national ID number): Detail is fixed text chosen by this
// package, so the error is safe to log.
type Error struct {
	// Reason classifies the failure.
	Reason Reason
	// Detail is an optional fixed description of the failed check.
	Detail string
}

// Error implements error.
func (e *Error) Error() string {
	msg := ErrUnauthenticated.Error() + ": " + e.Reason.String()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns [ErrUnauthenticated].
func (e *Error) Unwrap() error { return ErrUnauthenticated }

func fail(r Reason, detail string) *Error { return &Error{Reason: r, Detail: detail} }
