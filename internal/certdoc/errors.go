package certdoc

import (
	"errors"
	"fmt"
)

// ErrInvalidDocument is matched, with [errors.Is], by every error [RenderPDF]
// returns for a bad [Document]: a [*FieldError] for one bad field, or
// [ErrTooMuchText].
var ErrInvalidDocument = errors.New("certdoc: invalid document")

// ErrTooMuchText means the fields, each within its length limit, together
// do not fit one page even at the smallest type size. It matches
// [ErrInvalidDocument].
var ErrTooMuchText = fmt.Errorf("%w: text does not fit on one page", ErrInvalidDocument)

// Reason says why a [Document] field is invalid.
type Reason int

// The reasons a field is invalid.
const (
	// ReasonMissing: a required field is empty or zero.
	ReasonMissing Reason = iota + 1
	// ReasonTooLong: a text field is longer than the page can hold.
	ReasonTooLong
	// ReasonText: a text field holds invalid UTF-8 or a character outside
	// the printable repertoire (Latin and Vietnamese letters, punctuation;
	// no control characters or line breaks).
	ReasonText
	// ReasonRange: a number or time is out of range (dose number or series
	// length outside 1-99, expiry not after issue).
	ReasonRange
	// ReasonType: Type is not vaccination, test or recovery.
	ReasonType
	// ReasonHC1Prefix: HC1 does not start with "HC1:".
	ReasonHC1Prefix
	// ReasonHC1Charset: HC1 holds a character outside the QR alphanumeric
	// set (the Base45 alphabet).
	ReasonHC1Charset
	// ReasonHC1TooLong: HC1 does not fit the largest QR code (version 40) at
	// error-correction level Q: more than 2420 characters.
	ReasonHC1TooLong
)

var reasonText = map[Reason]string{
	ReasonMissing:    "required value missing",
	ReasonTooLong:    "text too long",
	ReasonText:       "unsupported character or invalid utf-8",
	ReasonRange:      "value out of range",
	ReasonType:       "unknown certificate type",
	ReasonHC1Prefix:  "missing HC1: prefix",
	ReasonHC1Charset: "character outside the qr alphanumeric set",
	ReasonHC1TooLong: "too long for a level Q qr code",
}

// String returns a short lowercase description of r.
func (r Reason) String() string {
	if s, ok := reasonText[r]; ok {
		return s
	}
	return "unknown reason"
}

// FieldError reports an invalid [Document] field. It names the field and
// never carries its value, which may be personal data. It matches
// [ErrInvalidDocument].
type FieldError struct {
	Field  string // the Document field name, e.g. "HolderName"
	Reason Reason
}

func (e *FieldError) Error() string {
	return "certdoc: invalid " + e.Field + ": " + e.Reason.String()
}

// Is makes a *FieldError match [ErrInvalidDocument].
func (e *FieldError) Is(target error) bool { return target == ErrInvalidDocument }
