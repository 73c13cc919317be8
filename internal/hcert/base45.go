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

// base45Weight[k][b] is the value of character b at place k of a group
// (index × 45^k), or base45Bad for a byte outside the alphabet: a triplet
// whose three weights add up to more than 0xFFFF is invalid one way or the
// other, so the decoder's loop has one test per group.
var base45Weight = func() (t [3][256]uint32) {
	for b := range 256 {
		for k, w := range [3]uint32{1, 45, 45 * 45} {
			t[k][b] = base45Bad
			if x := base45Index[b]; x >= 0 {
				t[k][b] = uint32(x) * w
			}
		}
	}
	return t
}()

// base45Bad is the weight of a byte outside the alphabet: over 0xFFFF, and
// three of them still fit in a uint32.
const base45Bad = 1 << 24

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
	in, o := src, out
	for len(in) >= 3 && len(o) >= 2 {
		n := base45Weight[0][in[0]] + base45Weight[1][in[1]] + base45Weight[2][in[2]]
		if n > 0xFFFF {
			return dst[:start], base45GroupError(in[:3], len(src)-len(in))
		}
		o[0], o[1] = byte(n>>8), byte(n)
		in, o = in[3:], o[2:]
	}
	i, j := len(src)-len(in), len(out)-len(o)
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

// base45GroupError is the error of a triplet at offset i that failed the
// decoder's one test.
func base45GroupError(g []byte, i int) error {
	if base45Index[g[0]]|base45Index[g[1]]|base45Index[g[2]] < 0 {
		return &Base45Error{Offset: i, Reason: "character outside the alphabet"}
	}
	return &Base45Error{Offset: i, Reason: "group value overflow"}
}
