package issuer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"strconv"
	"strings"
	"time"
)

// uvciCharset is the Luhn mod N alphabet of the UVCI checksum: a
// character's value is its index (N = 38; '#' is excluded).
const uvciCharset = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:"

// uvciPrefix starts every UVCI, and the checksum covers it.
const uvciPrefix = "URN:UVCI:"

// MinUVCISecretLen is the shortest UVCI secret [DeriveUVCI] and
// [BuildPayload] accept, in bytes.
const MinUVCISecretLen = 16

// The opaque part [DeriveUVCI] makes is uvciTimeLen base-36 characters of
// the issuing second counted from uvciEpoch, then uvciMACLen of an HMAC:
// 16 characters, so the whole UVCI is 33 characters long (the eHN target
// is 27–30, the schema's limit 80, and 50 before schema 1.3.0).
//
// Why the time comes first: the store indexes certificates by UVCI (and
// the audit by "cert:<uvci>"). With an opaque part that is random from its
// first character, every certificate issued is inserted at a random leaf
// of those B-trees, so at a million certificates each insert dirties a
// page of its own and the database writes (WAL frames, checkpoints, full
// page images) grew with the store: batch issuance cost 1.22 times as much
// CPU per certificate at 1M persons as at 100k on both engines. UVCIs
// issued in the same second now share a prefix and sort together, so the
// inserts of a batch go to the few leaves at the right edge of each index
// (the idea of UUIDv7 and ULID). The prefix tells only the second of
// issuance, which the certificate states anyway (CWT claim 6, iat).
//
// uvciMACLen characters carry 51.7 bits: two certificates would have to be
// issued in the same second to collide at all, and at 10,000 certificates
// a second (the measured rate of one server) the chance of any collision in
// 154 million certificates is about 2e-4. The store refuses a UVCI in use
// (the person then stays pending and is issued again, in another second).
const (
	uvciTimeLen = 6  // 36^6 seconds: 2021-01-01 to 2089-12-24
	uvciMACLen  = 10 // 36^10 ≈ 2^51.7
)

// uvciEpoch is second 0 of the UVCI's time prefix, 2021-01-01T00:00:00Z (the
// DCC's first year). Times before it count as it.
var uvciEpoch = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)

// uvciMaxSecond is the last second the time prefix can hold (2089-12-24 05:45:35 UTC).
const uvciMaxSecond = 36*36*36*36*36*36 - 1

// LuhnMod38 returns the UVCI checksum character of s: Luhn mod N over
// [uvciCharset], computed over the whole string including "URN:UVCI:" and
// excluding the "#" that precedes the checksum. It returns [ErrUVCICharset]
// if s is empty or holds a character outside the alphabet (lower case
// included).
//
// Reference: eu-dcc-schema wiki/FAQ.md "UVCI checksum" (Annex 2 of the eHN
// guidelines on verifiable vaccination certificates);
// eu-dcc-schema examples/Luhn-Mod-N/luhn_mod_n.py.
func LuhnMod38(s string) (byte, error) {
	const n = len(uvciCharset)
	if s == "" {
		return 0, ErrUVCICharset
	}
	factor, sum := 2, 0
	for i := len(s) - 1; i >= 0; i-- {
		v := strings.IndexByte(uvciCharset, s[i])
		if v < 0 {
			return 0, ErrUVCICharset
		}
		addend := factor * v
		if factor == 2 {
			factor = 1
		} else {
			factor = 2
		}
		sum += addend/n + addend%n
	}
	return uvciCharset[(n-sum%n)%n], nil
}

// ValidUVCIChecksum reports whether uvci ends in "#" and a Luhn mod 38
// character that matches the rest of the string. Member states use other
// checksum variants, so a verifier must not reject a certificate on this
// result alone (eu-dcc-schema wiki/FAQ.md: "the checksum must not be relied
// upon for validating the certificate").
func ValidUVCIChecksum(uvci string) bool {
	i := len(uvci) - 2
	if i < 1 || uvci[i] != '#' {
		return false
	}
	c, err := LuhnMod38(uvci[:i])
	return err == nil && c == uvci[i+1]
}

// DeriveUVCI returns the UVCI of one certificate:
// "URN:UVCI:01:<country>:<opaque>#<check>", 33 characters. The opaque part
// is the second of issuedAt counted from 2021-01-01 UTC in 6 base-36
// characters, then 10 characters of HMAC-SHA-256(secret, country,
// issuedAt's second, personID, doseKey) in base 36. So UVCIs issued
// together sort together (the store's indexes stay local, see the notes
// above uvciTimeLen), and the UVCI reveals nothing about the person beyond
// the issuing time its certificate states anyway: it cannot be searched back
// to a national ID number without the secret. The same inputs always give
// the same UVCI.
//
// country must be an ISO 3166-1 alpha-2 code in upper case, secret at least
// [MinUVCISecretLen] bytes and issuedAt before 2089-12-24; otherwise DeriveUVCI
// returns "". A time before 2021 (the zero time included) counts as
// 2021-01-01. The secret is per deployment and confidential: whoever holds
// it can test guessed ID numbers against a UVCI.
//
// Reference: eHN guidelines on verifiable vaccination certificates, Annex 2
// (UVCI structure); eu-dcc-schema wiki/FAQ.md.
func DeriveUVCI(secret []byte, country string, issuedAt time.Time, personID string, doseKey string) string {
	if len(secret) < MinUVCISecretLen || !isUpperAlpha2(country) {
		return ""
	}
	sec := max(issuedAt.Unix()-uvciEpoch.Unix(), 0)
	if sec > uvciMaxSecond {
		return ""
	}
	mac := hmac.New(sha256.New, secret)
	writeField(mac, "vaxcert uvci v2")
	writeField(mac, country)
	writeField(mac, strconv.FormatInt(sec, 10))
	writeField(mac, personID)
	writeField(mac, doseKey)
	sum := mac.Sum(nil)

	var t [8]byte
	binary.BigEndian.PutUint64(t[:], uint64(sec))
	var b strings.Builder
	b.Grow(len(uvciPrefix) + 6 + uvciTimeLen + uvciMACLen + 2)
	b.WriteString(uvciPrefix)
	b.WriteString("01:")
	b.WriteString(country)
	b.WriteByte(':')
	b.Write(base36(t[:], uvciTimeLen))
	b.Write(base36(sum[:16], uvciMACLen))
	c, err := LuhnMod38(b.String())
	if err != nil {
		return "" // unreachable: every character is in the alphabet
	}
	b.WriteByte('#')
	b.WriteByte(c)
	return b.String()
}

// writeField writes s length-prefixed, so that field boundaries are part of
// the MAC input.
func writeField(h hash.Hash, s string) {
	var l [8]byte
	binary.BigEndian.PutUint64(l[:], uint64(len(s)))
	h.Write(l[:]) // a hash.Hash never returns an error
	h.Write([]byte(s))
}

// base36 returns the last n base-36 digits (0-9, A-Z) of the big-endian
// number b, zero-padded. b is overwritten.
func base36(b []byte, n int) []byte {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	out := make([]byte, n)
	for k := len(out) - 1; k >= 0; k-- {
		rem := 0
		for i := range b { // b = b / 36, rem = b % 36
			cur := rem<<8 | int(b[i])
			b[i] = byte(cur / 36)
			rem = cur % 36
		}
		out[k] = digits[rem]
	}
	return out
}

// isUpperAlpha2 reports whether s is two letters A–Z.
func isUpperAlpha2(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
