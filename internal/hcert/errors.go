package hcert

import (
	"errors"
	"fmt"
)

// Sentinel errors, one per pipeline stage. Every error this package returns
// matches exactly one of them with [errors.Is].
var (
	ErrPrefix     = errors.New("hcert: missing or unsupported context prefix")
	ErrBase45     = errors.New("hcert: invalid base45")
	ErrDecompress = errors.New("hcert: invalid zlib stream")
	ErrTooLarge   = errors.New("hcert: input too large")
	ErrCOSE       = errors.New("hcert: invalid COSE_Sign1 message")
	ErrCWT        = errors.New("hcert: invalid CWT claims")
)

// Base45Error reports where a Base45 text is invalid. It matches [ErrBase45].
type Base45Error struct {
	Offset int    // index of the first character of the offending group
	Reason string // "character outside the alphabet", "group value overflow", "length is 1 mod 3"
}

func (e *Base45Error) Error() string {
	return fmt.Sprintf("hcert: invalid base45 at offset %d: %s", e.Offset, e.Reason)
}

// Is makes a *Base45Error match [ErrBase45].
func (e *Base45Error) Is(target error) bool { return target == ErrBase45 }
