package lists

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/keys"
)

// Kind names what a signed list holds. It is the "kind" member of the
// payload, so a list of one kind is never taken for another.
type Kind string

// The kinds of signed list. Other packages (rule sets, value sets) add
// their own with the same envelope.
const (
	KindTrustList   Kind = "vaxcert-trust-list"
	KindRevocations Kind = "vaxcert-revocation-list"
)

// OIDListSigner is the Extended Key Usage a list-signing certificate must
// carry: a certificate issued by the CSCA for signing lists, which names no
// DCC type and so can never sign a DCC itself, while a DSC (which lacks this
// OID) can never sign a list. The arc 2.999 is the ITU-T arc for examples:
// vaxcert has no registered arc; replace it when one is allocated.
var OIDListSigner = asn1.ObjectIdentifier{2, 999, 704, 1}

// MaxChain bounds the x5c header: the signer and at most two more.
const MaxChain = 3

// DefaultMaxFutureSkew is how far in the future a list's iat may lie before
// it is refused as not yet valid: clocks on venue devices drift.
const DefaultMaxFutureSkew = 5 * time.Minute

// Claims are the members every signed list's payload starts with.
type Claims struct {
	Kind      Kind   `json:"kind"`
	Issuer    string `json:"issuer"`   // who publishes the list, e.g. "VN"
	Sequence  uint64 `json:"sequence"` // grows with every change of content
	IssuedAt  int64  `json:"iat"`      // Unix seconds
	ExpiresAt int64  `json:"exp"`      // Unix seconds; after it the list is not trusted
}

// Signed is a list whose signature, chain, kind and validity [Open]
// checked. Payload is the whole JSON payload, for the kind's own parser.
type Signed struct {
	Kind      Kind
	Issuer    string
	Sequence  uint64
	IssuedAt  time.Time
	ExpiresAt time.Time
	Signer    *x509.Certificate // the list-signing certificate (x5c[0])
	Payload   []byte
}

// header is the JWS protected header. Nothing else is accepted: "crit",
// "jku", "x5u" and "jwk" would let the message pick its own key.
type header struct {
	Alg string   `json:"alg"`
	Typ string   `json:"typ,omitempty"`
	Kid string   `json:"kid,omitempty"`
	X5C []string `json:"x5c"`
}

// Open checks a signed list in JWS compact serialization at the instant
// now: the size (at most maxSize bytes, or limits.MaxTrustList when
// maxSize is 0); the protected header; the signature, with the algorithm
// decided by the signer's key (ES256 only with P-256, PS256 only with RSA ≥
// 2048); the x5c chain up to root, the pinned CSCA, valid at now, with the
// signer carrying [OIDListSigner]; the kind; iat not in the future (beyond
// [DefaultMaxFutureSkew]) and exp not past. Rollback is not its business:
// see [Version].
//
// The verification is written here rather than taken from jwx because
// jwx's jws and jwk packages import net/http, which the verifier library
// must not (verifier/deps_test.go); the service side signs with jwx, and the
// tests check the two agree.
func Open(data []byte, root *x509.Certificate, kind Kind, now time.Time, maxSize int) (*Signed, error) {
	var c Claims
	return openInto(data, root, kind, now, maxSize, &c, &c)
}

// openInto is Open decoding the payload once into body (a pointer to a
// struct embedding Claims, whose Claims are c), for the kinds whose
// payload is large.
func openInto(data []byte, root *x509.Certificate, kind Kind, now time.Time, maxSize int, body any, c *Claims) (*Signed, error) {
	if maxSize <= 0 {
		maxSize = limits.MaxTrustList
	}
	if root == nil {
		return nil, fail(ReasonWrongRoot, "no pinned root", nil)
	}
	if len(data) > maxSize {
		return nil, fail(ReasonTooLarge, fmt.Sprintf("%d bytes, limit %d", len(data), maxSize), nil)
	}
	data = bytes.TrimSpace(data)
	h64, rest, ok := bytes.Cut(data, []byte{'.'})
	p64, s64, ok2 := bytes.Cut(rest, []byte{'.'})
	if !ok || !ok2 || bytes.IndexByte(s64, '.') >= 0 {
		return nil, fail(ReasonMalformed, "not a JWS in compact serialization", nil)
	}
	hdrJSON, err := b64(h64)
	if err != nil {
		return nil, fail(ReasonMalformed, "header is not base64url", err)
	}
	var h header
	if err := strictJSON(hdrJSON, &h); err != nil {
		return nil, fail(ReasonMalformed, "protected header", err)
	}
	if len(h.X5C) == 0 || len(h.X5C) > MaxChain {
		return nil, fail(ReasonMalformed, fmt.Sprintf("x5c holds %d certificates (want 1 to %d)", len(h.X5C), MaxChain), nil)
	}
	chain := make([]*x509.Certificate, len(h.X5C))
	for i, c := range h.X5C {
		der, err := base64.StdEncoding.Strict().DecodeString(c)
		if err != nil || len(der) > limits.MaxCertificate {
			return nil, fail(ReasonMalformed, fmt.Sprintf("x5c[%d] is not a base64 certificate", i), err)
		}
		if chain[i], err = x509.ParseCertificate(der); err != nil {
			return nil, fail(ReasonMalformed, fmt.Sprintf("x5c[%d]", i), err)
		}
	}
	signer := chain[0]
	sig, err := b64(s64)
	if err != nil {
		return nil, fail(ReasonMalformed, "signature is not base64url", err)
	}
	alg := keys.AlgorithmFor(signer.PublicKey)
	if alg == keys.AlgNone || alg.String() != h.Alg {
		return nil, fail(ReasonBadSig, fmt.Sprintf("alg %q does not match the signer's key", h.Alg), nil)
	}
	if err := verifySig(alg, signer.PublicKey, data[:len(h64)+1+len(p64)], sig); err != nil {
		return nil, err
	}
	if err := checkChain(chain, root, now); err != nil {
		return nil, err
	}
	payload, err := b64(p64)
	if err != nil {
		return nil, fail(ReasonMalformed, "payload is not base64url", err)
	}
	if err := json.Unmarshal(payload, body); err != nil { // the trust list parser decodes strictly again
		return nil, fail(ReasonMalformed, "payload", err)
	}
	s := &Signed{Kind: c.Kind, Issuer: c.Issuer, Sequence: c.Sequence, IssuedAt: time.Unix(c.IssuedAt, 0).UTC(),
		ExpiresAt: time.Unix(c.ExpiresAt, 0).UTC(), Signer: signer, Payload: payload}
	switch {
	case c.Kind != kind:
		return nil, fail(ReasonWrongKind, fmt.Sprintf("got %q, want %q", c.Kind, kind), nil)
	case c.Issuer == "" || len(c.Issuer) > 64:
		return nil, fail(ReasonMalformed, "issuer missing or too long", nil)
	case c.IssuedAt <= 0 || c.ExpiresAt <= c.IssuedAt:
		return nil, fail(ReasonMalformed, "iat and exp must be positive and iat < exp", nil)
	case s.IssuedAt.After(now.Add(DefaultMaxFutureSkew)):
		return nil, fail(ReasonNotYetValid, "iat "+s.IssuedAt.Format(time.RFC3339), nil)
	case !now.Before(s.ExpiresAt):
		return nil, fail(ReasonExpired, "expired at "+s.ExpiresAt.Format(time.RFC3339), nil)
	}
	return s, nil
}

