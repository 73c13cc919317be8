package verifier

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/schemas"
)

// Check names one verification step. The values are a public contract:
// they appear in the CLI's and the HTTP endpoint's JSON output.
type Check string

// The built-in checks, in pipeline order. Every [Verifier] runs them.
const (
	CheckPrefix     Check = "prefix"
	CheckBase45     Check = "base45"
	CheckDecompress Check = "decompress"
	CheckCOSE       Check = "cose"
	CheckSignature  Check = "signature"
	CheckKeyUsage   Check = "key_usage"
	CheckValidity   Check = "validity"
	CheckSchema     Check = "schema"
	CheckValueSets  Check = "value_sets"
)

// Names reserved for checks configured with [WithCheck]. When configured
// they run after the built-in checks, revocation before rules, whatever
// the order of the options; other configured checks follow in option order.
const (
	CheckRevocation Check = "revocation" // the certificate is on a revocation list
	CheckRules      Check = "rules"      // business or acceptance rules
)

// Positions of the built-in checks in every Result.
const (
	iPrefix = iota
	iBase45
	iDecompress
	iCOSE
	iSignature
	iKeyUsage
	iValidity
	iSchema
	iValueSets
	numBuiltin
)

// builtin lists the built-in checks, indexed by position.
var builtin = [numBuiltin]Check{CheckPrefix, CheckBase45, CheckDecompress, CheckCOSE,
	CheckSignature, CheckKeyUsage, CheckValidity, CheckSchema, CheckValueSets}

// builtinOrder is the check order of a Verifier without configured checks
// (and of a zero Result). It is never modified.
var builtinOrder = builtin[:]

// maxChecks bounds the checks one Verifier runs: the built-in ones plus
// those configured with WithCheck.
const maxChecks = 16

// BuiltinChecks returns the checks every Verifier runs, in pipeline order,
// as a fresh slice. [Verifier.Checks] also lists the configured ones.
func BuiltinChecks() []Check { return append([]Check(nil), builtinOrder...) }

// Status is the outcome of one check.
type Status uint8

// Statuses. The zero value is StatusSkip: a check that did not run because
// a check it depends on failed.
const (
	StatusSkip Status = iota
	StatusPass
	StatusFail
)

