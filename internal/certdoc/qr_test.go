package certdoc

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
	"rsc.io/qr/coding"
)

// segment is one data segment read back from a QR symbol.
type segment struct {
	mode int // mode indicator: 1 numeric, 2 alphanumeric, 4 byte
	text string
}

// readQR reads the data segments back from a QR module matrix (no quiet
// zone): format information, unmasking and de-interleaving come from the
// rsc.io/qr/coding plan of the same version, level and mask, whose pixel
// offsets index the de-interleaved bit stream. It reports the level too.
func readQR(t *testing.T, m [][]bool) ([]segment, coding.Level) {
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
	var segs []segment
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
				sb.WriteByte(qrAlphabet[w/45])
				sb.WriteByte(qrAlphabet[w%45])
			}
			if count == 1 {
				sb.WriteByte(qrAlphabet[read(6)])
			}
		case 4:
			count := read([3]int{8, 16, 16}[class])
			for range count {
				sb.WriteByte(byte(read(8)))
			}
		default:
			t.Fatalf("unexpected mode indicator %04b", mode)
		}
		segs = append(segs, segment{mode, sb.String()})
	}
	return segs, level
}

// randomHC1 returns "HC1:" and n pseudo-random Base45 characters: a stand-in
// for a real payload with the same QR size.
func randomHC1(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 1))
	b := []byte(hc1Prefix)
	for range n {
		b = append(b, qrAlphabet[r.IntN(len(qrAlphabet))])
	}
	return string(b)
}

func TestEncodeQR(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		version int // expected QR version, 0 if it must not fit
	}{
		{"prefix only", "HC1:", 1},
		{"typical 554 chars", randomHC1(550, 1), 18},
		// A long digit run: the encoder must not switch to numeric mode.
		{"digit run", "HC1:" + strings.Repeat("0123456789", 6) + randomHC1(400, 2)[4:], 16},
		{"largest at level Q", randomHC1(2416, 3), 40},
		{"too long", randomHC1(2417, 4), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := encodeQR(tc.text)
			if tc.version == 0 {
				if ok {
					t.Fatalf("encodeQR(%d chars) ok, want too long", len(tc.text))
				}
				return
			}
			if !ok {
				t.Fatalf("encodeQR(%d chars) not ok", len(tc.text))
			}
			if got := (len(m) - 17) / 4; got != tc.version {
				t.Errorf("version %d, want %d", got, tc.version)
			}
			segs, level := readQR(t, m)
			if level != coding.Q {
				t.Errorf("level %v, want Q", level)
			}
			if len(segs) != 1 || segs[0].mode != 2 || segs[0].text != tc.text {
				t.Errorf("segments %+v, want one alphanumeric segment with the input", segs)
			}
		})
	}
}

// TestGoQRCodeSplitsDigitRuns records why the package does not use
// skip2/go-qrcode: for a run of 15 or more digits it emits a numeric
// segment, and the HCERT specification requires alphanumeric mode.
func TestGoQRCodeSplitsDigitRuns(t *testing.T) {
	text := "HC1:ABC" + strings.Repeat("0123456789", 2) + "XYZ"
	q, err := qrcode.New(text, qrcode.High) // go-qrcode's High is level Q
	if err != nil {
		t.Fatal(err)
	}
	q.DisableBorder = true
	segs, level := readQR(t, q.Bitmap())
	if level != coding.Q || len(segs) != 3 || segs[1].mode != 1 || segs[0].text+segs[1].text+segs[2].text != text {
		t.Errorf("go-qrcode: level %v, segments %+v; want level Q with a numeric middle segment", level, segs)
	}
	m, _ := encodeQR(text)
	if segs, _ := readQR(t, m); len(segs) != 1 || segs[0].mode != 2 || segs[0].text != text {
		t.Errorf("encodeQR: segments %+v, want one alphanumeric segment", segs)
	}
}

// TestEncodeQRVectors encodes every PREFIX of the EU test vectors.
func TestEncodeQRVectors(t *testing.T) {
	files := vectorFiles(t)
	for _, f := range files {
		text := vectorPrefix(t, f)
		m, ok := encodeQR(text)
		if !ok {
			t.Errorf("%s: does not fit", f)
			continue
		}
		if segs, _ := readQR(t, m); len(segs) != 1 || segs[0].mode != 2 || segs[0].text != text {
			t.Errorf("%s: not one alphanumeric segment holding the PREFIX", f)
		}
	}
	t.Logf("%d vectors encoded", len(files))
}

const vectorDir = "../../../shared/testdata/dgc"

// vectorFiles lists the EU test vectors whose PREFIX starts with "HC1:".
func vectorFiles(t *testing.T) []string {
	t.Helper()
	if _, err := os.Stat(vectorDir); err != nil {
		t.Skipf("EU test vectors not found at %s: %v", vectorDir, err)
	}
	var files []string
	err := filepath.WalkDir(vectorDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".json" {
			return err
		}
		if strings.HasPrefix(vectorPrefix(t, path), hc1Prefix) && isQRAlphanumeric(vectorPrefix(t, path)) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no HC1 vectors under %s", vectorDir)
	}
	return files
}

// vectorPrefix returns the PREFIX field of a test vector file.
func vectorPrefix(t *testing.T, path string) string {
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

func TestPenalty(t *testing.T) {
	grid := func(n int, dark func(y, x int) bool) [][]bool {
		m := make([][]bool, n)
		for y := range m {
			m[y] = make([]bool, n)
			for x := range m[y] {
				m[y][x] = dark(y, x)
			}
		}
		return m
	}
	finderRow := "10111010000"
	tests := []struct {
		name string
		m    [][]bool
		want int
	}{
		// N1 8 rows+8 columns x (3+3) + N2 49 blocks x 3 + N4 100 % off x 10.
		{"all light 8x8", grid(8, func(y, x int) bool { return false }), 96 + 147 + 100},
		{"checkerboard 8x8", grid(8, func(y, x int) bool { return (x+y)%2 == 0 }), 0},
		// N1 184 (rows 90, columns 94) + N2 93 blocks x 3 + N3 40 + N4 9 x 10.
		{"finder-like row 11x11", grid(11, func(y, x int) bool { return y == 0 && finderRow[x] == '1' }), 184 + 279 + 40 + 90},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := penalty(tc.m); got != tc.want {
				t.Errorf("penalty = %d, want %d", got, tc.want)
			}
		})
	}
}

func BenchmarkEncodeQR(b *testing.B) {
	text := randomHC1(550, 1)
	for b.Loop() {
		if _, ok := encodeQR(text); !ok {
			b.Fatal("does not fit")
		}
	}
}