// b64 decodes unpadded base64url strictly.
func b64(s []byte) ([]byte, error) {
	out := make([]byte, base64.RawURLEncoding.DecodedLen(len(s)))
	n, err := base64.RawURLEncoding.Strict().Decode(out, s)
	return out[:n], err
}

// strictJSON decodes one JSON value with no unknown members and nothing
// after it.
func strictJSON(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("data after the JSON value")
	}
	if _, err := d.Token(); err == nil {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

// verifySig checks a JWS signature (RFC 7518 §3.4 for ES256: r‖s, 32 bytes
// each; §3.5 for PS256: salt length equal to the hash length).
func verifySig(alg keys.Algorithm, pub crypto.PublicKey, input, sig []byte) error {
	digest := sha256.Sum256(input)
	ok := false
	switch alg {
	case keys.AlgES256:
		k := pub.(*ecdsa.PublicKey)
		if len(sig) == 64 {
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			ok = ecdsa.Verify(k, digest[:], r, s)
		}
	case keys.AlgPS256:
		ok = rsa.VerifyPSS(pub.(*rsa.PublicKey), crypto.SHA256, digest[:],
			sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	}
	if !ok {
		return fail(ReasonBadSig, "", nil)
	}
	return nil
}

// checkChain verifies that chain[0] chains to root (and only root) at now
// and may sign lists.
func checkChain(chain []*x509.Certificate, root *x509.Certificate, now time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(root)
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		if !c.Equal(root) {
			inter.AddCert(c)
		}
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return fail(ReasonWrongRoot, "", err)
	}
	for _, oid := range chain[0].UnknownExtKeyUsage {
		if oid.Equal(OIDListSigner) {
			return nil
		}
	}
	return fail(ReasonWrongRoot, "the signer's certificate is not a list-signing certificate", nil)
}

// Version is what a verifier remembers of the last list of one kind it
// accepted, to refuse a rollback: the zero Version accepts any list.
type Version struct {
	Issuer   string
	Sequence uint64
	IssuedAt time.Time
}

// VersionOf returns the version of a signed list.
func VersionOf(s *Signed) Version {
	return Version{Issuer: s.Issuer, Sequence: s.Sequence, IssuedAt: s.IssuedAt}
}

// Check refuses s unless it is from the same issuer (when v is not zero)
// and newer: a higher sequence, or the same sequence re-issued at the same
// time or later (lists are re-signed with a fresh expiry when their content
// has not changed).
func (v Version) Check(s *Signed) error {
	if v == (Version{}) {
		return nil
	}
	switch {
	case s.Issuer != v.Issuer:
		return fail(ReasonMixed, fmt.Sprintf("held issuer %q, got %q", v.Issuer, s.Issuer), nil)
	case s.Sequence < v.Sequence:
		return fail(ReasonRollback, fmt.Sprintf("sequence %d after %d", s.Sequence, v.Sequence), nil)
	case s.Sequence == v.Sequence && s.IssuedAt.Before(v.IssuedAt):
		return fail(ReasonRollback, fmt.Sprintf("sequence %d issued before the copy held", s.Sequence), nil)
	}
	return nil
}

// PeekIssuedAt returns the iat a signed list claims, WITHOUT verifying
// anything. It serves only to replay a chain of lists kept on disk (a full
// revocation list and its deltas) at the instants they were accepted;
// every list is then verified with [Open].
func PeekIssuedAt(data []byte) (time.Time, error) {
	_, rest, ok := bytes.Cut(bytes.TrimSpace(data), []byte{'.'})
	p64, _, ok2 := bytes.Cut(rest, []byte{'.'})
	if !ok || !ok2 {
		return time.Time{}, fail(ReasonMalformed, "not a JWS in compact serialization", nil)
	}
	payload, err := b64(p64)
	if err != nil {
		return time.Time{}, fail(ReasonMalformed, "payload is not base64url", err)
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return time.Time{}, fail(ReasonMalformed, "payload", err)
	}
	return time.Unix(c.IssuedAt, 0).UTC(), nil
}
