package keys

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/schemas"
)

// TrustEntry is one trusted DSC with what a verifier needs from it. Build it
// with [NewTrustEntry]; do not modify it once it is in a [TrustList].
type TrustEntry struct {
	// KID is the DSC's key identifier ([KID] of Cert.Raw).
	KID []byte
	// Cert is the parsed certificate.
	Cert *x509.Certificate
	// Country is the first C attribute of the subject, or "" without one.
	Country string
	// Key is the certificate's public key.
	Key crypto.PublicKey
	// Alg is the only algorithm Key may verify, from [AlgorithmFor]; it is
	// AlgNone for unsupported keys. Check it with [TrustEntry.Accepts].
	Alg Algorithm
	// NotBefore and NotAfter bound the certificate's validity. A DCC's iat
	// and exp must lie inside them.
	NotBefore, NotAfter time.Time
	// Usage is the set of DCC types the DSC may sign, after the key-usage
	// rule of the package documentation.
	Usage Usage

	fingerprint [sha256.Size]byte
}

// NewTrustEntry builds the trust entry of a DSC. It fails with [ErrNotSigner]
// for a CA certificate whose KeyUsage omits digitalSignature (a CSCA), which
// signs certificates, not DCCs. Any other certificate given as trusted is
// trusted for its key, even when its KeyUsage extension omits
// digitalSignature ([CanSign] is false): verifiers then warn rather than
// refuse. (One EU test vector's DSC is marked CA, with digitalSignature.) A key of an unsupported
// type or size is not an error either: the entry gets [AlgNone] and
// verifies nothing.
func NewTrustEntry(cert *x509.Certificate) (*TrustEntry, error) {
	if cert == nil || len(cert.Raw) == 0 {
		return nil, fmt.Errorf("%w: nil certificate", ErrMalformed)
	}
	if IsCSCA(cert) {
		return nil, ErrNotSigner
	}
	e := &TrustEntry{
		KID:         KID(cert.Raw),
		Cert:        cert,
		Key:         cert.PublicKey,
		Alg:         AlgorithmFor(cert.PublicKey),
		NotBefore:   cert.NotBefore,
		NotAfter:    cert.NotAfter,
		Usage:       certUsage(cert),
		fingerprint: sha256.Sum256(cert.Raw),
	}
	if len(cert.Subject.Country) > 0 {
		e.Country = cert.Subject.Country[0]
	}
	return e, nil
}

// IsCSCA reports whether cert is a CA certificate that may not sign
// documents (BasicConstraints cA and no digitalSignature): a CSCA, never a
// trust entry.
func IsCSCA(cert *x509.Certificate) bool { return cert.IsCA && !CanSign(cert) }

// CanSign reports whether cert may sign documents by its KeyUsage
// extension: the extension is absent or includes digitalSignature. The
// verifier warns ((warning signer_key_usage)) when a trusted DSC
// fails it.
func CanSign(cert *x509.Certificate) bool {
	return cert.KeyUsage == 0 || cert.KeyUsage&x509.KeyUsageDigitalSignature != 0
}

// Permits reports whether the DSC may sign a DCC of type t (see Key usage in
// the package documentation). TypeUnknown is never permitted.
//
// Reference: https://github.com/ehn-dcc-development/hcert-spec/blob/main/hcert_spec.md, Annex A.4
func (e *TrustEntry) Permits(t schemas.CertType) bool { return e.Usage.Permits(t) }

// Accepts reports whether a message signed with alg may be verified with
// this entry's key: alg is the entry's algorithm and not AlgNone. Verifiers
// must use it rather than compare Alg themselves, so that an unsupported key
// never verifies.
func (e *TrustEntry) Accepts(alg Algorithm) bool { return alg != AlgNone && alg == e.Alg }

// TrustList is a set of trusted DSCs indexed by kid, deduplicated by
// certificate (SHA-256 of the DER), holding at most limits.MaxTrustEntries.
//
// Concurrency: Lookup, Len and Entries are safe for concurrent use once the
// list is built; Add is not safe for concurrent use with any other method.
// To update a list in service, build a new one and swap the pointer. The
// zero value is an empty list.
type TrustList struct {
	byKID   map[string][]*TrustEntry
	seen    map[[sha256.Size]byte]struct{}
	entries []*TrustEntry
	limit   int // if > 0, a lower entry limit, set by tests
}

// NewTrustList builds a trust list from DSCs. See [TrustList.Add] for the
// errors it returns.
func NewTrustList(certs ...*x509.Certificate) (*TrustList, error) {
	l := &TrustList{
		byKID: make(map[string][]*TrustEntry, len(certs)),
		seen:  make(map[[sha256.Size]byte]struct{}, len(certs)),
	}
	for _, c := range certs {
		if err := l.Add(c); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Add adds a DSC to the list; a certificate already present is ignored. It
// returns the errors of [NewTrustEntry], or [ErrTooManyEntries] when the list
// is full.
func (l *TrustList) Add(cert *x509.Certificate) error {
	e, err := NewTrustEntry(cert)
	if err != nil {
		return err
	}
	return l.add(e)
}

func (l *TrustList) add(e *TrustEntry) error {
	if l.seen == nil {
		l.byKID = make(map[string][]*TrustEntry)
		l.seen = make(map[[sha256.Size]byte]struct{})
	}
	if _, dup := l.seen[e.fingerprint]; dup {
		return nil
	}
	limit := limits.MaxTrustEntries
	if l.limit > 0 {
		limit = l.limit
	}
	if len(l.entries) >= limit {
		return ErrTooManyEntries
	}
	l.seen[e.fingerprint] = struct{}{}
	l.byKID[string(e.KID)] = append(l.byKID[string(e.KID)], e)
	l.entries = append(l.entries, e)
	return nil
}

// Lookup returns every entry whose kid is kid, in insertion order, or nil.
// kids are 8 bytes, so distinct DSCs may collide: the caller must try each
// candidate and accept the message if any verifies.
//
// Reference: https://github.com/ehn-dcc-development/hcert-spec/blob/main/hcert_spec.md, §3.3.3
//
// > a verifier MUST check all DSCs with that kid
func (l *TrustList) Lookup(kid []byte) []*TrustEntry {
	found := l.byKID[string(kid)]
	if len(found) == 0 {
		return nil
	}
	return append([]*TrustEntry(nil), found...)
}

// Len returns the number of entries.
func (l *TrustList) Len() int { return len(l.entries) }

// Entries returns all entries in insertion order, as a fresh slice.
func (l *TrustList) Entries() []*TrustEntry {
	return append([]*TrustEntry(nil), l.entries...)
}
