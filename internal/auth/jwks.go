package auth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/vaxcert/vaxcert/internal/limits"
)

// minRSABits is the smallest accepted RSA modulus (NIST SP 800-57).
const minRSABits = 2048

// privateMembers are the JWK members that carry private or secret key
// material (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// ReadJWKSFile reads a JWK Set file, refusing files larger than
// limits.MaxJWKS with [ErrJWKSTooLarge]. Parse the result with
// [NewCitizenVerifier] or [CitizenVerifier.ReloadJWKS].
func ReadJWKSFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth: failed to open jwks: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limits.MaxJWKS+1))
	if err != nil {
		return nil, fmt.Errorf("auth: failed to read jwks: %w", err)
	}
	if len(b) > limits.MaxJWKS {
		return nil, ErrJWKSTooLarge
	}
	return b, nil
}

// verificationKey is one trusted key with the one algorithm it may verify.
type verificationKey struct {
	alg jwa.SignatureAlgorithm
	key crypto.PublicKey // *ecdsa.PublicKey, *rsa.PublicKey or ed25519.PublicKey
}

// keySet is an immutable, parsed JWK Set: candidates by kid. It is the
// jws.KeyProvider for one verification, so a concurrent reload never mixes
// two sets within one call.
type keySet struct {
	byKID map[string][]verificationKey
}

// Errors from keySet.FetchKeys, classified by CitizenVerifier.Verify.
var (
	errNoKID        = errors.New("missing kid")
	errUnknownKID   = errors.New("unknown kid")
	errAlgMismatch  = errors.New("algorithm not allowed for key")
	errCritical     = errors.New("unsupported critical header")
	errUnencodedJWS = errors.New("unencoded payload")
)

// FetchKeys implements jws.KeyProvider. It hands jwx every key under the
// token's kid whose trusted algorithm equals the token's "alg": the
// algorithm comes from the key set, never from the token alone.
func (s *keySet) FetchKeys(_ context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
	h := sig.ProtectedHeaders()
	if len(h.Critical()) > 0 {
		return errCritical
	}
	if _, ok := h.Get("b64"); ok {
		return errUnencodedJWS
	}
	kid := h.KeyID()
	if kid == "" {
		return errNoKID
	}
	candidates := s.byKID[kid]
	if len(candidates) == 0 {
		return errUnknownKID
	}
	alg := h.Algorithm()
	found := false
	for _, c := range candidates {
		if c.alg == alg {
			sink.Key(alg, c.key)
			found = true
		}
	}
	if !found {
		return errAlgMismatch
	}
	return nil
}

// parseJWKS parses and checks a JWK Set (RFC 7517 §5). It is strict: the
// document must be one JSON object with a non-empty "keys" array and
// nothing after it; every key must be a public signature key of a supported
// type with a "kid". Exact duplicates (same kid, algorithm and key) are
// merged; several different keys may share a kid.
func parseJWKS(b []byte) (*keySet, error) {
	if len(b) > limits.MaxJWKS {
		return nil, ErrJWKSTooLarge
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedJWKS, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: trailing data", ErrMalformedJWKS)
	}
	if len(doc.Keys) == 0 {
		return nil, fmt.Errorf(`%w: no "keys"`, ErrMalformedJWKS)
	}
	set := &keySet{byKID: make(map[string][]verificationKey, len(doc.Keys))}
	seen := make(map[string]bool, len(doc.Keys))
	for i, raw := range doc.Keys {
		kid, vk, thumb, err := parseJWK(raw)
		if err != nil {
			return nil, fmt.Errorf("%w (key %d)", err, i)
		}
		id := kid + "\x00" + vk.alg.String() + "\x00" + string(thumb)
		if seen[id] {
			continue
		}
		seen[id] = true
		set.byKID[kid] = append(set.byKID[kid], vk)
	}
	return set, nil
}

// parseJWK checks one JWK and returns its kid, the key with its one
// allowed algorithm, and its RFC 7638 thumbprint.
func parseJWK(raw json.RawMessage) (string, verificationKey, []byte, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return "", verificationKey{}, nil, fmt.Errorf("%w: %v", ErrMalformedJWKS, err)
	}
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			return "", verificationKey{}, nil, ErrPrivateKey
		}
	}
	k, err := jwk.ParseKey(raw)
	if err != nil {
		return "", verificationKey{}, nil, fmt.Errorf("%w: %v", ErrMalformedJWKS, err)
	}
	if k.KeyType() == jwa.OctetSeq {
		return "", verificationKey{}, nil, ErrPrivateKey
	}
	if k.KeyID() == "" {
		return "", verificationKey{}, nil, fmt.Errorf(`%w: missing "kid"`, ErrMalformedJWKS)
	}
	if use := k.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return "", verificationKey{}, nil, fmt.Errorf(`%w: "use" is not "sig"`, ErrUnsupportedKey)
	}
	if ops := k.KeyOps(); ops != nil && !slices.Contains(ops, jwk.KeyOpVerify) {
		return "", verificationKey{}, nil, fmt.Errorf(`%w: "key_ops" lacks "verify"`, ErrUnsupportedKey)
	}
	var pub any
	if err := k.Raw(&pub); err != nil {
		return "", verificationKey{}, nil, fmt.Errorf("%w: %v", ErrMalformedJWKS, err)
	}
	alg, err := keyAlgorithm(k.Algorithm().String(), pub)
	if err != nil {
		return "", verificationKey{}, nil, err
	}
	thumb, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", verificationKey{}, nil, fmt.Errorf("%w: %v", ErrMalformedJWKS, err)
	}
	return k.KeyID(), verificationKey{alg: alg, key: pub}, thumb, nil
}

// keyAlgorithm returns the one algorithm a public key may verify: the
// key's "alg" when present, else the algorithm its type implies (ES256 for
// P-256, EdDSA for Ed25519, RS256 for RSA).
func keyAlgorithm(stated string, pub any) (jwa.SignatureAlgorithm, error) {
	var allowed []jwa.SignatureAlgorithm // first entry is the implied one
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		if pub.Curve.Params().Name != "P-256" {
			return "", fmt.Errorf("%w: curve %s", ErrUnsupportedKey, pub.Curve.Params().Name)
		}
		if _, err := pub.ECDH(); err != nil {
			return "", fmt.Errorf("%w: invalid P-256 point", ErrMalformedJWKS)
		}
		allowed = []jwa.SignatureAlgorithm{jwa.ES256}
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return "", fmt.Errorf("%w: rsa modulus below %d bits", ErrUnsupportedKey, minRSABits)
		}
		allowed = []jwa.SignatureAlgorithm{jwa.RS256, jwa.PS256}
	case ed25519.PublicKey:
		allowed = []jwa.SignatureAlgorithm{jwa.EdDSA}
	default:
		return "", fmt.Errorf("%w: key type %T", ErrUnsupportedKey, pub)
	}
	if stated == "" {
		return allowed[0], nil
	}
	for _, a := range allowed {
		if a.String() == stated {
			return a, nil
		}
	}
	return "", fmt.Errorf("%w: algorithm %q for this key type", ErrUnsupportedKey, stated)
}
