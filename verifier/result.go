package verifier

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/schemas"
)

// Check names one verification step. The values are a public contract:
// they appear in the CLI's and the HTTP endpoint's JSON output.
type Check string

// The checks, in pipeline order.
const (
	CheckPrefix     Check = "prefix"
	CheckBase45     Check = "base45"
	CheckDecompress Check = "decompress"
	CheckCOSE       Check = "cose"
	CheckSignature  Check = "signature"
	CheckKeyUsage   Check = "key_usage"
	CheckValidity   Check = "validity"
	CheckSchema     Check = "schema"
)

// Checks lists every check in pipeline order.
var Checks = [...]Check{CheckPrefix, CheckBase45, CheckDecompress, CheckCOSE,
	CheckSignature, CheckKeyUsage, CheckValidity, CheckSchema}

const numChecks = len(Checks)

func (c Check) index() int {
	for i, x := range Checks {
		if x == c {
			return i
		}
	}
	panic("verifier: unknown check " + string(c))
}

// Status is the outcome of one check.
type Status uint8

// Statuses. The zero value is StatusSkip: a check that did not run.
const (
	StatusSkip Status = iota
	StatusPass
	StatusFail
)

// String returns "skip", "pass" or "fail".
func (s Status) String() string { return [...]string{"skip", "pass", "fail"}[s] }

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reason is a stable, machine-readable code for a failed check. Apps and
// the HTTP endpoint switch on it, never on message text.
type Reason string

// Reasons, grouped by the check that reports them.
const (
	ReasonNone Reason = ""

	ReasonTooLarge  Reason = "too_large"  // prefix, base45, decompress: a size limit was exceeded
	ReasonBadPrefix Reason = "bad_prefix" // prefix: not "HC1:"

	ReasonBadBase45 Reason = "bad_base45" // base45

	ReasonBadCompression Reason = "bad_compression" // decompress

	ReasonBadCOSE Reason = "bad_cose" // cose: not a COSE_Sign1 message
	ReasonBadCWT  Reason = "bad_cwt"  // cose: the CWT claims are malformed or incomplete

	ReasonUnknownKID   Reason = "unknown_kid"   // signature: no trusted DSC has the kid (or there is no kid)
	ReasonAlgMismatch  Reason = "alg_mismatch"  // signature: the alg header does not match the trusted key, or the key is unsupported
	ReasonBadSignature Reason = "bad_signature" // signature: no candidate DSC verifies the signature

	ReasonKeyUsage Reason = "key_usage" // key_usage: the DSC may not sign this type of certificate

	ReasonNotYetValid         Reason = "not_yet_valid"         // validity: iat is in the future
	ReasonExpired             Reason = "expired"               // validity: exp has passed
	ReasonOutsideSignerWindow Reason = "outside_signer_window" // validity: iat or exp outside the DSC's validity

	ReasonSchema Reason = "schema" // schema: the payload breaks the schema or a value set
)

// CheckResult is the outcome of one check.
type CheckResult struct {
	Status Status
	Reason Reason // set when Status is StatusFail
	Err    error  // set when Status is StatusFail; an *Error
}

// Result reports a verification. Fields after Checks are filled as far as
// the pipeline got: a failed signature still reports the decoded claims
// (for diagnosis), but nothing in an invalid Result may be trusted.
type Result struct {
	Checks    [numChecks]CheckResult
	CheckedAt time.Time // the instant every time check used

	KID       []byte           // key identifier from the message
	Alg       keys.Algorithm   // algorithm of the DSC that verified the signature
	Signer    *keys.TrustEntry // the DSC that verified the signature
	Issuer    string           // CWT iss
	IssuedAt  time.Time        // CWT iat
	ExpiresAt time.Time        // CWT exp
	Type      schemas.CertType

	// DCC is the decoded payload when it fits the schema's Go types.
	DCC *schemas.DCC

	payload []byte // the CWT claims as received
}

// RawDCC returns the CBOR of the eu_dcc_v1 object as received, or nil when
// the claims did not decode. It is not on the hot path.
func (r *Result) RawDCC() []byte {
	if r.payload == nil {
		return nil
	}
	c, err := hcert.DecodeClaims(r.payload)
	if err != nil {
		return nil
	}
	return c.HCert.DCC
}

// Valid reports whether every check passed.
func (r *Result) Valid() bool {
	for _, c := range r.Checks {
		if c.Status != StatusPass {
			return false
		}
	}
	return true
}

// Status returns the outcome of check c.
func (r *Result) Status(c Check) Status { return r.Checks[c.index()].Status }

// Err returns the first failure in pipeline order as an *Error, or nil
// when the result is valid.
func (r *Result) Err() error {
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			return c.Err
		}
	}
	if !r.Valid() {
		return &Error{Check: CheckPrefix, Reason: ReasonBadPrefix, Detail: "verification did not complete"}
	}
	return nil
}

// Reason returns the reason code of the first failed check, or "".
func (r *Result) Reason() Reason {
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			return c.Reason
		}
	}
	return ReasonNone
}

// PayloadJSON renders the eu_dcc_v1 object as JSON, from the raw CBOR (so
// it also works for payloads that do not fit the schema types). Date-time
// tags are dropped; byte strings become base64. It is not on the hot path.
func (r *Result) PayloadJSON() ([]byte, error) {
	raw := r.RawDCC()
	if raw == nil {
		return nil, nil
	}
	v, err := hcert.DecodeGeneric(raw)
	if err != nil {
		return nil, err
	}
	j, err := hcert.JSONValue(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(j)
}

// Error is a failed check. It is the only error type [Verifier.Verify]
// returns. Messages name the check and the problem, never payload data.
type Error struct {
	Check  Check
	Reason Reason
	Detail string // human-readable, free of personal data
	Err    error  // the underlying error(s), if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("verifier: ")
	b.WriteString(string(e.Check))
	b.WriteString(" check failed (")
	b.WriteString(string(e.Reason))
	b.WriteString(")")
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
