package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/vaxcert/vaxcert/internal/limits"
)

// DefaultSkew is the clock skew tolerated on "exp", "nbf" and "iat" unless
// [WithSkew] says otherwise.
const DefaultSkew = 60 * time.Second

// maxSkew bounds [WithSkew]: more than this hides a broken clock.
const maxSkew = 5 * time.Minute

// Citizen is an authenticated citizen.
//
// ID is personal data (the national ID number): never log it or put it in
// an error message.
type Citizen struct {
	// ID is the token's "sub": a 12-digit CCCD or a 9-digit CMND number.
	ID string
	// Expires is the token's "exp".
	Expires time.Time
}

// CitizenVerifier verifies citizen bearer JWTs issued by the national
// identity provider against a configured JWK Set.
//
// A CitizenVerifier is safe for concurrent use; [CitizenVerifier.ReloadJWKS]
// swaps the key set atomically while verifications run.
type CitizenVerifier struct {
	keys         atomic.Pointer[keySet]
	validateOpts []jwt.ValidateOption
	// typ is the required JOSE "typ" ([WithType]), normalised; "" accepts
	// no typ or "JWT".
	typ string
}

// Option configures a [CitizenVerifier]. [WithIssuer] and [WithAudience]
// are required.
type Option func(*config) error

type config struct {
	issuer   string
	audience string
	clock    func() time.Time
	skew     time.Duration
	typ      string
}

// WithType requires the JOSE header "typ" of every token to be typ (for
// example "at+jwt", RFC 9068), compared case-insensitively and with an
// optional "application/" prefix (RFC 7515 §4.1.9), as RFC 8725 §3.11
// recommends when the identity provider types its tokens: a token of
// another type from the same provider (an ID token, a logout token) is
// then refused. Without it, a token's "typ" must be absent or "JWT".
func WithType(typ string) Option {
	return func(c *config) error {
		if normalType(typ) == "" {
			return fmt.Errorf("%w: empty token type", ErrInvalidArgument)
		}
		c.typ = normalType(typ)
		return nil
	}
}

// normalType lowercases a media type and drops its "application/" prefix.
func normalType(typ string) string {
	t := strings.ToLower(strings.TrimSpace(typ))
	return strings.TrimPrefix(t, "application/")
}

// WithIssuer sets the expected "iss" (exact match). Required.
func WithIssuer(iss string) Option {
	return func(c *config) error {
		if iss == "" {
			return fmt.Errorf("%w: empty issuer", ErrInvalidArgument)
		}
		c.issuer = iss
		return nil
	}
}

// WithAudience sets the audience that "aud" must contain. Required.
func WithAudience(aud string) Option {
	return func(c *config) error {
		if aud == "" {
			return fmt.Errorf("%w: empty audience", ErrInvalidArgument)
		}
		c.audience = aud
		return nil
	}
}

// WithClock sets the source of the current time used for "exp", "nbf" and
// "iat" (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalidArgument)
		}
		c.clock = now
		return nil
	}
}

// WithSkew sets the tolerated clock skew, between 0 and 5 minutes
// (default [DefaultSkew]).
func WithSkew(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 || d > maxSkew {
			return fmt.Errorf("%w: skew outside [0, %v]", ErrInvalidArgument, maxSkew)
		}
		c.skew = d
		return nil
	}
}

// NewCitizenVerifier parses jwks (see [ReadJWKSFile]) and returns a
// verifier. [WithIssuer] and [WithAudience] are required: a verifier that
// accepted any issuer's or any audience's token would accept tokens minted
// for other relying parties.
//
// It returns an error wrapping [ErrInvalidArgument] or [ErrInvalidJWKS].
func NewCitizenVerifier(jwks []byte, opts ...Option) (*CitizenVerifier, error) {
	cfg := config{clock: time.Now, skew: DefaultSkew}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	set, err := parseJWKS(jwks)
	if err != nil {
		return nil, err
	}
	v := &CitizenVerifier{
		typ: cfg.typ,
		validateOpts: []jwt.ValidateOption{
			jwt.WithClock(jwt.ClockFunc(cfg.clock)),
			jwt.WithAcceptableSkew(cfg.skew),
			jwt.WithRequiredClaim(jwt.ExpirationKey),
			jwt.WithIssuer(cfg.issuer),
			jwt.WithAudience(cfg.audience),
		},
	}
	v.keys.Store(set)
	return v, nil
}

