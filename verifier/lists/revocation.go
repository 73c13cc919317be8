package lists

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/keys"
)

// HashType is one of the three DCC revocation hash types.
//
// Reference: https://github.com/eu-digital-green-certificates/dgc-overview (revocation), hash types
type HashType string

// The hash types.
const (
	HashUCI            HashType = "UCI"            // SHA-256 of the UVCI
	HashCountryCodeUCI HashType = "COUNTRYCODEUCI" // SHA-256 of the issuing country (CWT iss) then the UVCI
	HashSignature      HashType = "SIGNATURE"      // SHA-256 of the COSE signature; for ECDSA of r only
)

// HashTypes lists the hash types in the order [Hashes] holds them.
var HashTypes = [...]HashType{HashUCI, HashCountryCodeUCI, HashSignature}

// HashSize is the length of a revocation hash: the first 128 bits of the
// SHA-256 digest.
const HashSize = 16

// Hash is a revocation hash.
type Hash [HashSize]byte

// Hashes are a certificate's three revocation hashes, in [HashTypes] order.
type Hashes [3]Hash

// CertificateHashes computes the revocation hashes of a DCC from the CWT
// issuer, the UVCI and the COSE signature. For ES256 only r (the first
// half) is hashed, because (r, n−s) verifies as well, so s is not unique
// to the certificate.
func CertificateHashes(iss, uvci string, alg keys.Algorithm, sig []byte) Hashes {
	var h Hashes
	sum := sha256.Sum256([]byte(uvci))
	copy(h[0][:], sum[:])
	sum = sha256.Sum256([]byte(strings.ToUpper(iss) + uvci))
	copy(h[1][:], sum[:])
	if alg == keys.AlgES256 && len(sig) == 64 {
		sig = sig[:32]
	}
	sum = sha256.Sum256(sig)
	copy(h[2][:], sum[:])
	return h
}

// Batch is a group of hashes of one type whose certificates expire at the
// same time. In the payload Hashes is base64 of the concatenated 16-byte
// hashes, sorted ascending.
type Batch struct {
	Type    HashType `json:"type"`
	Expires int64    `json:"expires"` // Unix seconds: the revoked certificates' exp
	Hashes  []byte   `json:"hashes"`
}

// revocationPayload is a revocation list's JWS payload. Since is 0 for a
// full list; a delta holds the entries added after sequence Since.
type revocationPayload struct {
	Claims
	Since   uint64  `json:"since"`
	Batches []Batch `json:"batches"`
}

// entry is one revocation hash and when it may be forgotten.
type entry struct {
	h   Hash
	exp int64
}

// Revocations is a verified revocation list, full or delta. Its lookup is
// a binary search per hash type. It is immutable once returned, so safe for
// concurrent use; [Revocations.Apply] returns a new one.
type Revocations struct {
	Signed *Signed
	Since  uint64 // 0 for a full list
	byType [len(HashTypes)][]entry
}

// MaxRevocationList bounds a revocation list document, MaxRevocations its
// hashes.
const (
	MaxRevocationList = limits.MaxRevocationList
	MaxRevocations    = limits.MaxRevocations
)

