package lists

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
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

// rawBatch is a Batch as decoded: the hashes stay base64, a slice of the
// payload, until they are decoded straight into the lookup table.
type rawBatch struct {
	Type    HashType  `json:"type"`
	Expires int64     `json:"expires"`
	Hashes  rawString `json:"hashes"`
}

// rawString keeps a JSON string's bytes (without quotes) without copying
// or unescaping them; base64 needs no escapes.
type rawString []byte

func (r *rawString) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' || bytes.IndexByte(b, '\\') >= 0 {
		return fmt.Errorf("hashes must be a base64 string")
	}
	*r = b[1 : len(b)-1]
	return nil
}

// revocationPayload is a revocation list's JWS payload. Since is 0 for a
// full list; a delta holds the entries added after sequence Since. It is
// decoded with encoding/json's non-strict Unmarshal, once, in place: a
// list of a million hashes is 21 MB of JSON, and the strict decoder would
// copy it whole. The list is signed, so an unknown member changes nothing.
type revocationPayload struct {
	Claims
	Since   uint64     `json:"since"`
	Batches []rawBatch `json:"batches"`
}

// entry is one revocation hash and when it may be forgotten (Unix
// seconds): 20 bytes.
type entry struct {
	h   Hash
	exp uint32
}

// Revocations is a verified revocation list, full or delta. Its lookup is
// a binary search per hash type. It is immutable once returned, so safe for
// concurrent use; [Revocations.Apply] returns a new one.
type Revocations struct {
	Signed *Signed
	Since  uint64 // of the last list applied: 0 when it was a full list, else the sequence the delta followed
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
	var p revocationPayload
	s, err := openInto(data, root, KindRevocations, now, MaxRevocationList, &p, &p.Claims)
	if err != nil {
		return nil, err
	}
	if p.Since >= p.Sequence && p.Since != 0 {
		return nil, fail(ReasonMalformed, fmt.Sprintf("delta since %d is not before sequence %d", p.Since, p.Sequence), nil)
	}
	r := &Revocations{Signed: s, Since: p.Since}
	var counts [len(HashTypes)]int
	total := 0
	for i, b := range p.Batches {
		t := slices.Index(HashTypes[:], b.Type)
		if t < 0 {
			return nil, fail(ReasonMalformed, fmt.Sprintf("batches[%d]: unknown hash type %q", i, b.Type), nil)
		}
		n := base64.StdEncoding.DecodedLen(len(b.Hashes)) / HashSize
		if total += n; total > MaxRevocations {
			return nil, fail(ReasonTooLarge, fmt.Sprintf("more than %d hashes", MaxRevocations), nil)
		}
		counts[t] += n
	}
	for t := range r.byType {
		r.byType[t] = make([]entry, 0, counts[t])
	}
	// Decode in chunks of 255 hashes: 4,080 bytes, a multiple of 3 bytes
	// and of 16, from 5,440 base64 characters (a multiple of 4).
	const chunkBytes, chunkChars = 48 * 85, 64 * 85
	var buf [chunkBytes]byte
	for i, b := range p.Batches {
		t := slices.Index(HashTypes[:], b.Type)
		if b.Expires <= now.Unix() {
			continue
		}
		if b.Expires > math.MaxUint32 {
			return nil, fail(ReasonMalformed, fmt.Sprintf("batches[%d]: expiry out of range", i), nil)
		}
		src := []byte(b.Hashes)
		for len(src) > 0 {
			chunk := min(len(src), chunkChars)
			n, err := base64.StdEncoding.Strict().Decode(buf[:], src[:chunk])
			if err != nil || n%HashSize != 0 {
				return nil, fail(ReasonMalformed, fmt.Sprintf("batches[%d]: hashes are not base64 of whole 16-byte hashes", i), err)
			}
			for j := 0; j < n; j += HashSize {
				var e entry
				copy(e.h[:], buf[j:])
				e.exp = uint32(b.Expires)
				r.byType[t] = append(r.byType[t], e)
			}
			src = src[chunk:]
		}
	}
	s.Payload = nil // decoded: do not keep 21 MB twice
	for t := range r.byType {
		r.byType[t] = sortEntries(r.byType[t])
	}
	return r, nil
}

// sortEntries sorts by hash and keeps, for a hash listed twice, the later
// expiry.
func sortEntries(es []entry) []entry {
	if slices.IsSortedFunc(es, cmpEntry) {
		return slices.CompactFunc(es, func(a, b entry) bool { return a.h == b.h })
	}
	slices.SortFunc(es, cmpEntry)
	return slices.CompactFunc(es, func(a, b entry) bool { return a.h == b.h })
}

// cmpEntry orders by hash, then later expiry first.
func cmpEntry(a, b entry) int {
	if x, y := binary.BigEndian.Uint64(a.h[:8]), binary.BigEndian.Uint64(b.h[:8]); x != y {
		if x < y {
			return -1
		}
		return 1
	}
	if c := bytes.Compare(a.h[8:], b.h[8:]); c != 0 {
		return c
	}
	return cmp.Compare(b.exp, a.exp)
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
	out := &Revocations{Signed: d.Signed, Since: d.Since}
	cut := uint32(max(0, min(now.Unix(), math.MaxUint32)))
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
