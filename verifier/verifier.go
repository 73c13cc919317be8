package verifier

import (
	"crypto"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
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
// CBOR-decoded values, against the DCC JSON schema; value-set membership
// is the verifier's own value_sets check. It returns nil when the payload
// is valid, or preferably a *schemas.ValidationError.
type PayloadValidator interface {
	ValidateGeneric(doc any) error
}

// CertificateCheck is a check that runs after the built-in checks, on a
// certificate that passed all of them: a revocation list, business rules.
// Configure it with [WithCheck]. Implementations must be safe for
// concurrent use and must not modify the Certificate.
type CertificateCheck interface {
	// Name is the check's name in results and reports ([CheckRevocation],
	// [CheckRules] or a name of the caller's choosing, in snake_case). It
	// must not be a built-in check's name, and must not change.
	Name() Check
	// Check judges the certificate at c.CheckedAt. nil means pass. To
	// fail, return an *Error with a Reason (its Check is set to Name);
	// any other error fails the check with [ReasonInternal], wrapped.
	Check(c *Certificate) error
}

// Verifier verifies HC1 payloads. It is safe for concurrent use.
type Verifier struct {
	trust     TrustStore
	skew      time.Duration
	valueSets *schemas.ValueSets
	generic   PayloadValidator
	newCOSE   SignatureVerifierFunc // nil: cose.NewVerifier
	extra     []CertificateCheck    // configured checks, in pipeline order
	order     []Check               // every check, in pipeline order

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
// exp ≤ notAfter) is exact, and exp before iat is never valid.
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

// SignatureVerifierFunc builds the signature verifier of a trusted key for
// the algorithm the key decides (ES256 for P-256, PS256 for RSA; never the
// message). The verifier it returns must fail with an error wrapping
// cose.ErrVerification when a signature does not verify. A verifier that
// also implements cose.DigestVerifier, for ES256 or PS256, is given the
// SHA-256 digest of the Sig_structure (VerifyDigest) instead of the
// Sig_structure itself (Verify).
type SignatureVerifierFunc func(alg cose.Algorithm, key crypto.PublicKey) (cose.Verifier, error)

// WithSignatureVerifiers replaces the built-in signature verifiers
// (go-cose's, and for ES256 a cheaper one held to go-cose's verdicts), for
// example with the browser's WebCrypto under WebAssembly, where the Go
// implementation of P-256 is many times slower than native code
// (cmd/vaxcert-wasm). Everything else about the signature check is
// unchanged: the kid lookup, the algorithm taken from the trusted key, and
// the alg header checked against it.
func WithSignatureVerifiers(f SignatureVerifierFunc) Option {
	return func(v *Verifier) error {
		if f == nil {
			return errors.New("verifier: nil signature verifier func")
		}
		v.newCOSE = f
		return nil
	}
}

// WithCheck adds a check that runs after the built-in ones (see
// [CertificateCheck]). [CheckRevocation] runs before [CheckRules]; other
// names follow in the order of the options. Names must be unique.
func WithCheck(c CertificateCheck) Option {
	return func(v *Verifier) error {
		if c == nil {
			return errors.New("verifier: nil check")
		}
		name := c.Name()
		if !isCheckName(name) {
			return fmt.Errorf("verifier: check name %q is not snake_case", name)
		}
		for _, x := range v.order {
			if x == name {
				return fmt.Errorf("verifier: check %q configured twice or a built-in check", name)
			}
		}
		if len(v.order) >= maxChecks {
			return fmt.Errorf("verifier: more than %d checks", maxChecks)
		}
		v.extra = append(v.extra, c)
		v.order = append(v.order, name)
		return nil
	}
}

// isCheckName reports whether s is a non-empty snake_case name of at most
// 32 characters.
func isCheckName(s Check) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// rank orders configured checks: revocation, rules, then the rest.
func rank(c Check) int {
	switch c {
	case CheckRevocation:
		return 0
	case CheckRules:
		return 1
	}
	return 2
}

// New returns a Verifier that trusts the DSCs in trust.
func New(trust TrustStore, opts ...Option) (*Verifier, error) {
	if trust == nil {
		return nil, errors.New("verifier: nil trust store")
	}
	v := &Verifier{trust: trust, skew: DefaultClockSkew, valueSets: schemas.DefaultValueSets(),
		order: append(make([]Check, 0, maxChecks), builtinOrder...)}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("verifier: nil option")
		}
		if err := o(v); err != nil {
			return nil, err
		}
	}
	if len(v.extra) == 0 {
		v.order = builtinOrder
		return v, nil
	}
	sort.SliceStable(v.extra, func(i, j int) bool { return rank(v.extra[i].Name()) < rank(v.extra[j].Name()) })
	v.order = v.order[:numBuiltin]
	for _, c := range v.extra {
		v.order = append(v.order, c.Name())
	}
	v.order = slices.Clip(v.order)
	return v, nil
}

