package verifier

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/veraison/go-cose"

	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/schemas"
)

// TrustStore looks up document signer certificates by kid. Lookup returns
// every entry with that kid (kids are 8 bytes, so they can collide), or
// none. [keys.TrustList] implements it.
type TrustStore interface {
	Lookup(kid []byte) []*keys.TrustEntry
}

var _ TrustStore = (*keys.TrustList)(nil)

// PayloadValidator validates an eu_dcc_v1 object that does not fit the
// schema's Go types (unknown fields, unexpected types), given as generic
// CBOR-decoded values. It returns nil when the payload is valid.
type PayloadValidator interface {
	ValidateGeneric(doc any) error
}

// Verifier verifies HC1 payloads. It is safe for concurrent use.
type Verifier struct {
	trust     TrustStore
	skew      time.Duration
	valueSets *schemas.ValueSets
	generic   PayloadValidator

	// coseVerifiers caches one go-cose verifier per trust entry: building
	// one validates the public key, which costs more than the rest of the
	// pipeline but the signature. Bounded by limits.MaxTrustEntries.
	coseVerifiers sync.Map // *keys.TrustEntry → cose.Verifier
	cached        atomic.Int64
}

// Option configures a Verifier.
type Option func(*Verifier) error

// DefaultClockSkew is the clock-skew allowance applied to "now" when it is
// compared with iat and exp.
const DefaultClockSkew = 0

// MaxClockSkew is the largest allowance [WithClockSkew] accepts.
const MaxClockSkew = 24 * time.Hour

// WithClockSkew allows the verifying device's clock to be off by up to d
// when comparing now with iat and exp. The DSC window (notBefore ≤ iat,
// exp ≤ notAfter) is exact.
func WithClockSkew(d time.Duration) Option {
	return func(v *Verifier) error {
		if d < 0 || d > MaxClockSkew {
			return fmt.Errorf("verifier: clock skew %v outside [0, %v]", d, MaxClockSkew)
		}
		v.skew = d
		return nil
	}
}

// WithValueSets replaces the embedded EU value sets, for example with a
// newer release loaded at run time.
func WithValueSets(vs *schemas.ValueSets) Option {
	return func(v *Verifier) error {
		if vs == nil {
			return errors.New("verifier: nil value sets")
		}
		v.valueSets = vs
		return nil
	}
}

// WithGenericValidator sets the validator for payloads that do not fit the
// schema's Go types. Without one such payloads fail the schema check.
func WithGenericValidator(p PayloadValidator) Option {
	return func(v *Verifier) error {
		if p == nil {
			return errors.New("verifier: nil generic validator")
		}
		v.generic = p
		return nil
	}
}