// ParseRevocations opens a signed revocation list ([Open]) and decodes its
// batches: known types, whole hashes, at most [MaxRevocations] in all.
// Hashes whose certificates expired before now are dropped.
func ParseRevocations(data []byte, root *x509.Certificate, now time.Time) (*Revocations, error) {
	s, err := Open(data, root, KindRevocations, now, MaxRevocationList)
	if err != nil {
		return nil, err
	}
	var p revocationPayload
	if err := strictJSON(s.Payload, &p); err != nil {
		return nil, fail(ReasonMalformed, "revocation list payload", err)
	}
	s.Payload = nil // the hashes are decoded below; do not keep them twice
	if p.Since >= p.Sequence && p.Since != 0 {
		return nil, fail(ReasonMalformed, fmt.Sprintf("delta since %d is not before sequence %d", p.Since, p.Sequence), nil)
	}
	r := &Revocations{Signed: s, Since: p.Since}
	total := 0
	for i, b := range p.Batches {
		t := slices.Index(HashTypes[:], b.Type)
		if t < 0 {
			return nil, fail(ReasonMalformed, fmt.Sprintf("batches[%d]: unknown hash type %q", i, b.Type), nil)
		}
		if len(b.Hashes)%HashSize != 0 {
			return nil, fail(ReasonMalformed, fmt.Sprintf("batches[%d]: hashes are not a multiple of %d bytes", i, HashSize), nil)
		}
		n := len(b.Hashes) / HashSize
		if total += n; total > MaxRevocations {
			return nil, fail(ReasonTooLarge, fmt.Sprintf("more than %d hashes", MaxRevocations), nil)
		}
		if b.Expires <= now.Unix() {
			continue
		}
		es := r.byType[t]
		for j := 0; j < n; j++ {
			var e entry
			copy(e.h[:], b.Hashes[j*HashSize:])
			e.exp = b.Expires
			es = append(es, e)
		}
		r.byType[t] = es
	}
	for t := range r.byType {
		r.byType[t] = sortEntries(r.byType[t])
	}
	return r, nil
}

// sortEntries sorts by hash and keeps, for a hash listed twice, the later
// expiry.
func sortEntries(es []entry) []entry {
	slices.SortFunc(es, func(a, b entry) int {
		if c := bytes.Compare(a.h[:], b.h[:]); c != 0 {
			return c
		}
		return int(b.exp - a.exp) // later expiry first
	})
	return slices.CompactFunc(es, func(a, b entry) bool { return a.h == b.h })
}

// Len returns the number of hashes held.
func (r *Revocations) Len() int {
	n := 0
	for _, es := range r.byType {
		n += len(es)
	}
	return n
}

// Contains reports whether any of a certificate's hashes is listed as
// revoked, and by which type.
func (r *Revocations) Contains(h *Hashes) (HashType, bool) {
	if r == nil {
		return "", false
	}
	for t, es := range r.byType {
		_, found := slices.BinarySearchFunc(es, h[t], func(e entry, k Hash) int { return bytes.Compare(e.h[:], k[:]) })
		if found {
			return HashTypes[t], true
		}
	}
	return "", false
}

// Apply returns the list that results from applying a newer list d to r:
// a full list replaces r; a delta must follow r exactly (d.Since equals
// r's sequence) and adds its hashes. Either way d must come from the same
// issuer and not be older ([Version.Check]). Hashes expired at now are
// purged. r is not modified.
func (r *Revocations) Apply(d *Revocations, now time.Time) (*Revocations, error) {
	if r == nil {
		if d.Since != 0 {
			return nil, fail(ReasonBadDelta, fmt.Sprintf("a delta since %d with no full list held", d.Since), nil)
		}
		return d, nil
	}
	if err := VersionOf(r.Signed).Check(d.Signed); err != nil {
		return nil, err
	}
	if d.Since == 0 {
		return d, nil
	}
	if d.Since != r.Signed.Sequence {
		return nil, fail(ReasonBadDelta, fmt.Sprintf("delta since %d, held sequence %d", d.Since, r.Signed.Sequence), nil)
	}
	out := &Revocations{Signed: d.Signed}
	cut := now.Unix()
	total := 0
	for t := range r.byType {
		es := make([]entry, 0, len(r.byType[t])+len(d.byType[t]))
		for _, e := range r.byType[t] {
			if e.exp > cut {
				es = append(es, e)
			}
		}
		es = append(es, d.byType[t]...)
		out.byType[t] = sortEntries(es)
		total += len(out.byType[t])
	}
	if total > MaxRevocations {
		return nil, fail(ReasonTooLarge, fmt.Sprintf("more than %d hashes after the delta", MaxRevocations), nil)
	}
	return out, nil
}
