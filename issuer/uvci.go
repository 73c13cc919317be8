package issuer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"strings"
)

// uvciCharset is the Luhn mod N alphabet of the UVCI checksum: a
// character's value is its index (N = 38; '#' is excluded).
const uvciCharset = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:"

// uvciPrefix starts every UVCI, and the checksum covers it.
const uvciPrefix = "URN:UVCI:"

// MinUVCISecretLen is the shortest UVCI secret [DeriveUVCI] and
// [BuildPayload] accept, in bytes.
const MinUVCISecretLen = 16

// uvciOpaqueLen is the length of the opaque part [DeriveUVCI] makes: 13
// base-36 characters carry 67 bits, and the whole UVCI is 30 characters, the
// top of the 27–30 target.
const uvciOpaqueLen = 13

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
// "URN:UVCI:01:<country>:<opaque>#<check>". The opaque part is 13 characters
// of HMAC-SHA-256(secret, personID, doseKey) in base 36, so the UVCI is 30
// characters long, reveals nothing about the person, and cannot be searched
// back to a national ID number without the secret. The same inputs always
// give the same UVCI.
//
// country must be an ISO 3166-1 alpha-2 code in upper case and secret at least
// [MinUVCISecretLen] bytes; otherwise DeriveUVCI returns "". The secret is
// per deployment and confidential: whoever holds it can test guessed ID
// numbers against a UVCI.
//
// Reference: eHN guidelines on verifiable vaccination certificates, Annex 2
// (UVCI structure); eu-dcc-schema wiki/FAQ.md.
func DeriveUVCI(secret []byte, country string, personID string, doseKey string) string {
	if len(secret) < MinUVCISecretLen || !isUpperAlpha2(country) {
		return ""
	}
	mac := hmac.New(sha256.New, secret)
	writeField(mac, "vaxcert uvci v1")
	writeField(mac, country)
	writeField(mac, personID)
	writeField(mac, doseKey)
	sum := mac.Sum(nil)

	var b strings.Builder
	b.Grow(len(uvciPrefix) + 6 + uvciOpaqueLen + 2)
	b.WriteString(uvciPrefix)
	b.WriteString("01:")
	b.WriteString(country)
	b.WriteByte(':')
	b.Write(base36(sum[:16]))
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

// base36 returns the last uvciOpaqueLen base-36 digits (0-9, A-Z) of the
// big-endian number b. b is overwritten.
func base36(b []byte) []byte {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	out := make([]byte, uvciOpaqueLen)
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
