package lists

import (
	"errors"
	"strings"
)

// Reason is a stable, machine-readable code for a list that was refused.
type Reason string

// Reasons. Each names one way a list fails; apps switch on them.
const (
	ReasonMalformed   Reason = "list_malformed"     // not a compact JWS, bad JSON, bad member
	ReasonTooLarge    Reason = "list_too_large"     // over a size or count limit
	ReasonWrongKind   Reason = "list_wrong_kind"    // a revocation list where a trust list is due, or the reverse
	ReasonBadSig      Reason = "list_bad_signature" // the JWS signature does not verify
	ReasonWrongRoot   Reason = "list_wrong_root"    // the signer does not chain to the pinned CSCA, or is no list signer
	ReasonExpired     Reason = "list_expired"       // the list's exp has passed (a frozen list)
	ReasonNotYetValid Reason = "list_not_yet_valid" // the list's iat is in the future
	ReasonRollback    Reason = "list_rollback"      // an older list than the one already held
	ReasonMixed       Reason = "list_mixed_issuer"  // trust list and revocation list from different issuers
	ReasonBadDelta    Reason = "list_bad_delta"     // a delta that does not follow the list held
)

// Sentinel errors, one per reason; an *Error matches its sentinel with
// errors.Is.
var (
	ErrMalformed   = errors.New("lists: malformed list")
	ErrTooLarge    = errors.New("lists: list too large")
	ErrWrongKind   = errors.New("lists: wrong kind of list")
	ErrBadSig      = errors.New("lists: list signature does not verify")
	ErrWrongRoot   = errors.New("lists: list signer does not chain to the pinned root")
	ErrExpired     = errors.New("lists: list expired")
	ErrNotYetValid = errors.New("lists: list issued in the future")
	ErrRollback    = errors.New("lists: list older than the one held")
	ErrMixed       = errors.New("lists: lists from different issuers")
	ErrBadDelta    = errors.New("lists: delta does not follow the list held")
)

var sentinels = map[Reason]error{
	ReasonMalformed: ErrMalformed, ReasonTooLarge: ErrTooLarge, ReasonWrongKind: ErrWrongKind,
	ReasonBadSig: ErrBadSig, ReasonWrongRoot: ErrWrongRoot, ReasonExpired: ErrExpired,
	ReasonNotYetValid: ErrNotYetValid, ReasonRollback: ErrRollback, ReasonMixed: ErrMixed,
	ReasonBadDelta: ErrBadDelta,
}

// Error is a refused list. Messages never hold list content beyond
// sequence numbers and times.
type Error struct {
	Reason Reason
	Detail string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(sentinels[e.Reason].Error())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns the reason's sentinel and the underlying error.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{sentinels[e.Reason]}
	}
	return []error{sentinels[e.Reason], e.Err}
}

func fail(r Reason, detail string, err error) *Error {
	return &Error{Reason: r, Detail: detail, Err: err}
}