// New returns a Verifier that trusts the DSCs in trust.
func New(trust TrustStore, opts ...Option) (*Verifier, error) {
	if trust == nil {
		return nil, errors.New("verifier: nil trust store")
	}
	v := &Verifier{trust: trust, skew: DefaultClockSkew, valueSets: schemas.DefaultValueSets()}
	for _, o := range opts {
		if err := o(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Verify checks an HC1 QR text at the instant now. It always returns a
// Result, reporting every check; err is nil exactly when the Result is
// valid, and otherwise the first failure as an *Error.
func (v *Verifier) Verify(qr []byte, now time.Time) (*Result, error) {
	r := &Result{CheckedAt: now}
	v.run(r, qr)
	return r, r.Err()
}

// fail records a failed check.
func (r *Result) fail(c Check, reason Reason, detail string, err error) {
	r.Checks[c.index()] = CheckResult{Status: StatusFail, Reason: reason,
		Err: &Error{Check: c, Reason: reason, Detail: detail, Err: err}}
}

func (r *Result) pass(c Check) { r.Checks[c.index()].Status = StatusPass }

// codecFail records a failure from the hcert codec, as too_large or the
// stage's own reason.
func (r *Result) codecFail(c Check, reason Reason, err error) {
	if errors.Is(err, hcert.ErrTooLarge) {
		reason = ReasonTooLarge
	}
	r.fail(c, reason, err.Error(), err)
}

// scratch holds the transport buffers of one verification. Nothing in a
// Result points into them (the COSE decoder copies what it keeps), so they
// are pooled.
type scratch struct{ zlib, cose []byte }

var scratchPool = sync.Pool{New: func() any {
	return &scratch{zlib: make([]byte, 0, 1024), cose: make([]byte, 0, 2048)}
}}

func (v *Verifier) run(r *Result, qr []byte) {
	b45, err := hcert.TrimPrefix(qr)
	if err != nil {
		r.codecFail(CheckPrefix, ReasonBadPrefix, err)
		return
	}
	r.pass(CheckPrefix)

	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	s.zlib, err = hcert.AppendBase45Decode(s.zlib[:0], b45)
	if err != nil {
		r.codecFail(CheckBase45, ReasonBadBase45, err)
		return
	}
	r.pass(CheckBase45)

	s.cose, err = hcert.AppendInflate(s.cose[:0], s.zlib, limits.MaxCOSE)
	if err != nil {
		r.codecFail(CheckDecompress, ReasonBadCompression, err)
		return
	}
	r.pass(CheckDecompress)

	v.verifyCOSE(r, s.cose)
}

// verifyCOSE runs the cose, signature, key_usage, validity and schema
// checks on a COSE_Sign1 message.
func (v *Verifier) verifyCOSE(r *Result, coseBytes []byte) {
	msg, err := hcert.ParseSign1(coseBytes)
	if err != nil {
		r.codecFail(CheckCOSE, ReasonBadCOSE, err)
		return
	}
	r.KID = bytes.Clone(hcert.KID(msg)) // msg aliases the pooled buffer

	// Reference: hcert_spec.md §6.3: the signature is verified before the
	// payload is processed.
	v.verifySignature(r, msg)

	r.payload = bytes.Clone(msg.Payload)
	var (
		claims *hcert.Claims
		dcc    *schemas.DCC
	)
	if !hcert.MayHoldNull(msg.Payload) {
		claims, dcc, _ = hcert.DecodeClaimsDCC(msg.Payload) // the hot path: one decode
	}
	if dcc == nil {
		if claims, err = hcert.DecodeClaims(msg.Payload); err != nil {
			r.codecFail(CheckCOSE, ReasonBadCWT, err)
			return
		}
	}
	r.pass(CheckCOSE)
	r.Issuer = claims.Issuer
	r.IssuedAt = time.Unix(int64(*claims.IssuedAt), 0).UTC()
	r.ExpiresAt = time.Unix(int64(*claims.Expires), 0).UTC()

	if dcc != nil {
		v.checkTyped(r, dcc)
	} else {
		v.checkGeneric(r, claims.HCert.DCC)
	}
	if r.Status(CheckSignature) != StatusPass {
		return // key_usage and validity need the DSC that signed
	}
	v.checkKeyUsage(r)
	v.checkValidity(r)
}

func (v *Verifier) verifySignature(r *Result, msg *cose.Sign1Message) {
	if len(r.KID) == 0 {
		r.fail(CheckSignature, ReasonUnknownKID, "no kid in the COSE headers", nil)
		return
	}
	candidates := v.trust.Lookup(r.KID)
	if len(candidates) == 0 {
		r.fail(CheckSignature, ReasonUnknownKID, "no trusted DSC has this kid", nil)
		return
	}
	var errs []error
	reason := ReasonAlgMismatch
	for _, e := range candidates {
		if e.Alg == keys.AlgNone {
			errs = append(errs, fmt.Errorf("DSC key type is not allowed for ES256 or PS256"))
			continue
		}
		verifier, err := v.coseVerifier(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = msg.Verify(nil, verifier)
		if err == nil {
			r.Signer, r.Alg = e, e.Alg
			r.pass(CheckSignature)
			return
		}
		if !errors.Is(err, cose.ErrAlgorithmMismatch) && !errors.Is(err, cose.ErrAlgorithmNotFound) {
			reason = ReasonBadSignature
		}
		errs = append(errs, err)
	}
	detail := "signature does not verify with any DSC for this kid"
	if reason == ReasonAlgMismatch {
		detail = "the alg header does not match the trusted key"
	}
	r.fail(CheckSignature, reason, detail, errors.Join(errs...))
}

// coseVerifier returns the cached go-cose verifier of a trust entry.
func (v *Verifier) coseVerifier(e *keys.TrustEntry) (cose.Verifier, error) {
	if cv, ok := v.coseVerifiers.Load(e); ok {
		return cv.(cose.Verifier), nil
	}
	cv, err := cose.NewVerifier(cose.Algorithm(e.Alg), e.Key)
	if err != nil {
		return nil, err
	}
	if v.cached.Add(1) > limits.MaxTrustEntries { // trust lists were swapped many times: start over
		v.coseVerifiers.Clear()
		v.cached.Store(1)
	}
	v.coseVerifiers.Store(e, cv)
	return cv, nil
}

func (v *Verifier) checkKeyUsage(r *Result) {
	if !r.Signer.Permits(r.Type) {
		r.fail(CheckKeyUsage, ReasonKeyUsage,
			fmt.Sprintf("the DSC's extended key usage does not permit %q certificates", r.Type), nil)
		return
	}
	r.pass(CheckKeyUsage)
}

func (v *Verifier) checkValidity(r *Result) {
	s := r.Signer
	switch now := r.CheckedAt; {
	case r.IssuedAt.Before(s.NotBefore) || r.ExpiresAt.After(s.NotAfter):
		r.fail(CheckValidity, ReasonOutsideSignerWindow, "iat or exp lies outside the DSC's validity", nil)
	case now.Add(v.skew).Before(r.IssuedAt):
		r.fail(CheckValidity, ReasonNotYetValid, "issued after the verification time", nil)
	case now.Add(-v.skew).After(r.ExpiresAt):
		r.fail(CheckValidity, ReasonExpired, "expired before the verification time", nil)
	default:
		r.pass(CheckValidity)
	}
}

// checkTyped runs the schema check on a payload decoded into the schema's
// Go types. The typed checks are exact unless an empty string may stand for
// an absent member, which the generic form settles.
func (v *Verifier) checkTyped(r *Result, dcc *schemas.DCC) {
	r.DCC, r.Type = dcc, dcc.Type()
	err := dcc.Validate(v.valueSets)
	if err == nil && dcc.MayMissMembers() {
		var doc any
		if doc, err = hcert.DecodeGeneric(r.RawDCC()); err == nil {
			err = schemas.CheckMembers(doc)
		}
	}
	if err != nil {
		r.fail(CheckSchema, ReasonSchema, err.Error(), err)
		return
	}
	r.pass(CheckSchema)
}

// checkGeneric runs the schema check on a payload that did not decode in
// one pass: one holding a null somewhere, or a member of the wrong type.
func (v *Verifier) checkGeneric(r *Result, raw []byte) {
	if !hcert.MayHoldNull(raw) {
		if dcc, err := hcert.DecodeDCC(raw); err == nil {
			v.checkTyped(r, dcc)
			return
		}
	}
	doc, err := hcert.DecodeGeneric(raw)
	if err != nil {
		r.fail(CheckSchema, ReasonSchema, err.Error(), err)
		return
	}
	r.Type = genericType(doc)
	if dcc, err := hcert.DecodeDCC(raw); err == nil {
		r.DCC = dcc // for display; the verdict below is the generic one
	}
	switch {
	case holdsNull(doc):
		r.fail(CheckSchema, ReasonSchema, "the payload holds a null or undefined value", nil)
	case v.generic == nil:
		r.fail(CheckSchema, ReasonSchema, "the payload does not fit the DCC schema types", nil)
	default:
		if err := v.generic.ValidateGeneric(doc); err != nil {
			r.fail(CheckSchema, ReasonSchema, err.Error(), err)
			return
		}
		r.pass(CheckSchema)
	}
}

// holdsNull reports whether a generic value is or contains nil. The DCC
// schema allows no nulls.
func holdsNull(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[any]any:
		for _, e := range x {
			if holdsNull(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if holdsNull(e) {
				return true
			}
		}
	}
	return false
}

// genericType finds the certificate type of a generic payload.
func genericType(doc any) schemas.CertType {
	m, ok := doc.(map[any]any)
	if !ok {
		return schemas.TypeUnknown
	}
	t, n := schemas.TypeUnknown, 0
	for key, typ := range map[string]schemas.CertType{"v": schemas.TypeVaccination, "t": schemas.TypeTest, "r": schemas.TypeRecovery} {
		if x, ok := m[key]; ok && x != nil {
			t, n = typ, n+1
		}
	}
	if n != 1 {
		return schemas.TypeUnknown
	}
	return t
}
