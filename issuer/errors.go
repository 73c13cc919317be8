package issuer

import (
	"errors"
	"strings"
)

// Errors of the payload builder. [BuildPayload] returns them wrapped in a
// [*FieldError] naming the offending field.
var (
	// ErrMissing: a required field is empty.
	ErrMissing = errors.New("issuer: missing value")
	// ErrInvalid: a field is malformed (format, length, range or characters).
	ErrInvalid = errors.New("issuer: invalid value")
	// ErrNotFinalised: the record holds no finalised dose. Drafts are never
	// signed.
	ErrNotFinalised = errors.New("issuer: no finalised dose")
	// ErrContradictory: finalised doses disagree, e.g. two different shots
	// with the same dose number.
	ErrContradictory = errors.New("issuer: contradicts another finalised dose")
	// ErrValueSet: a code is not in its value set.
	ErrValueSet = errors.New("issuer: code not in value set")
	// ErrInactive: a code is in its value set but no longer active, so no new
	// certificate may carry it.
	ErrInactive = errors.New("issuer: code not active in value set")
)

// ErrUVCICharset is returned by [LuhnMod38] for an empty string or a
// character outside the UVCI checksum alphabet.
var ErrUVCICharset = errors.New("issuer: character outside the uvci alphabet")

// FieldError reports a rejected record or option field. Field is the JSON
// path in the dose-record format ("person.birth_date", "doses[1].product"),
// "options.<name>" for [PayloadOptions], or "payload" when the finished DCC
// fails schema validation. The message names the field and the problem,
// never the value, because records hold personal data.
type FieldError struct {
	Field string
	Err   error // one of the sentinels above, or a schemas validation error
}

func (e *FieldError) Error() string {
	return "issuer: " + e.Field + ": " + strings.TrimPrefix(e.Err.Error(), "issuer: ")
}

// Unwrap returns the underlying error, for [errors.Is] and [errors.As].
func (e *FieldError) Unwrap() error { return e.Err }
