package hcqr

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"rsc.io/qr/coding"

	"github.com/vaxcert/vaxcert/internal/dgcvectors"
	"github.com/vaxcert/vaxcert/internal/hcqr/hcqrtest"
)

func TestEncodeQR(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		version int // expected QR version, 0 if it must not fit
	}{
		{"prefix only", "HC1:", 1},
		{"typical 554 chars", hcqrtest.RandomHC1(550, 1), 18},
		// A long digit run: the encoder must not switch to numeric mode.
		{"digit run", "HC1:" + strings.Repeat("0123456789", 6) + hcqrtest.RandomHC1(400, 2)[4:], 16},
		{"largest at level Q", hcqrtest.RandomHC1(2416, 3), 40},
		{"too long", hcqrtest.RandomHC1(2417, 4), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := Encode(tc.text)
			if tc.version == 0 {
				if ok {
					t.Fatalf("Encode(%d chars) ok, want too long", len(tc.text))
				}
				return
			}
			if !ok {
				t.Fatalf("Encode(%d chars) not ok", len(tc.text))
			}
			if got := (len(m) - 17) / 4; got != tc.version {
				t.Errorf("version %d, want %d", got, tc.version)
			}
			segs, level := hcqrtest.ReadSegments(t, m)
			if level != coding.Q {
				t.Errorf("level %v, want Q", level)
			}
			if len(segs) != 1 || segs[0].Mode != 2 || segs[0].Text != tc.text {
				t.Errorf("segments %+v, want one alphanumeric segment with the input", segs)
			}
		})
	}
}

// TestPNGDigitRuns renders texts with long digit runs (where
// skip2/go-qrcode, no longer used, switched to a numeric segment) and reads
// the PNG back: one alphanumeric segment at level Q, and zbarimg decodes the
// text.
func TestPNGDigitRuns(t *testing.T) {
	for name, text := range map[string]string{
		"15 digits":          "HC1:ABC" + strings.Repeat("0123456789", 1) + "01234XYZ",
		"60 digits":          "HC1:" + strings.Repeat("0123456789", 6) + hcqrtest.RandomHC1(400, 2)[4:],
		"all digits":         "HC1:" + strings.Repeat("9", 500),
		"typical 554 chars":  hcqrtest.RandomHC1(550, 1),
		"largest at level Q": hcqrtest.RandomHC1(2416, 3),
	} {
		t.Run(name, func(t *testing.T) {
			b, err := PNG(text, 4)
			if err != nil {
				t.Fatal(err)
			}
			segs, level := hcqrtest.ReadSegments(t, hcqrtest.FromPNG(t, b))
			if level != coding.Q || len(segs) != 1 || segs[0].Mode != 2 || segs[0].Text != text {
				t.Fatalf("level %v, %d segments (first mode %d); want one alphanumeric segment at Q", level, len(segs), segs[0].Mode)
			}
			zbar, err := exec.LookPath("zbarimg")
			if err != nil {
				if os.Getenv(dgcvectors.EnvRequired) == "1" { // .ci/run and make conformance set it

					t.Fatal("zbarimg not installed (apt-get install zbar-tools)")
				}
				t.Skip("zbarimg not installed (apt-get install zbar-tools); the PNG was read back but not decoded by a scanner")
			}
			cmd := exec.Command(zbar, "--raw", "-q", "-Sbinary", "-")
			cmd.Stdin = bytes.NewReader(b)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("zbarimg: %v", err)
			}
			if got := strings.TrimRight(string(out), "\n"); got != text {
				t.Fatalf("zbarimg decodes %d chars, want the %d-char text", len(got), len(text))
			}
		})
	}
	for name, text := range map[string]string{
		"lower case": "HC1:abc",
		"too long":   hcqrtest.RandomHC1(2417, 4),
	} {
		if _, err := PNG(text, 4); !errors.Is(err, ErrText) {
			t.Errorf("%s: err = %v, want ErrText", name, err)
		}
	}
}

// TestEncodeQRVectors encodes every PREFIX of the EU test vectors.
func TestEncodeQRVectors(t *testing.T) {
	files := vectorFiles(t)
	for _, f := range files {
		text := hcqrtest.VectorPrefix(t, f)
		m, ok := Encode(text)
		if !ok {
			t.Errorf("%s: does not fit", f)
			continue
		}
		if segs, _ := hcqrtest.ReadSegments(t, m); len(segs) != 1 || segs[0].Mode != 2 || segs[0].Text != text {
			t.Errorf("%s: not one alphanumeric segment holding the PREFIX", f)
		}
	}
	t.Logf("%d vectors encoded", len(files))
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
	text := hcqrtest.RandomHC1(550, 1)
	for b.Loop() {
		if _, ok := Encode(text); !ok {
			b.Fatal("does not fit")
		}
	}
}

// vectorFiles lists the EU test vectors whose PREFIX starts with "HC1:".
func vectorFiles(t *testing.T) []string {
	t.Helper()
	if _, err := os.Stat(hcqrtest.VectorDir); err != nil {
		t.Skipf("EU test vectors not found at %s: %v", hcqrtest.VectorDir, err)
	}
	var files []string
	err := filepath.WalkDir(hcqrtest.VectorDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".json" {
			return err
		}
		if p := hcqrtest.VectorPrefix(t, path); strings.HasPrefix(p, "HC1:") && IsAlphanumeric(p) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no HC1 vectors under %s", hcqrtest.VectorDir)
	}
	return files
}
