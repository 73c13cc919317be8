package hcert

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/internal/dgcvectors"
	"github.com/vaxcert/vaxcert/internal/limits"
)

func TestBase45RFCVectors(t *testing.T) {
	// RFC 9285 §4.3 and §5.
	for _, tc := range []struct{ raw, enc string }{
		{"AB", "BB8"},
		{"Hello!!", "%69 VD92EX0"},
		{"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"},
		{"", ""},
		{"\x00", "00"},
		{"\xff\xff", "FGW"},
	} {
		if got := string(AppendBase45(nil, []byte(tc.raw))); got != tc.enc {
			t.Errorf("encode(%q) = %q, want %q", tc.raw, got, tc.enc)
		}
		if got := Base45EncodedLen(len(tc.raw)); got != len(tc.enc) {
			t.Errorf("Base45EncodedLen(%d) = %d, want %d", len(tc.raw), got, len(tc.enc))
		}
		got, err := AppendBase45Decode(nil, []byte(tc.enc))
		if err != nil || string(got) != tc.raw {
			t.Errorf("decode(%q) = %q, %v; want %q", tc.enc, got, err, tc.raw)
		}
	}
}

func TestBase45DecodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name, in   string
		wantOffset int
	}{
		{"triplet over 65535", "GGW", 0},
		{"pair over 255", "ZZ", 0},
		{"length 1 mod 3", "A", 0},
		{"length 4", "BB8A", 3},
		{"lowercase", "bb8", 0},
		{"outside alphabet", "BB8B#", 3},
		{"non-ASCII", "BB\xc3", 0},
		{"NUL", "B\x008", 0},
		{"second triplet overflows", "BB8GGW", 3},
		{"colon run (minvws accepts it)", ":::", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := AppendBase45Decode(nil, []byte(tc.in))
			var be *Base45Error
			if !errors.As(err, &be) || !errors.Is(err, ErrBase45) {
				t.Fatalf("got %v, want *Base45Error matching ErrBase45", err)
			}
			if be.Offset != tc.wantOffset {
				t.Errorf("offset = %d, want %d", be.Offset, tc.wantOffset)
			}
		})
	}
}

func TestBase45DecodeLimit(t *testing.T) {
	in := strings.Repeat("000", limits.MaxBase45Decoded/2+1)
	if _, err := AppendBase45Decode(nil, []byte(in)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}

// TestBase45Canonical checks that each byte string has one accepted
// encoding: every 2-byte value and every 3-char text either fails or
// round-trips exactly.
func TestBase45Canonical(t *testing.T) {
	for n := 0; n <= 0xFFFF; n++ {
		src := []byte{byte(n >> 8), byte(n)}
		enc := AppendBase45(nil, src)
		dec, err := AppendBase45Decode(nil, enc)
		if err != nil || !bytes.Equal(dec, src) {
			t.Fatalf("round trip of %x failed: %q %v", src, enc, err)
		}
	}
	for i := 0; i < 45*45*45; i++ {
		txt := []byte{base45Alphabet[i%45], base45Alphabet[i/45%45], base45Alphabet[i/45/45]}
		dec, err := AppendBase45Decode(nil, txt)
		if err != nil {
			continue
		}
		if got := AppendBase45(nil, dec); !bytes.Equal(got, txt) {
			t.Fatalf("%q decodes to %x which encodes as %q", txt, dec, got)
		}
	}
}

func TestBase45Vectors(t *testing.T) {
	for _, v := range dgcvectors.Load(t) {
		want, ok := v.Has("EXPECTEDB45DECODE")
		if !ok || v.Base45 == "" {
			continue
		}
		got, err := AppendBase45Decode(nil, []byte(v.Base45))
		ok = err == nil && (v.Compressed == nil || bytes.Equal(got, v.Compressed))
		if ok != want {
			t.Errorf("%s: decode ok = %v (err %v), want %v", v.Name, ok, err, want)
		}
	}
}

func FuzzBase45(f *testing.F) {
	f.Add([]byte("BB8"))
	f.Add([]byte("%69 VD92EX0"))
	f.Add([]byte("GGW"))
	for _, v := range dgcvectors.LoadIfPresent() {
		f.Add([]byte(v.Base45))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		dec, err := AppendBase45Decode(nil, in)
		if err != nil {
			if !errors.Is(err, ErrBase45) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// Strictness: an accepted text is the one canonical encoding.
		if enc := AppendBase45(nil, dec); !bytes.Equal(enc, in) {
			t.Fatalf("%q decodes to %x, which encodes as %q", in, dec, enc)
		}
	})
}
