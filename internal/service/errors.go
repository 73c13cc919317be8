package service

import (
	"errors"
	"strings"

	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/textcheck"
	"github.com/vaxcert/vaxcert/issuer"
)

// Errors of the service. Callers test them with [errors.Is]; messages never
// contain personal data (names, birth dates, national ID numbers).
var (
	// ErrForbidden: the actor's role or site does not permit the action.
	ErrForbidden = errors.New("service: forbidden")
	// ErrNotFound (the same value as [store.ErrNotFound]): no such record,
	// certificate, review, correction, token or job — or one the caller may
	// not see, so that citizens cannot probe for other citizens' data.
	ErrNotFound = store.ErrNotFound
	// ErrConflict (the same value as [store.ErrConflict]): a concurrent
	// change won the race, or the change breaks a uniqueness rule; retrying
	// later may succeed.
	ErrConflict = store.ErrConflict
	// ErrBusy (the same value as [store.ErrBusy], and matching
	// ErrConflict): concurrent writers kept colliding through every retry;
	// nothing was written, and the same request retried a moment later
	// succeeds (the HTTP layer answers 503 with Retry-After).
	ErrBusy = store.ErrBusy
	// ErrInvalid: the input breaks a rule; a [*ValidationError] names the
	// fields.
	ErrInvalid = errors.New("service: invalid input")
	// ErrImmutable: the change would alter a finalised (or void) record;
	// use [Service.AmendRecord].
	ErrImmutable = errors.New("service: finalised records change only by amendment")
	// ErrContradictory: the person's finalised records contradict each other
	// (for example two different shots with the same dose number), so no
	// certificate is issued until a reviewer resolves the review.
	ErrContradictory = errors.New("service: contradictory finalised records")
	// ErrNoRecords: the person has no finalised record to certify.
	ErrNoRecords = errors.New("service: no finalised records")
	// ErrUVCIReused: the issuer derived a UVCI that an earlier certificate
	// of the person already carries (the issuer derives UVCIs from the
	// record content, so reverting a correction reproduces a revoked one).
	// Nothing is signed into the store.
	ErrUVCIReused = errors.New("service: derived uvci belongs to an earlier certificate")
	// ErrUnauthenticated: the staff token is unknown or revoked.
	ErrUnauthenticated = errors.New("service: unknown or revoked token")
	// ErrTooManyRows: a bulk upload has more than limits.MaxBatchRows rows;
	// the rows before the limit were processed and reported.
	ErrTooManyRows = errors.New("service: too many rows in upload")
	// ErrMalformed: a bulk-upload row (or the CSV header) is not valid
	// NDJSON or CSV.
	ErrMalformed = errors.New("service: malformed row")
	// ErrLineTooLong: a bulk-upload row is longer than limits.MaxBatchLine.
	ErrLineTooLong = errors.New("service: row too long")
)

// ValidationError lists the rejected fields of an input. It matches
// [ErrInvalid].
type ValidationError struct {
	Fields []*issuer.FieldError
}

func (e *ValidationError) Error() string {
	names := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		names[i] = f.Field + " (" + Code(f.Err) + ")"
	}
	return "service: invalid input: " + strings.Join(names, ", ")
}

// Is reports whether target is [ErrInvalid].
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(field string, err error) *ValidationError {
	return &ValidationError{Fields: []*issuer.FieldError{{Field: field, Err: err}}}
}

// errorOfCode is the inverse of [Code] for the codes of stored row
// outcomes.
func errorOfCode(code string) error {
	for _, c := range codes {
		if c.code == code {
			return c.err
		}
	}
	return errors.New("service: " + code)
}

var codes = []struct {
	err  error
	code string
}{
	{issuer.ErrMissing, "missing"},
	{textcheck.ErrControl, "control_character"},
	{issuer.ErrValueSet, "value_set"},
	{issuer.ErrInactive, "inactive"},
	{issuer.ErrContradictory, "contradictory"},
	{ErrContradictory, "contradictory"},
	{ErrForbidden, "forbidden"},
	{ErrImmutable, "immutable"},
	{ErrMalformed, "malformed"},
	{ErrLineTooLong, "too_long"},
	{ErrNotFound, "not_found"},
	{ErrConflict, "conflict"},
	{issuer.ErrInvalid, "invalid"},
	{ErrInvalid, "invalid"},
}

// Code returns a stable short name for an error of this package or of
// [issuer] field validation, for API responses: "missing", "invalid",
// "value_set", "inactive", "contradictory", "forbidden", "immutable",
// "malformed", "too_long", "not_found", "conflict", or "error".
func Code(err error) string {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "error"
}