func (c *config) validate() error {
	if c.issuer == "" {
		return fmt.Errorf("%w: issuer is required (WithIssuer)", ErrInvalidArgument)
	}
	if c.audience == "" {
		return fmt.Errorf("%w: audience is required (WithAudience)", ErrInvalidArgument)
	}
	return nil
}

// ReloadJWKS parses jwks and, if it is valid, atomically replaces the key
// set, so that the identity provider's keys can rotate without a restart.
// On error the current key set stays in use. Verifications already running
// finish with the key set they started with.
func (v *CitizenVerifier) ReloadJWKS(jwks []byte) error {
	set, err := parseJWKS(jwks)
	if err != nil {
		return err
	}
	v.keys.Store(set)
	return nil
}

// Verify authenticates a citizen from a compact-serialised JWS JWT (the
// bearer token, see [BearerToken]).
//
// It checks, in order: size and shape (three canonical base64url segments,
// no JSON serialisation); the signature, with the candidate keys under the
// token's "kid" whose trusted algorithm equals the token's "alg" (never
// "none" or HMAC); "iat" and "nbf" not in the future and "exp" present and
// not passed, each with the configured skew; "iss"; "aud"; and "sub"
// shaped like a national ID number (12-digit CCCD or 9-digit CMND). Once
// the signature holds it also checks what jwx is lenient about: "exp",
// "nbf" and "iat" must be JSON numbers (NumericDate, RFC 7519 §2; jwx also
// reads strings), no claim may appear twice (RFC 7519 §4), and the header
// "typ" must be the configured one ([WithType]) or else absent or "JWT".
//
// Every error is an *[Error] unwrapping to [ErrUnauthenticated]; it never
// contains the token or any claim value.
//
// Reference: RFC 7519 §7.2 (validating a JWT), RFC 8725 (JWT best current
// practices).
func (v *CitizenVerifier) Verify(token string) (Citizen, error) {
	if err := checkCompactJWS(token); err != nil {
		return Citizen{}, err
	}
	tok, err := jwt.Parse([]byte(token), jwt.WithKeyProvider(v.keys.Load()), jwt.WithValidate(false))
	if err != nil {
		return Citizen{}, classifyParseError(err)
	}
	if err := v.checkEncoding(token); err != nil {
		return Citizen{}, err
	}
	if err := jwt.Validate(tok, v.validateOpts...); err != nil {
		return Citizen{}, classifyValidateError(err)
	}
	// jwx skips its "exp" check when exp is 0 (it treats it as absent),
	// and the required-claim check only tests presence: refuse it here.
	exp := tok.Expiration()
	if exp.Unix() <= 0 {
		return Citizen{}, fail(ReasonExpired, "")
	}
	sub := tok.Subject()
	if sub == "" {
		return Citizen{}, fail(ReasonBadSubject, "missing sub")
	}
	if !validNationalID(sub) {
		return Citizen{}, fail(ReasonBadSubject, "sub is not a 12-digit cccd or 9-digit cmnd number")
	}
	return Citizen{ID: sub, Expires: exp}, nil
}

// numericDateClaims are the claims whose value is a NumericDate.
var numericDateClaims = map[string]bool{jwt.ExpirationKey: true, jwt.NotBeforeKey: true, jwt.IssuedAtKey: true}

// checkEncoding checks the JOSE header's "typ" and the JSON types and
// uniqueness of the claims of token, whose signature jwt.Parse verified
// (so both segments are valid base64url JSON objects).
func (v *CitizenVerifier) checkEncoding(token string) error {
	header, payload, _ := strings.Cut(token, ".")
	payload, _, _ = strings.Cut(payload, ".")
	hb, err1 := base64.RawURLEncoding.DecodeString(header)
	pb, err2 := base64.RawURLEncoding.DecodeString(payload)
	if err1 != nil || err2 != nil {
		return fail(ReasonMalformed, "")
	}
	var h struct {
		Typ *string `json:"typ"`
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return fail(ReasonMalformed, "")
	}
	switch {
	case v.typ != "" && (h.Typ == nil || normalType(*h.Typ) != v.typ),
		v.typ == "" && h.Typ != nil && normalType(*h.Typ) != "jwt":
		return fail(ReasonWrongType, "")
	}
	dec := json.NewDecoder(bytes.NewReader(pb))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fail(ReasonMalformed, "")
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		name, ok := t.(string)
		if err != nil || !ok {
			return fail(ReasonMalformed, "")
		}
		if seen[name] {
			return fail(ReasonMalformed, "duplicate claim")
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fail(ReasonMalformed, "")
		}
		if numericDateClaims[name] && (len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
			return fail(ReasonMalformed, name+" is not a number")
		}
	}
	return nil
}

