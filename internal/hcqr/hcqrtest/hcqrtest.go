// Package hcqrtest reads QR symbols back for tests: the segments and level
// of a module matrix, the matrix of a PNG, and pseudo-random HC1 texts. It
// is test support for hcqr and its users, not a QR decoder for input.
package hcqrtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"rsc.io/qr/coding"
)

// alphabet is hcqr.Alphabet (this package cannot import hcqr, whose own
// tests use it).
const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// VectorDir is the EU test vectors' folder, seen from a package two levels
// below the module root.
const VectorDir = "../../../shared/testdata/dgc"

// Segment is one data segment read back from a QR symbol.
type Segment struct {
	Mode int // mode indicator: 1 numeric, 2 alphanumeric, 4 byte
	Text string
}

// ReadSegments reads the data segments back from a QR module matrix (no quiet
// zone): format information, unmasking and de-interleaving come from the
// rsc.io/qr/coding plan of the same version, level and mask, whose pixel
// offsets index the de-interleaved bit stream. It reports the level too.
func ReadSegments(t testing.TB, m [][]bool) ([]Segment, coding.Level) {
	t.Helper()
	n := len(m)
	v := coding.Version((n - 17) / 4)
	if v < coding.MinVersion || v > coding.MaxVersion || int(v)*4+17 != n {
		t.Fatalf("matrix size %d is no QR version", n)
	}
	// Format information: both copies carry bit i at a Format pixel of
	// offset i; the plan of any level and mask has the same positions.
	probe, err := coding.NewPlan(v, coding.L, 0)
	if err != nil {
		t.Fatal(err)
	}
	var format uint
	for y, line := range probe.Pixel {
		for x, pix := range line {
			if pix.Role() == coding.Format && m[y][x] {
				format |= 1 << pix.Offset()
			}
		}
	}
	format ^= 0x5412
	level, mask := coding.Level(format>>13^1), coding.Mask(format>>10&7)
	plan, err := coding.NewPlan(v, level, mask)
	if err != nil {
		t.Fatal(err)
	}
	bits := make([]bool, plan.DataBytes*8)
	for y, line := range plan.Pixel {
		for x, pix := range line {
			if pix.Role() == coding.Data {
				bits[pix.Offset()] = m[y][x] != (pix&coding.Black != 0)
			}
		}
	}
	pos := 0
	read := func(k int) int {
		if pos+k > len(bits) {
			t.Fatalf("bit stream ends at %d, want %d more bits", pos, k)
		}
		r := 0
		for range k {
			r <<= 1
			if bits[pos] {
				r |= 1
			}
			pos++
		}
		return r
	}
	class := 0
	if v > 26 {
		class = 2
	} else if v > 9 {
		class = 1
	}
	var segs []Segment
	for len(bits)-pos >= 4 {
		mode := read(4)
		var sb strings.Builder
		switch mode {
		case 0: // terminator
			return segs, level
		case 1:
			count := read([3]int{10, 12, 14}[class])
			for ; count >= 3; count -= 3 {
				fmt.Fprintf(&sb, "%03d", read(10))
			}
			switch count {
			case 2:
				fmt.Fprintf(&sb, "%02d", read(7))
			case 1:
				fmt.Fprintf(&sb, "%d", read(4))
			}
		case 2:
			count := read([3]int{9, 11, 13}[class])
			for ; count >= 2; count -= 2 {
				w := read(11)
				sb.WriteByte(alphabet[w/45])
				sb.WriteByte(alphabet[w%45])
			}
			if count == 1 {
				sb.WriteByte(alphabet[read(6)])
			}
		case 4:
			count := read([3]int{8, 16, 16}[class])
			for range count {
				sb.WriteByte(byte(read(8)))
			}
		default:
			t.Fatalf("unexpected mode indicator %04b", mode)
		}
		segs = append(segs, Segment{mode, sb.String()})
	}
	return segs, level
}

// RandomHC1 returns "HC1:" and n pseudo-random Base45 characters: a stand-in
// for a real payload with the same QR size.
func RandomHC1(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 1))
	b := []byte("HC1:")
	for range n {
		b = append(b, alphabet[r.IntN(len(alphabet))])
	}
	return string(b)
}

// VectorPrefix returns the PREFIX field of a test vector file.
func VectorPrefix(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ PREFIX string }
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v.PREFIX
}

// FromPNG reads the module matrix back from a QR PNG drawn on a pixel grid
// with a light quiet zone: the top-left finder pattern gives the module size
// (it is 7 modules wide) and the symbol's origin.
func FromPNG(t testing.TB, b []byte) [][]bool {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	dark := func(x, y int) bool {
		r, g, bl, _ := img.At(x, y).RGBA()
		return r+g+bl < 3*0x8000
	}
	bounds := img.Bounds()
	x0, y0 := -1, -1
	for d := 0; d < bounds.Dx() && x0 < 0; d++ {
		if dark(d, d) {
			x0, y0 = d, d
		}
	}
	if x0 < 0 {
		t.Fatal("no dark pixel on the diagonal")
	}
	w := 0
	for x0+w < bounds.Dx() && dark(x0+w, y0) {
		w++
	}
	if w%7 != 0 {
		t.Fatalf("finder pattern %d px wide, not 7 modules", w)
	}
	px := w / 7
	n := (bounds.Dx() - 2*x0) / px
	m := make([][]bool, n)
	for y := range m {
		m[y] = make([]bool, n)
		for x := range m[y] {
			m[y][x] = dark(x0+x*px+px/2, y0+y*px+px/2)
		}
	}
	return m
}
