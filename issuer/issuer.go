package issuer

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/veraison/go-cose"

	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/internal/hcqr"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/schemas"
)

// DefaultValidity is how long a certificate is valid by default. It never
// extends past the DSC's notAfter.
const DefaultValidity = 365 * 24 * time.Hour

// ErrSignerNotValid is returned when the DSC is not valid at issuance time.
var ErrSignerNotValid = errors.New("issuer: the DSC is not valid at issuance time")

// Issuer signs DCCs with one document signer. It is safe for concurrent use.
type Issuer struct {
	signer cose.Signer
	alg    keys.Algorithm
	kid    []byte
	// protected is the COSE protected header (alg, kid), and rawProtected
	// its encoding, made once: go-cose would encode it twice per
	// certificate (for the Sig_structure and for the message).
	protected    cose.ProtectedHeader
	rawProtected []byte
	dsc          *x509.Certificate
	now          func() time.Time
	validity     time.Duration
	rand         io.Reader
	payload      PayloadOptions
}

// Option configures an Issuer.
type Option func(*Issuer) error

// WithClock sets the clock used for iat (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(i *Issuer) error {
		if now == nil {
			return errors.New("issuer: nil clock")
		}
		i.now = now
		return nil
	}
}

// WithValidity sets how long certificates are valid (default 365 days).
// exp is still capped at the DSC's notAfter.
func WithValidity(d time.Duration) Option {
	return func(i *Issuer) error {
		if d < time.Hour {
			return fmt.Errorf("issuer: validity %v is shorter than an hour", d)
		}
		i.validity = d
		return nil
	}
}

// WithCountry sets the issuing country (CWT iss and the UVCI), default the
// DSC subject's country: ISO 3166-1 alpha-2 in upper case, listed in the
// country value set (checked by [New], once).
func WithCountry(cc string) Option {
	return func(i *Issuer) error {
		if !isUpperAlpha2(cc) {
			return &FieldError{Field: "options.country", Err: ErrInvalid}
		}
		i.payload.Country = cc
		return nil
	}
}

// WithIssuerName sets the certificate issuer (`is`), for example "Ministry
// of Health of Viet Nam": required, at most 80 characters, no control
// characters. The library has no default: it is a deployment's value.
func WithIssuerName(name string) Option {
	return func(i *Issuer) error {
		if err := checkText(name, maxNameLen); err != nil {
			return &FieldError{Field: "options.issuer", Err: err}
		}
		i.payload.Issuer = name
		return nil
	}
}

// WithUVCISecret sets the per-deployment secret UVCIs are derived from
// (required; at least MinUVCISecretLen bytes). Keep it as safe as the
// signing key: with it, a UVCI can be linked to a national ID number.
func WithUVCISecret(secret []byte) Option {
	return func(i *Issuer) error {
		i.payload.UVCISecret = bytes.Clone(secret)
		return nil
	}
}

// WithValueSets replaces the embedded EU value sets.
func WithValueSets(vs *schemas.ValueSets) Option {
	return func(i *Issuer) error {
		if vs == nil {
			return errors.New("issuer: nil value sets")
		}
		i.payload.ValueSets = vs
		return nil
	}
}

// WithRand sets the randomness source for signing (default crypto/rand).
func WithRand(r io.Reader) Option {
	return func(i *Issuer) error {
		if r == nil {
			return errors.New("issuer: nil rand")
		}
		i.rand = r
		return nil
	}
}

// New returns an Issuer that signs with signer, whose public key must be
// that of dsc. The algorithm follows the key: ES256 for ECDSA P-256, PS256
// for RSA ≥ 2048 bits.
func New(signer crypto.Signer, dsc *x509.Certificate, opts ...Option) (*Issuer, error) {
	if signer == nil || dsc == nil {
		return nil, errors.New("issuer: nil signer or DSC")
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(dsc.PublicKey) {
		return nil, errors.New("issuer: the signer's key does not match the DSC")
	}
	alg := keys.AlgorithmFor(dsc.PublicKey)
	if alg == keys.AlgNone {
		return nil, errors.New("issuer: the DSC key must be ECDSA P-256 (ES256) or RSA ≥ 2048 (PS256)")
	}
	cs, err := cose.NewSigner(cose.Algorithm(alg), signer)
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	country := ""
	if c := dsc.Subject.Country; len(c) > 0 {
		country = c[0]
	}
	i := &Issuer{
		signer: cs, alg: alg, kid: keys.KID(dsc.Raw), dsc: dsc,
		now: time.Now, validity: DefaultValidity, rand: rand.Reader,
		payload: PayloadOptions{Country: country, ValueSets: schemas.DefaultValueSets()},
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("issuer: nil option")
		}
		if err := o(i); err != nil {
			return nil, err
		}
	}
	if i.payload.Issuer == "" {
		return nil, errors.New("issuer: an issuer name is required (WithIssuerName)")
	}
	if len(i.payload.UVCISecret) < MinUVCISecretLen {
		return nil, fmt.Errorf("issuer: a UVCI secret of at least %d bytes is required (WithUVCISecret)", MinUVCISecretLen)
	}
	// The options are checked here, once, not at each issue.
	if err := checkOptions(i.payload, i.payload.ValueSets); err != nil {
		return nil, err
	}
	i.protected = cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.Algorithm(i.alg), cose.HeaderLabelKeyID: i.kid}
	h := cose.Headers{Protected: i.protected}
	if i.rawProtected, err = h.MarshalProtected(); err != nil {
		return nil, fmt.Errorf("issuer: failed to encode the protected header: %w", err)
	}
	return i, nil
}