func classifyParseError(err error) *Error {
	switch {
	case errors.Is(err, errNoKID):
		return fail(ReasonUnknownKey, "missing kid")
	case errors.Is(err, errUnknownKID):
		return fail(ReasonUnknownKey, "")
	case errors.Is(err, errAlgMismatch):
		return fail(ReasonBadSignature, "algorithm not allowed for key")
	case errors.Is(err, errCritical), errors.Is(err, errUnencodedJWS):
		return fail(ReasonMalformed, "unsupported jose header")
	case jws.IsVerificationError(err):
		return fail(ReasonBadSignature, "")
	default:
		return fail(ReasonMalformed, "")
	}
}

func classifyValidateError(err error) *Error {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired()):
		return fail(ReasonExpired, "")
	case errors.Is(err, jwt.ErrTokenNotYetValid()):
		return fail(ReasonNotYetValid, "nbf in the future")
	case errors.Is(err, jwt.ErrInvalidIssuedAt()):
		return fail(ReasonNotYetValid, "iat in the future")
	case errors.Is(err, jwt.ErrRequiredClaim()):
		return fail(ReasonMalformed, "missing exp")
	case errors.Is(err, jwt.ErrInvalidIssuer()):
		return fail(ReasonWrongIssuer, "")
	case errors.Is(err, jwt.ErrInvalidAudience()):
		return fail(ReasonWrongAudience, "")
	default:
		return fail(ReasonMalformed, "")
	}
}

// checkCompactJWS is the cheap structural check run before any decoding:
// a non-empty token within limits.MaxBearerToken, made of exactly three
// non-empty, canonical, unpadded base64url segments. It rejects the JSON
// serialisation and unsigned ("alg": "none") tokens with an empty
// signature, and makes every accepted token have one spelling.
func checkCompactJWS(token string) error {
	if token == "" {
		return fail(ReasonMissing, "")
	}
	if len(token) > limits.MaxBearerToken {
		return fail(ReasonTooLarge, "")
	}
	if strings.Count(token, ".") != 2 {
		return fail(ReasonMalformed, "not a compact jws")
	}
	for seg := range strings.SplitSeq(token, ".") {
		if !canonicalBase64URL(seg) {
			return fail(ReasonMalformed, "not a compact jws")
		}
	}
	return nil
}

// canonicalBase64URL reports whether s is non-empty, unpadded base64url
// (RFC 4648 §5) whose unused trailing bits are zero.
func canonicalBase64URL(s string) bool {
	if len(s) == 0 || len(s)%4 == 1 {
		return false
	}
	var last byte
	for i := 0; i < len(s); i++ {
		v, ok := base64URLValue(s[i])
		if !ok {
			return false
		}
		last = v
	}
	switch len(s) % 4 {
	case 2: // 12 bits encode 1 byte: 4 unused bits
		return last&0x0f == 0
	case 3: // 18 bits encode 2 bytes: 2 unused bits
		return last&0x03 == 0
	}
	return true
}

func base64URLValue(c byte) (byte, bool) {
	switch {
	case 'A' <= c && c <= 'Z':
		return c - 'A', true
	case 'a' <= c && c <= 'z':
		return c - 'a' + 26, true
	case '0' <= c && c <= '9':
		return c - '0' + 52, true
	case c == '-':
		return 62, true
	case c == '_':
		return 63, true
	}
	return 0, false
}

// validNationalID reports whether s is 12 ASCII digits (CCCD, the
// citizen identity card number since 2016, also the personal
// identification number) or 9 ASCII digits (CMND, the older identity card
// number, still valid on cards not yet replaced).
func validNationalID(s string) bool {
	if len(s) != 12 && len(s) != 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
