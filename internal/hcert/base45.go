package hcert

import (
	"fmt"

	"github.com/vaxcert/vaxcert/internal/limits"
)

// base45Alphabet is the RFC 9285 alphabet in index order. Note the space at 36.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// base45Index maps a byte to its alphabet index, or -1.
var base45Index = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(base45Alphabet); i++ {
		t[base45Alphabet[i]] = int8(i)
	}
	return t
}()

// Base45EncodedLen returns the length of the Base45 encoding of n bytes.
func Base45EncodedLen(n int) int { return n/2*3 + n%2*2 }

// AppendBase45 appends the Base45 encoding of src to dst.
//
// Reference: RFC 9285 §4.
func AppendBase45(dst, src []byte) []byte {
	for i := 0; i+1 < len(src); i += 2 {
		n := int(src[i])<<8 | int(src[i+1])
		c, n := n%45, n/45
		d, e := n%45, n/45
		dst = append(dst, base45Alphabet[c], base45Alphabet[d], base45Alphabet[e])
	}
	if len(src)%2 == 1 {
		n := int(src[len(src)-1])
		dst = append(dst, base45Alphabet[n%45], base45Alphabet[n/45])
	}
	return dst
}

// AppendBase45Decode appends the decoding of the Base45 text src to dst.
//
// It is strict, so that every byte string has exactly one accepted encoding:
// it rejects characters outside the alphabet, triplets whose value exceeds
// 65535, trailing pairs whose value exceeds 255, and lengths ≡ 1 (mod 3).
// Errors are [*Base45Error]s matching [ErrBase45], or [ErrTooLarge] when the
// output would exceed [limits.MaxBase45Decoded].
//
// Reference: RFC 9285 §4.2: "A decoder MUST reject any encoded string that
// contains characters outside the alphabet, or that results in a value
// larger than 65535 for a triplet or 255 for a pair".
func AppendBase45Decode(dst, src []byte) ([]byte, error) {
	if len(src)%3 == 1 {
		return dst, &Base45Error{Offset: len(src) - 1, Reason: "length is 1 mod 3"}
	}
	outLen := len(src)/3*2 + len(src)%3/2
	if outLen > limits.MaxBase45Decoded {
		return dst, fmt.Errorf("%w: base45 output over %d bytes", ErrTooLarge, limits.MaxBase45Decoded)
	}
	start := len(dst)
	if cap(dst)-start < outLen {
		grown := make([]byte, start, start+outLen)
		copy(grown, dst)
		dst = grown
	}
	out := dst[start : start+outLen]
	j, i := 0, 0
	for ; i+3 <= len(src) && j+2 <= len(out); i, j = i+3, j+2 {
		c, d, e := base45Index[src[i]], base45Index[src[i+1]], base45Index[src[i+2]]
		if c|d|e < 0 {
			return dst[:start], &Base45Error{Offset: i, Reason: "character outside the alphabet"}
		}
		n := uint32(c) + uint32(d)*45 + uint32(e)*(45*45)
		if n > 0xFFFF {
			return dst[:start], &Base45Error{Offset: i, Reason: "group value overflow"}
		}
		out[j], out[j+1] = byte(n>>8), byte(n)
	}
	if i < len(src) { // a trailing pair
		c, d := base45Index[src[i]], base45Index[src[i+1]]
		if c|d < 0 {
			return dst[:start], &Base45Error{Offset: i, Reason: "character outside the alphabet"}
		}
		n := int(c) + int(d)*45
		if n > 0xFF {
			return dst[:start], &Base45Error{Offset: i, Reason: "group value overflow"}
		}
		out[j] = byte(n)
	}
	dst = dst[:start+outLen]
	return dst, nil
}