// String returns "skip", "pass" or "fail", and "Status(n)" for any other
// value.
func (s Status) String() string {
	switch s {
	case StatusSkip:
		return "skip"
	case StatusPass:
		return "pass"
	case StatusFail:
		return "fail"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText implements encoding.TextMarshaler. It fails for a value that
// is not one of the Status constants.
func (s Status) MarshalText() ([]byte, error) {
	if s > StatusFail {
		return nil, &Error{Reason: ReasonInternal, Detail: "unknown status " + s.String()}
	}
	return []byte(s.String()), nil
}

// Reason is a stable, machine-readable code for a failed check. Apps and
// the HTTP endpoint switch on it, never on message text.
type Reason string

// Reasons, grouped by the check that reports them.
const (
	ReasonNone Reason = ""

	// ReasonInternal: the verification did not complete (a zero or
	// hand-built Result, or a configured check that failed without a
	// reason). It never means the certificate is valid.
	ReasonInternal Reason = "internal_error"

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
	ReasonExpired             Reason = "expired"               // validity: exp has passed, or exp is before iat
	ReasonOutsideSignerWindow Reason = "outside_signer_window" // validity: iat or exp outside the DSC's validity

	ReasonSchema Reason = "schema" // schema: the payload breaks the DCC JSON schema

	ReasonValueSet Reason = "value_set" // value_sets: a coded member is not in its EU value set
)

// CheckResult is the outcome of one check.
type CheckResult struct {
	Check  Check
	Status Status
	Reason Reason // set when Status is StatusFail
	Err    error  // set when Status is StatusFail: an *Error
}

// Warning is something a caller should know about a certificate that does
// not make it invalid. Code is stable; Detail is for people.
type Warning struct {
	Code   WarningCode `json:"code"`
	Detail string      `json:"detail"`
}

// WarningCode is a stable, machine-readable code for a [Warning].
type WarningCode string

// Warning codes.
const (
	// WarningSignerKeyUsage: the DSC that signed has a KeyUsage extension
	// without digitalSignature. It was trusted explicitly, so its
	// signature counts.
	WarningSignerKeyUsage WarningCode = "signer_key_usage"
)

// Certificate is the content of a certificate whose signature verified
// with a trusted DSC. [Result.Certificate] returns it only when every
// check passed; a [CertificateCheck] receives it after the built-in checks
// passed. Nothing in it comes from an unverified message.
type Certificate struct {
	KID       []byte           // key identifier from the message
	Alg       keys.Algorithm   // algorithm of the DSC that verified the signature
	Signer    *keys.TrustEntry // the DSC that verified the signature
	Signature []byte           // the COSE_Sign1 signature (revocation lists hash it)
	Issuer    string           // CWT iss
	IssuedAt  time.Time        // CWT iat
	ExpiresAt time.Time        // CWT exp
	CheckedAt time.Time        // the instant every time check used
	Type      schemas.CertType // vaccination, test or recovery

	// DCC is the decoded eu_dcc_v1 payload when it fits the schema's Go
	// types (every 1.3 payload does), or nil.
	DCC *schemas.DCC

	claims []byte // the CWT claims as received and verified
}

// RawDCC returns the CBOR of the eu_dcc_v1 object as signed. It is not on
// the hot path.
func (c *Certificate) RawDCC() []byte { return rawDCC(c.claims) }

// PayloadJSON renders the eu_dcc_v1 object as JSON, from the signed CBOR
// (so it also works for payloads that do not fit the schema types).
// Date-time tags are dropped; byte strings become base64. It is not on the
// hot path.
func (c *Certificate) PayloadJSON() ([]byte, error) { return payloadJSON(c.claims) }

// Result reports a verification: the outcome of every check, and the
// certificate when it is valid. Build one with [Verifier.Verify]; a zero
// Result is invalid with [ReasonInternal]. All methods are safe on a nil
// *Result, which is invalid too.
//
// What an invalid Result offers follows what was verified: the outcome of
// each check, the kid from the message header, and once the signature
// verified, the signer and the CWT times (to say "expired on ..."). The
// payload (holder's name, birth date, ...) only through [Result.Certificate]
// of a valid Result. Diagnostics on an unverified payload are only through
// the accessors named Unverified...
type Result struct {
	order  []Check // the checks reported, in pipeline order; nil means builtinOrder
	checks [maxChecks]checkState

	at        time.Time
	kid       []byte
	authentic bool // the signature verified with a trusted DSC
	cert      Certificate
	warnings  []Warning

	unverifiedClaims []byte // the CWT claims as received, for the Unverified accessors
}

type checkState struct {
	status Status
	err    *Error
}

func (r *Result) checkOrder() []Check {
	if r == nil || r.order == nil {
		return builtinOrder
	}
	return r.order
}

// index returns the position of c, or -1.
func (r *Result) index(c Check) int {
	for i, x := range r.checkOrder() {
		if x == c {
			return i
		}
	}
	return -1
}

func (r *Result) outcome(i int) CheckResult {
	out := CheckResult{Check: r.checkOrder()[i]}
	if r == nil {
		return out
	}
	s := r.checks[i]
	out.Status = s.status
	if s.err != nil {
		out.Reason, out.Err = s.err.Reason, s.err
	}
	return out
}

// Checks returns the outcome of every check the verifier runs, in pipeline
// order, as a fresh slice.
func (r *Result) Checks() []CheckResult {
	order := r.checkOrder()
	out := make([]CheckResult, len(order))
	for i := range order {
		out[i] = r.outcome(i)
	}
	return out
}

// Outcome returns the outcome of check c; ok is false when the verifier
// does not run c.
func (r *Result) Outcome(c Check) (res CheckResult, ok bool) {
	i := r.index(c)
	if i < 0 {
		return CheckResult{Check: c}, false
	}
	return r.outcome(i), true
}

// Status returns the outcome of check c: [StatusSkip] when it did not run,
// including when the verifier does not run c at all.
func (r *Result) Status(c Check) Status {
	res, _ := r.Outcome(c)
	return res.Status
}

// Valid reports whether every check passed.
func (r *Result) Valid() bool {
	if r == nil {
		return false
	}
	for i := range r.checkOrder() {
		if r.checks[i].status != StatusPass {
			return false
		}
	}
	return true
}

// firstFailure returns the first failed check's error in pipeline order,
// or nil.
func (r *Result) firstFailure() *Error {
	if r == nil {
		return nil
	}
	for i := range r.checkOrder() {
		if s := r.checks[i]; s.status == StatusFail && s.err != nil {
			return s.err
		}
	}
	return nil
}

// errIncomplete reports a Result that is neither valid nor failed.
var errIncomplete = &Error{Reason: ReasonInternal, Detail: "verification did not complete"}

// Err returns the first failure in pipeline order as an *Error, an *Error
// with [ReasonInternal] when the Result is not valid but has no failed
// check (a zero Result), or nil when the Result is valid.
func (r *Result) Err() error {
	if e := r.firstFailure(); e != nil {
		return e
	}
	if !r.Valid() {
		return errIncomplete
	}
	return nil
}

// Reason returns the reason code of the first failed check, or
// [ReasonInternal] for an invalid Result without one, or "" when valid.
func (r *Result) Reason() Reason {
	if e := r.firstFailure(); e != nil {
		return e.Reason
	}
	if !r.Valid() {
		return ReasonInternal
	}
	return ReasonNone
}

// CheckedAt returns the instant every time check used.
func (r *Result) CheckedAt() time.Time {
	if r == nil {
		return time.Time{}
	}
	return r.at
}

// KID returns the key identifier from the message's header, or nil. It is
// what the message claims: only once the signature verified is it the kid
// of a trusted DSC.
func (r *Result) KID() []byte {
	if r == nil {
		return nil
	}
	return bytes.Clone(r.kid)
}

// Authentic reports whether the signature verified with a trusted DSC. An
// authentic Result may still be invalid (expired, wrong key usage, ...).
func (r *Result) Authentic() bool { return r != nil && r.authentic }

// Signer returns the DSC that verified the signature, or nil.
func (r *Result) Signer() *keys.TrustEntry {
	if !r.Authentic() {
		return nil
	}
	return r.cert.Signer
}

// Alg returns the algorithm of the DSC that verified the signature, or
// [keys.AlgNone].
func (r *Result) Alg() keys.Algorithm {
	if !r.Authentic() {
		return keys.AlgNone
	}
	return r.cert.Alg
}

// Issuer returns the CWT iss of an authentic message, or "".
func (r *Result) Issuer() string {
	if !r.Authentic() {
		return ""
	}
	return r.cert.Issuer
}

// IssuedAt returns the CWT iat of an authentic message, or the zero time.
func (r *Result) IssuedAt() time.Time {
	if !r.Authentic() {
		return time.Time{}
	}
	return r.cert.IssuedAt
}

// ExpiresAt returns the CWT exp of an authentic message, or the zero time.
func (r *Result) ExpiresAt() time.Time {
	if !r.Authentic() {
		return time.Time{}
	}
	return r.cert.ExpiresAt
}

// Type returns the certificate type of an authentic message, or
// [schemas.TypeUnknown].
func (r *Result) Type() schemas.CertType {
	if !r.Authentic() {
		return schemas.TypeUnknown
	}
	return r.cert.Type
}

// Certificate returns the verified certificate when every check passed,
// and nil otherwise. It points into r: do not modify it.
func (r *Result) Certificate() *Certificate {
	if !r.Valid() {
		return nil
	}
	return &r.cert
}

// DCC returns the decoded payload of a valid Result, or nil. It is
// Certificate().DCC.
func (r *Result) DCC() *schemas.DCC {
	if c := r.Certificate(); c != nil {
		return c.DCC
	}
	return nil
}

// Warnings returns what a caller should know about an authentic
// certificate beyond its validity, as a fresh slice.
func (r *Result) Warnings() []Warning {
	if !r.Authentic() {
		return nil
	}
	return append([]Warning(nil), r.warnings...)
}

// UnverifiedRawDCC returns the CBOR of the eu_dcc_v1 object as received,
// whether or not its signature verified, or nil when the claims did not
// decode. It is for diagnostics and conformance testing: nothing from it
// may be shown or used as if it were genuine.
func (r *Result) UnverifiedRawDCC() []byte {
	if r == nil {
		return nil
	}
	return rawDCC(r.unverifiedClaims)
}

// UnverifiedPayloadJSON renders [Result.UnverifiedRawDCC] as JSON, like
// [Certificate.PayloadJSON]. The same warning applies: it is not verified.
func (r *Result) UnverifiedPayloadJSON() ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	return payloadJSON(r.unverifiedClaims)
}

func rawDCC(claims []byte) []byte {
	if claims == nil {
		return nil
	}
	c, err := hcert.DecodeClaims(claims)
	if err != nil {
		return nil
	}
	return c.HCert.DCC
}

func payloadJSON(claims []byte) ([]byte, error) {
	raw := rawDCC(claims)
	if raw == nil {
		return nil, nil
	}
	v, err := hcert.DecodeGeneric(raw)
	if err != nil {
		return nil, &Error{Reason: ReasonInternal, Detail: "the payload has no JSON form"}
	}
	j, err := hcert.JSONValue(v)
	if err != nil {
		return nil, &Error{Reason: ReasonInternal, Detail: "the payload has no JSON form"}
	}
	return json.Marshal(j)
}

// Error is a failed check. It is the only error type [Verifier.Verify]
// returns. Messages name the check and the problem, never payload data.
type Error struct {
	Check  Check // "" for ReasonInternal outside any check
	Reason Reason
	Detail string // human-readable, free of personal data

	// Err is the cause when it is part of this module's API or of a
	// configured [CertificateCheck]: a *schemas.ValidationError for the
	// schema and value_sets checks. Errors of dependencies (go-cose, the
	// CBOR decoder) are summarised in Detail, never wrapped.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("verifier: ")
	if e.Check != "" {
		b.WriteString(string(e.Check))
		b.WriteString(" check failed (")
		b.WriteString(string(e.Reason))
		b.WriteString(")")
	} else {
		b.WriteString(string(e.Reason))
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns the cause, if any (see Err).
func (e *Error) Unwrap() error { return e.Err }