// Checks returns the checks this Verifier runs, in pipeline order, as a
// fresh slice: the built-in ones, then those configured with [WithCheck].
func (v *Verifier) Checks() []Check { return append([]Check(nil), v.order...) }

// Verify checks an HC1 QR text at the instant now. It always returns a
// Result, reporting every check; err is nil exactly when the Result is
// valid, and otherwise the first failure as an *Error.
//
// Reference: hcert_spec.md §6.3: the signature is verified before the
// payload is processed. A message whose signature does not verify skips
// every later check, and its Result holds nothing from the payload (but
// through the Unverified accessors).
func (v *Verifier) Verify(qr []byte, now time.Time) (*Result, error) {
	r := &Result{order: v.order, at: now}
	v.run(r, qr)
	return r, r.Err()
}

// fail records a failed check.
func (r *Result) fail(i int, reason Reason, detail string, cause error) {
	r.checks[i] = checkState{status: StatusFail,
		err: &Error{Check: r.order[i], Reason: reason, Detail: detail, Err: cause}}
}

func (r *Result) pass(i int) { r.checks[i].status = StatusPass }

// codecFail records a failure from the hcert codec, as too_large or the
// stage's own reason. The codec's errors are internal: only their text is
// kept.
func (r *Result) codecFail(i int, reason Reason, err error) {
	if errors.Is(err, hcert.ErrTooLarge) {
		reason = ReasonTooLarge
	}
	r.fail(i, reason, err.Error(), nil)
}

// schemaFail records a schema or value-set violation.
func (r *Result) schemaFail(i int, reason Reason, err error) {
	var ve *schemas.ValidationError
	if !errors.As(err, &ve) {
		r.fail(i, reason, err.Error(), nil)
		return
	}
	r.fail(i, reason, ve.Error(), ve)
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
		r.codecFail(iPrefix, ReasonBadPrefix, err)
		return
	}
	r.pass(iPrefix)

	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	s.zlib, err = hcert.AppendBase45Decode(s.zlib[:0], b45)
	if err != nil {
		r.codecFail(iBase45, ReasonBadBase45, err)
		return
	}
	r.pass(iBase45)

	s.cose, err = hcert.AppendInflate(s.cose[:0], s.zlib, limits.MaxCOSE)
	if err != nil {
		r.codecFail(iDecompress, ReasonBadCompression, err)
		return
	}
	r.pass(iDecompress)

	if v.verifyCOSE(r, s.cose) {
		v.runExtra(r)
	}
}

