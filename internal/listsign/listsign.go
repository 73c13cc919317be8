// Package listsign publishes the signed lists that verifier/lists checks:
// the trust list (a JWK Set of the issuer's DSCs) and the revocation list
// (DCC-style hashes), each a JWS in compact serialization signed with
// lestrrat-go/jwx by a list-signing certificate the CSCA issued, whose
// chain is in the x5c header. Rule sets and value sets can be published
// with [Sign] and a kind of their own.
//
// It is issuer-side code: it never enters the verifier library.
package listsign

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v2/cert"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/issuing"
	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/rules"
)

// Signer signs lists: the list-signing key and its chain (the list-signing
// certificate, then the CSCA).
type Signer struct {
	key   crypto.Signer
	chain []*x509.Certificate
	alg   jwa.SignatureAlgorithm
}

// NewSigner pairs a list-signing key with its certificate chain. The
// certificate must carry [lists.OIDListSigner] and hold key's public key.
func NewSigner(key crypto.Signer, chain ...*x509.Certificate) (*Signer, error) {
	if key == nil || len(chain) == 0 || len(chain) > lists.MaxChain {
		return nil, errors.New("listsign: a key and 1 to 3 certificates are required")
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(chain[0].PublicKey) {
		return nil, issuing.ErrKeyMismatch
	}
	if !slices.ContainsFunc(chain[0].UnknownExtKeyUsage, func(o asn1.ObjectIdentifier) bool { return o.Equal(lists.OIDListSigner) }) {
		return nil, errors.New("listsign: the certificate is not a list-signing certificate")
	}
	s := &Signer{key: key, chain: chain}
	switch keys.AlgorithmFor(chain[0].PublicKey) {
	case keys.AlgES256:
		s.alg = jwa.ES256
	case keys.AlgPS256:
		s.alg = jwa.PS256
	default:
		return nil, errors.New("listsign: the list-signing key must be ECDSA P-256 or RSA ≥ 2048")
	}
	return s, nil
}

// IssueSigner has the CSCA issue a list-signing certificate: a key of the
// CSCA's algorithm whose only EKU is [lists.OIDListSigner], so it can sign
// lists and no DCC.
func IssueSigner(ca *issuing.CA, notBefore time.Time) (*issuing.DSC, error) {
	return ca.IssueDSC(issuing.DSCOptions{CommonName: ca.Cert.Subject.Country[0] + " List Signer",
		Algorithm: keys.AlgorithmFor(ca.Cert.PublicKey), NotBefore: notBefore,
		EKUs: []asn1.ObjectIdentifier{lists.OIDListSigner}})
}

// Sign signs a payload: the JSON of v, which must begin with the
// [lists.Claims] members.
func (s *Signer) Sign(v any) ([]byte, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("listsign: %w", err)
	}
	var chain cert.Chain
	for _, c := range s.chain {
		if err := chain.AddString(base64.StdEncoding.EncodeToString(c.Raw)); err != nil {
			return nil, err
		}
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.X509CertChainKey, &chain); err != nil {
		return nil, err
	}
	out, err := jws.Sign(payload, jws.WithKey(s.alg, s.key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return nil, fmt.Errorf("listsign: failed to sign: %w", err)
	}
	return out, nil
}

// DSC is one entry of a trust list: a DSC and the DCC types it may sign.
type DSC struct {
	Cert  *x509.Certificate
	Types []schemas.CertType // empty means every type its EKU permits
}

// TrustList builds and signs a trust list: a JWK Set of the DSCs, each
// with the DCC kid, x5c (the DSC; the CSCA is the verifier's pinned root,
// and repeating it would double the size of a 5,000-DSC list) and
// cert_types, and the list claims as extra members.
func (s *Signer) TrustList(c lists.Claims, dscs []DSC) ([]byte, error) {
	c.Kind = lists.KindTrustList
	set := jwk.NewSet()
	for _, d := range dscs {
		k, err := jwk.FromRaw(d.Cert.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("listsign: %w", err)
		}
		var chain cert.Chain
		_ = chain.AddString(base64.StdEncoding.EncodeToString(d.Cert.Raw))
		types := d.Types
		if len(types) == 0 {
			e, err := keys.NewTrustEntry(d.Cert)
			if err != nil {
				return nil, err
			}
			for _, t := range []schemas.CertType{schemas.TypeVaccination, schemas.TypeTest, schemas.TypeRecovery} {
				if e.Permits(t) {
					types = append(types, t)
				}
			}
		}
		names := make([]string, len(types))
		for i, t := range types {
			names[i] = string(t)
		}
		for name, v := range map[string]any{jwk.KeyIDKey: keys.KIDString(keys.KID(d.Cert.Raw)),
			jwk.X509CertChainKey: &chain, jwk.KeyUsageKey: "sig", "cert_types": names} {
			if err := k.Set(name, v); err != nil {
				return nil, fmt.Errorf("listsign: %w", err)
			}
		}
		if len(d.Cert.Subject.Country) > 0 {
			_ = k.Set("country", d.Cert.Subject.Country[0])
		}
		if err := set.AddKey(k); err != nil {
			return nil, fmt.Errorf("listsign: %w", err)
		}
	}
	for name, v := range map[string]any{"kind": c.Kind, "issuer": c.Issuer, "sequence": c.Sequence,
		"iat": c.IssuedAt, "exp": c.ExpiresAt} {
		if err := set.Set(name, v); err != nil {
			return nil, fmt.Errorf("listsign: %w", err)
		}
	}
	return s.Sign(set)
}

// Revoked is one revoked certificate: its three hashes and its expiry.
type Revoked struct {
	Hashes  lists.Hashes
	Expires time.Time
}

// RevocationList builds and signs a revocation list: all three hash types
// of every entry, grouped in batches by type and expiry (to the second),
// hashes sorted. since is 0 for a full list, or the sequence a delta
// follows.
func (s *Signer) RevocationList(c lists.Claims, since uint64, rs []Revoked) ([]byte, error) {
	c.Kind = lists.KindRevocations
	type key struct {
		t   int
		exp int64
	}
	groups := map[key][]lists.Hash{}
	for _, r := range rs {
		for t := range lists.HashTypes {
			k := key{t, r.Expires.Unix()}
			groups[k] = append(groups[k], r.Hashes[t])
		}
	}
	ks := make([]key, 0, len(groups))
	for k := range groups {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b key) int {
		if a.t != b.t {
			return a.t - b.t
		}
		return int(a.exp - b.exp)
	})
	batches := make([]lists.Batch, 0, len(ks))
	for _, k := range ks {
		hs := groups[k]
		slices.SortFunc(hs, func(a, b lists.Hash) int { return bytes.Compare(a[:], b[:]) })
		buf := make([]byte, 0, len(hs)*lists.HashSize)
		for _, h := range hs {
			buf = append(buf, h[:]...)
		}
		batches = append(batches, lists.Batch{Type: lists.HashTypes[k.t], Expires: k.exp, Hashes: buf})
	}
	return s.Sign(struct {
		lists.Claims
		Since   uint64        `json:"since"`
		Batches []lists.Batch `json:"batches"`
	}{c, since, batches})
}

// RuleSet builds and signs a rule set (verifier/rules.KindRuleSet): the
// rules, each a gateway rule envelope, and optional value-set files that
// venues apply over their embedded ones.
func (s *Signer) RuleSet(c lists.Claims, ruleJSON, valueSets []json.RawMessage) ([]byte, error) {
	c.Kind = rules.KindRuleSet
	return s.Sign(rules.RuleSetPayload{Claims: c, Rules: ruleJSON, ValueSets: valueSets})
}