// Algorithm returns the signing algorithm.
func (i *Issuer) Algorithm() keys.Algorithm { return i.alg }

// KID returns the DSC's key identifier.
func (i *Issuer) KID() []byte { return bytes.Clone(i.kid) }

// Certificate is a signed DCC.
type Certificate struct {
	HC1       string // "HC1:" + Base45(zlib(COSE_Sign1)): the QR text
	COSE      []byte // the COSE_Sign1 message, tag 18
	UVCI      string
	IssuedAt  time.Time
	ExpiresAt time.Time
	KID       []byte
	Payload   *schemas.DCC
}

// Payload builds the DCC a record would be signed as now, without signing.
// The result is deterministic for the same finalised doses in the same
// second of the issuer's clock (the UVCI starts with that second).
func (i *Issuer) Payload(rec Record) (*schemas.DCC, error) { return i.PayloadRevision(rec, 0) }

// Issue builds the payload from rec's finalised doses and signs it, as the
// person's first certificate (revision 0).
func (i *Issuer) Issue(rec Record) (*Certificate, error) { return i.IssueRevision(rec, 0) }

// IssueRevision is [Issuer.Issue] for a person who already had revision
// certificates: the content is the same as Issue's, the UVCI is not (see
// [PayloadOptions.Revision]).
func (i *Issuer) IssueRevision(rec Record, revision int) (*Certificate, error) {
	dcc, err := i.PayloadRevision(rec, revision)
	if err != nil {
		return nil, err
	}
	return i.Sign(dcc)
}

// PayloadRevision is [Issuer.Payload] for a given revision: callers that
// inspect the payload before signing it (the service compares it with the
// current certificate) build it once and pass it to [Issuer.Sign].
func (i *Issuer) PayloadRevision(rec Record, revision int) (*schemas.DCC, error) {
	opts := i.payload
	opts.Revision = revision
	opts.IssuedAt = i.now()
	return buildPayload(rec, opts, opts.ValueSets)
}

// Sign signs a DCC, normally one built by [Issuer.Payload] or
// [BuildPayload]. Whatever its origin, a payload that fails the DCC schema
// or the issuer's value sets is refused with a [*FieldError] on "payload"
// (wrapping the [*schemas.ValidationError]) and nothing is signed: the
// check is in the signing path itself.
func (i *Issuer) Sign(dcc *schemas.DCC) (*Certificate, error) {
	if dcc == nil {
		return nil, &FieldError{Field: "payload", Err: ErrMissing}
	}
	if err := dcc.Validate(i.payload.ValueSets); err != nil {
		return nil, &FieldError{Field: "payload", Err: err}
	}
	now := i.now().Truncate(time.Second)
	if now.Before(i.dsc.NotBefore) || !now.Before(i.dsc.NotAfter) {
		return nil, ErrSignerNotValid
	}
	exp := now.Add(i.validity)
	if exp.After(i.dsc.NotAfter) {
		exp = i.dsc.NotAfter.Truncate(time.Second)
	}
	claims, err := hcert.EncodeClaims(i.payload.Country, now.Unix(), exp.Unix(), dcc)
	if err != nil {
		return nil, err
	}
	msg := &cose.Sign1Message{
		Headers: cose.Headers{
			Protected:    i.protected,
			RawProtected: i.rawProtected,
			Unprotected:  cose.UnprotectedHeader{},
		},
		Payload: claims,
	}
	if err := msg.Sign(i.rand, nil, i.signer); err != nil {
		return nil, fmt.Errorf("issuer: failed to sign: %w", err)
	}
	coseBytes, err := msg.MarshalCBOR()
	if err != nil {
		return nil, fmt.Errorf("issuer: failed to encode COSE_Sign1: %w", err)
	}
	qr := hcert.AppendHC1(nil, coseBytes)
	ci := ""
	if len(dcc.V) == 1 {
		ci = dcc.V[0].CI
	}
	return &Certificate{HC1: string(qr), COSE: coseBytes, UVCI: ci, IssuedAt: now, ExpiresAt: exp,
		KID: bytes.Clone(i.kid), Payload: dcc}, nil
}

// QRModulePixels is the default PNG scale: pixels per QR module.
const QRModulePixels = 8

// PNG renders the certificate's QR code; see [QRPNG].
func (c *Certificate) PNG() ([]byte, error) { return QRPNG(c.HC1) }

// QRPNG renders an HC1 text as a QR code PNG: the whole text in one
// alphanumeric-mode segment (never a numeric one, whatever digit runs it
// holds), error-correction level Q (~25 %), black on white with a 4-module
// quiet zone, QRModulePixels pixels per module. It is the one encoder of
// vaxcert (internal/hcqr), which also draws the PDF's code.
//
// Reference: hcert_spec.md §4.2.2
//
// > The Alphanumeric (Mode 2/QR Code symbols 0010) MUST be used in
// > conjunction with Base45.
func QRPNG(hc1 string) ([]byte, error) {
	b, err := hcqr.PNG(hc1, QRModulePixels)
	if err != nil {
		return nil, fmt.Errorf("issuer: failed to encode QR code: %w", err)
	}
	return b, nil
}