// verifyCOSE runs the cose, signature, key_usage, validity, schema and
// value_sets checks on a COSE_Sign1 message. It reports whether all passed.
func (v *Verifier) verifyCOSE(r *Result, coseBytes []byte) bool {
	msg, err := hcert.ParseSign1(coseBytes)
	if err != nil {
		r.codecFail(iCOSE, ReasonBadCOSE, err)
		return false
	}
	// msg aliases the pooled buffer: keep copies of the kid, the claims and
	// the signature, in one allocation.
	kid := hcert.KID(msg)
	own := make([]byte, 0, len(kid)+len(msg.Payload)+len(msg.Signature))
	own = append(append(append(own, kid...), msg.Payload...), msg.Signature...)
	r.kid = own[:len(kid):len(kid)]
	claimsCopy := own[len(kid) : len(kid)+len(msg.Payload) : len(kid)+len(msg.Payload)]
	sigCopy := own[len(kid)+len(msg.Payload):]
	if len(kid) == 0 {
		r.kid = nil
	}

	// Reference: hcert_spec.md §6.3: the signature is verified before the
	// payload is processed.
	v.verifySignature(r, msg)

	// The cose check covers the structure of the claims too, so the claims
	// are decoded (never used) when the signature failed.
	var (
		claims *hcert.Claims
		dcc    *schemas.DCC
	)
	if !hcert.MayHoldNull(msg.Payload) {
		claims, dcc, _ = hcert.DecodeClaimsDCC(msg.Payload) // the hot path: one decode
	}
	if dcc == nil {
		if claims, err = hcert.DecodeClaims(msg.Payload); err != nil {
			r.codecFail(iCOSE, ReasonBadCWT, err)
			r.authentic = false
			r.cert = Certificate{}
			return false
		}
	}
	r.pass(iCOSE)
	r.unverifiedClaims = claimsCopy
	if !r.authentic {
		return false // nothing unverified goes further
	}

	c := &r.cert
	c.KID, c.claims, c.CheckedAt = r.kid, r.unverifiedClaims, r.at
	c.Signature = sigCopy
	c.Issuer = claims.Issuer
	c.IssuedAt = time.Unix(int64(*claims.IssuedAt), 0).UTC()
	c.ExpiresAt = time.Unix(int64(*claims.Expires), 0).UTC()

	if dcc != nil {
		v.checkTyped(r, dcc, nil)
	} else {
		v.checkGeneric(r, claims.HCert.DCC)
	}
	v.checkKeyUsage(r)
	v.checkValidity(r)
	for i := iSignature; i < numBuiltin; i++ {
		if r.checks[i].status != StatusPass {
			return false
		}
	}
	return true
}

// runExtra runs the configured checks in order; after a failure the rest
// are skipped.
func (v *Verifier) runExtra(r *Result) {
	for k, c := range v.extra {
		i := numBuiltin + k
		err := c.Check(&r.cert)
		if err == nil {
			r.pass(i)
			continue
		}
		var e *Error
		if errors.As(err, &e) && e.Reason != ReasonNone {
			r.fail(i, e.Reason, e.Detail, e.Err)
		} else {
			r.fail(i, ReasonInternal, "the check failed without a reason", err)
		}
		return
	}
}

func (v *Verifier) verifySignature(r *Result, msg *cose.Sign1Message) {
	if len(r.kid) == 0 {
		r.fail(iSignature, ReasonUnknownKID, "no kid in the COSE headers", nil)
		return
	}
	candidates := v.trust.Lookup(r.kid)
	if len(candidates) == 0 {
		r.fail(iSignature, ReasonUnknownKID, "no trusted DSC has this kid", nil)
		return
	}
	// The algorithm comes from the trusted key; the header must name it.
	alg := keys.AlgNone
	if a, err := msg.Headers.Protected.Algorithm(); err == nil && a >= math.MinInt32 && a <= math.MaxInt32 {
		alg = keys.Algorithm(a)
	}
	reason := ReasonAlgMismatch
	for _, e := range candidates {
		if e == nil || !e.Accepts(alg) {
			continue
		}
		verifier, err := v.coseVerifier(e)
		if err != nil {
			continue
		}
		if hcert.VerifySign1(msg, verifier) == nil {
			r.authentic = true
			r.cert.Signer, r.cert.Alg = e, e.Alg
			if e.Cert != nil && !keys.CanSign(e.Cert) {
				r.warnings = append(r.warnings, Warning{Code: WarningSignerKeyUsage,
					Detail: "the DSC's key usage does not include digitalSignature; it was trusted explicitly"})
			}
			r.pass(iSignature)
			return
		}
		reason = ReasonBadSignature
	}
	detail := "signature does not verify with any DSC for this kid"
	if reason == ReasonAlgMismatch {
		detail = "the alg header does not match the trusted key"
	}
	r.fail(iSignature, reason, detail, nil)
}

// coseVerifier returns the cached go-cose verifier of a trust entry.
func (v *Verifier) coseVerifier(e *keys.TrustEntry) (cose.Verifier, error) {
	if cv, ok := v.coseVerifiers.Load(e); ok {
		return cv.(cose.Verifier), nil
	}
	var (
		cv  cose.Verifier
		err error
	)
	if v.newCOSE != nil {
		cv, err = v.newCOSE(cose.Algorithm(e.Alg), e.Key)
	} else if cv, err = cose.NewVerifier(cose.Algorithm(e.Alg), e.Key); err == nil {
		cv = newES256Verifier(cv, e.Key) // go-cose validated the key
	}
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
	if !r.cert.Signer.Permits(r.cert.Type) {
		r.fail(iKeyUsage, ReasonKeyUsage,
			fmt.Sprintf("the DSC's extended key usage does not permit %q certificates", r.cert.Type), nil)
		return
	}
	r.pass(iKeyUsage)
}

