package lists

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"math/big"
	"runtime"
	"sync"
	"time"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/schemas"
)

// CertTypes are the certificate-type names a trust-list key carries in
// "cert_types", as [schemas.CertType] spells them.
var certTypeUsage = map[schemas.CertType]keys.Usage{
	schemas.TypeVaccination: keys.UsageVaccination,
	schemas.TypeTest:        keys.UsageTest,
	schemas.TypeRecovery:    keys.UsageRecovery,
}

// JWK is one key of a trust list: a JWK (RFC 7517) of the DSC's public key
// with the DCC kid, the x5c chain (DSC first) and the DCC types the DSC may
// sign. The service side writes it with jwx; these are all the members it
// writes.
type JWK struct {
	Kty       string   `json:"kty"`
	Use       string   `json:"use,omitempty"`
	Alg       string   `json:"alg,omitempty"`
	Kid       string   `json:"kid"`
	Crv       string   `json:"crv,omitempty"`
	X         string   `json:"x,omitempty"`
	Y         string   `json:"y,omitempty"`
	N         string   `json:"n,omitempty"`
	E         string   `json:"e,omitempty"`
	X5C       []string `json:"x5c"`
	CertTypes []string `json:"cert_types"`
	Country   string   `json:"country,omitempty"`
}

// trustPayload is the trust list's JWS payload: a JWK Set with the list
// claims as extra members.
type trustPayload struct {
	Claims
	Keys []JWK `json:"keys"`
}

// TrustList is a verified trust list. It implements verifier.TrustStore;
// it is immutable, so safe for concurrent use.
type TrustList struct {
	Signed  *Signed
	byKID   map[string][]*keys.TrustEntry
	entries []*keys.TrustEntry
}

// ParseTrustList opens a signed trust list ([Open]) and checks each key:
// the kid is the DCC kid of x5c[0]; the JWK's public key is the
// certificate's; the certificate is signed by root; its usage is the
// intersection of its EKU and the cert_types listed. A list with a bad key
// is refused whole.
func ParseTrustList(data []byte, root *x509.Certificate, now time.Time) (*TrustList, error) {
	s, err := Open(data, root, KindTrustList, now, limits.MaxTrustList)
	if err != nil {
		return nil, err
	}
	var p trustPayload
	if err := strictJSON(s.Payload, &p); err != nil {
		return nil, fail(ReasonMalformed, "trust list payload", err)
	}
	if len(p.Keys) > limits.MaxTrustEntries {
		return nil, fail(ReasonTooLarge, fmt.Sprintf("%d keys, limit %d", len(p.Keys), limits.MaxTrustEntries), nil)
	}
	// Each key costs a certificate parse and a signature check (about
	// 0.1 ms): a 5,000-DSC list is checked on every core.
	entries := make([]*keys.TrustEntry, len(p.Keys))
	errs := make([]error, len(p.Keys))
	workers := min(runtime.GOMAXPROCS(0), len(p.Keys))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(p.Keys); i += workers {
				entries[i], errs[i] = trustEntry(&p.Keys[i], root)
			}
		}()
	}
	wg.Wait()
	l := &TrustList{Signed: s, byKID: make(map[string][]*keys.TrustEntry, len(p.Keys))}
	for i, e := range entries {
		if errs[i] != nil {
			return nil, fail(ReasonMalformed, fmt.Sprintf("keys[%d]", i), errs[i])
		}
		l.add(e)
	}
	return l, nil
}

func trustEntry(k *JWK, root *x509.Certificate) (*keys.TrustEntry, error) {
	if len(k.X5C) == 0 || len(k.X5C) > MaxChain {
		return nil, fmt.Errorf("x5c must hold 1 to %d certificates", MaxChain)
	}
	cert, err := parseCert(k.X5C[0], k.Kid)
	if err != nil {
		return nil, err
	}
	if err := sameKey(k, cert); err != nil {
		return nil, err
	}
	if err := cert.CheckSignatureFrom(root); err != nil {
		return nil, fmt.Errorf("the DSC is not signed by the pinned root: %w", err)
	}
	e, err := keys.NewTrustEntry(cert)
	if err != nil {
		return nil, err
	}
	var declared keys.Usage
	for _, t := range k.CertTypes {
		u, ok := certTypeUsage[schemas.CertType(t)]
		if !ok {
			return nil, fmt.Errorf("unknown certificate type %q", t)
		}
		declared |= u
	}
	e.Usage &= declared
	return e, nil
}

// sameKey checks that the JWK's key members, when present, are the
// certificate's key.
func sameKey(k *JWK, cert *x509.Certificate) error {
	switch pub := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Kty != "EC" || k.Crv != "P-256" || pub.Curve != elliptic.P256() {
			return fmt.Errorf("kty/crv do not match the certificate's key")
		}
		raw, err := pub.Bytes() // uncompressed point 0x04‖X‖Y
		if err != nil {
			return err
		}
		if k.X != base64.RawURLEncoding.EncodeToString(raw[1:33]) || k.Y != base64.RawURLEncoding.EncodeToString(raw[33:]) {
			return fmt.Errorf("x/y do not match the certificate's key")
		}
	case *rsa.PublicKey:
		if k.Kty != "RSA" || k.N != base64.RawURLEncoding.EncodeToString(pub.N.Bytes()) ||
			k.E != base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()) {
			return fmt.Errorf("kty/n/e do not match the certificate's key")
		}
	default:
		return fmt.Errorf("unsupported key type %T", cert.PublicKey)
	}
	return nil
}

func (l *TrustList) add(e *keys.TrustEntry) {
	l.byKID[string(e.KID)] = append(l.byKID[string(e.KID)], e)
	l.entries = append(l.entries, e)
}

// Lookup returns every entry with that kid (verifier.TrustStore).
func (l *TrustList) Lookup(kid []byte) []*keys.TrustEntry {
	if l == nil {
		return nil
	}
	return l.byKID[string(kid)]
}

// Len returns the number of DSCs.
func (l *TrustList) Len() int { return len(l.entries) }

// Entries returns the DSCs in list order, as a fresh slice.
func (l *TrustList) Entries() []*keys.TrustEntry {
	return append([]*keys.TrustEntry(nil), l.entries...)
}

// Stores fans a lookup out to several trust stores (the signed national
// list and an EU gateway file, say), in order.
type Stores []interface {
	Lookup(kid []byte) []*keys.TrustEntry
}

// Lookup returns the entries of every store with that kid.
func (ss Stores) Lookup(kid []byte) []*keys.TrustEntry {
	var out []*keys.TrustEntry
	for _, s := range ss {
		if s != nil {
			out = append(out, s.Lookup(kid)...)
		}
	}
	return out
}

// parseCert decodes a standard-base64 DER certificate and checks that kid
// is its DCC kid.
func parseCert(b64DER, kid string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.Strict().DecodeString(b64DER)
	if err != nil || len(der) > limits.MaxCertificate {
		return nil, fmt.Errorf("not a base64 certificate")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if kid != keys.KIDString(keys.KID(der)) {
		return nil, fmt.Errorf("kid %q is not the certificate's kid", kid)
	}
	return cert, nil
}