func (v *Verifier) checkValidity(r *Result) {
	c := &r.cert
	s := c.Signer
	switch now := r.at; {
	case c.ExpiresAt.Before(c.IssuedAt):
		r.fail(iValidity, ReasonExpired, "exp is before iat: the certificate is never valid", nil)
	case c.IssuedAt.Before(s.NotBefore) || c.ExpiresAt.After(s.NotAfter):
		r.fail(iValidity, ReasonOutsideSignerWindow, "iat or exp lies outside the DSC's validity", nil)
	case now.Add(v.skew).Before(c.IssuedAt):
		r.fail(iValidity, ReasonNotYetValid, "issued after the verification time", nil)
	case now.Add(-v.skew).After(c.ExpiresAt):
		r.fail(iValidity, ReasonExpired, "expired before the verification time", nil)
	default:
		r.pass(iValidity)
	}
}

// checkTyped runs the schema and value_sets checks on a payload decoded
// into the schema's Go types. The typed checks are exact unless an empty
// string may stand for an absent member, which the generic form settles.
// raw is the eu_dcc_v1 CBOR, or nil to take it from r's claims.
//
// The typed checks implement schema 1.3; a payload declaring an older
// version (1.0.x, 1.2.x) goes to the generic validator, which validates it
// against the schema of its version.
func (v *Verifier) checkTyped(r *Result, dcc *schemas.DCC, raw []byte) {
	if !schemas.IsLatestSchema(dcc.Ver) {
		if raw == nil {
			raw = r.cert.RawDCC()
		}
		v.checkGenericForm(r, raw, dcc)
		return
	}
	r.cert.DCC, r.cert.Type = dcc, dcc.Type()
	var doc any // the generic form, only when needed
	err := dcc.ValidateSchema()
	if err == nil && dcc.MayMissMembers() {
		if raw == nil {
			raw = r.cert.RawDCC()
		}
		if doc, err = hcert.DecodeGeneric(raw); err == nil {
			err = schemas.CheckMembers(doc)
		}
	}
	if err != nil {
		r.schemaFail(iSchema, ReasonSchema, err)
		return
	}
	r.pass(iSchema)
	if doc != nil {
		err = schemas.ValidateValueSetsGeneric(doc, v.valueSets)
	} else {
		err = dcc.ValidateValueSets(v.valueSets)
	}
	if err != nil {
		r.schemaFail(iValueSets, ReasonValueSet, err)
		return
	}
	r.pass(iValueSets)
}

// checkGeneric runs the schema and value_sets checks on a payload that did
// not decode in one pass: one holding a null somewhere, or a member of the
// wrong type.
func (v *Verifier) checkGeneric(r *Result, raw []byte) {
	if !hcert.MayHoldNull(raw) {
		if dcc, err := hcert.DecodeDCC(raw); err == nil {
			v.checkTyped(r, dcc, raw)
			return
		}
	}
	dcc, _ := hcert.DecodeDCC(raw) // for display; the verdict is the generic one
	v.checkGenericForm(r, raw, dcc)
}

// checkGenericForm runs the schema and value_sets checks on the generic
// form of a payload (dcc is its typed form for display, or nil).
func (v *Verifier) checkGenericForm(r *Result, raw []byte, dcc *schemas.DCC) {
	doc, err := hcert.DecodeGeneric(raw)
	if err != nil {
		r.schemaFail(iSchema, ReasonSchema, err)
		return
	}
	r.cert.Type, r.cert.DCC = genericType(doc), dcc
	switch {
	case holdsNull(doc):
		r.fail(iSchema, ReasonSchema, "the payload holds a null or undefined value", nil)
		return
	case v.generic == nil:
		r.fail(iSchema, ReasonSchema, "the payload does not fit the DCC schema types", nil)
		return
	}
	if err := v.generic.ValidateGeneric(doc); err != nil {
		r.schemaFail(iSchema, ReasonSchema, err)
		return
	}
	r.pass(iSchema)
	if err := schemas.ValidateValueSetsGeneric(doc, v.valueSets); err != nil {
		r.schemaFail(iValueSets, ReasonValueSet, err)
		return
	}
	r.pass(iValueSets)
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
