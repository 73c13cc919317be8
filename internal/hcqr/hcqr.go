// Package hcqr is the one QR encoder of vaxcert, for every QR code it
// draws: the PNG of the issuer library, the CLI and the service, and the
// printed PDF. HCERT requires alphanumeric mode (hcert_spec.md §4.2.2: "The
// Alphanumeric (Mode 2/QR Code symbols 0010) MUST be used in conjunction
// with Base45"), so the whole text is one alphanumeric segment, never split
// into numeric runs, at error-correction level Q.
//
// The bit-level encoding (segments, Reed-Solomon, placement, masks) is
// rsc.io/qr/coding; this package chooses the version and the mask (lowest
// ISO/IEC 18004 penalty, which rsc.io/qr does not compute) and renders PNGs.
// skip2/go-qrcode is not used: it puts a run of 15 or more digits in a
// numeric segment.
//
// All functions are safe for concurrent use.
package hcqr

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"strings"

	"rsc.io/qr/coding"
)

// Alphabet is the QR alphanumeric character set (ISO/IEC 18004 §7.4.4). It
// is exactly the Base45 alphabet, so a well-formed HC1 text fits it.
const Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// qrLevel is the error-correction level: Q (about 25 % recovery), as the
// HCERT specification recommends.
const qrLevel = coding.Q

// Encode encodes text, which must hold only qrAlphabet characters, as one
// alphanumeric-mode segment at level Q in the smallest version that fits, with
// the mask of lowest ISO/IEC 18004 penalty. It returns the module matrix
// without quiet zone, m[y][x] true for dark, or ok false if the text does not
// fit in version 40.
//
// Reference: https://github.com/ehn-dcc-development/hcert-spec/blob/main/hcert_spec.md §4.2.2
// > The Alphanumeric (Mode 2/QR Code symbols 0010) MUST be used in
// > conjunction with Base45.
func Encode(text string) (m [][]bool, ok bool) {
	if !IsAlphanumeric(text) {
		return nil, false
	}
	// coding.Alpha is one segment in alphanumeric mode, never split
	// (skip2/go-qrcode puts a run of 15+ digits in a numeric segment).
	enc := coding.Alpha(text)
	v := coding.Version(coding.MinVersion)
	for ; enc.Bits(v) > v.DataBytes(qrLevel)*8; v++ {
		if v == coding.MaxVersion {
			return nil, false
		}
	}
	best := -1
	for mask := coding.Mask(0); mask < 8; mask++ {
		plan, err := coding.NewPlan(v, qrLevel, mask)
		if err != nil {
			panic("hcqr: plan failed") // unreachable: v and mask are in range
		}
		code, err := plan.Encode(enc)
		if err != nil {
			// Unreachable: the text fits v and its alphabet was checked. The
			// error would quote the payload, so it is not passed on.
			panic("hcqr: encode failed")
		}
		cand := make([][]bool, code.Size)
		for y := range cand {
			cand[y] = make([]bool, code.Size)
			for x := range cand[y] {
				cand[y][x] = code.Black(x, y)
			}
		}
		if p := penalty(cand); best < 0 || p < best {
			best, m = p, cand
		}
	}
	return m, true
}

// IsAlphanumeric reports whether s holds only [Alphabet] characters.
func IsAlphanumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(Alphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// penalty scores a masked symbol by the four rules of ISO/IEC 18004:2015
// §7.8.3.1; the encoder keeps the mask with the lowest score.
func penalty(m [][]bool) int {
	n := len(m)
	cols := make([][]bool, n)
	for x := range cols {
		cols[x] = make([]bool, n)
		for y := range n {
			cols[x][y] = m[y][x]
		}
	}
	p, dark := 0, 0
	for y := range n {
		p += linePenalty(m[y]) + linePenalty(cols[y])
		for x := range n {
			if m[y][x] {
				dark++
			}
			if y+1 < n && x+1 < n && m[y][x] == m[y][x+1] && m[y][x] == m[y+1][x] && m[y][x] == m[y+1][x+1] {
				p += 3 // N2: each 2x2 block of one colour
			}
		}
	}
	// N4: 10 points per full 5 % the dark share deviates from 50 %.
	dev := 2*dark - n*n
	if dev < 0 {
		dev = -dev
	}
	return p + dev*10/(n*n)*10
}

// linePenalty scores one row or column by rules N1 and N3.
func linePenalty(l []bool) int {
	p, run := 0, 1
	for i := 1; i <= len(l); i++ {
		if i < len(l) && l[i] == l[i-1] {
			run++
			continue
		}
		if run >= 5 { // N1: a run of 5+i same-colour modules costs 3+i
			p += run - 2
		}
		run = 1
	}
	for i := 0; i+7 <= len(l); i++ {
		// N3: dark-light-dark-dark-dark-light-dark (1:1:3:1:1) with four
		// light modules on either side.
		if l[i] && !l[i+1] && l[i+2] && l[i+3] && l[i+4] && !l[i+5] && l[i+6] &&
			(allLight(l, i-4, i) || allLight(l, i+7, i+11)) {
			p += 40
		}
	}
	return p
}

// allLight reports whether modules from..to-1 of l are light; modules outside
// the symbol count as light (the quiet zone).
func allLight(l []bool, from, to int) bool {
	for i := max(from, 0); i < min(to, len(l)); i++ {
		if l[i] {
			return false
		}
	}
	return true
}

// QuietZone is the light border around a symbol, in modules (ISO/IEC
// 18004 requires 4).
const QuietZone = 4

// ErrText is returned by [PNG] for a text outside [Alphabet] or too long
// for a version-40 symbol at level Q.
var ErrText = errors.New("hcqr: text is not QR alphanumeric or too long for one QR code")

// PNG renders text as a QR code PNG ([Encode]): black on white, a
// [QuietZone]-module border, modulePixels pixels per module, a 1-bit
// palette. The error never quotes the text.
func PNG(text string, modulePixels int) ([]byte, error) {
	if modulePixels < 1 {
		return nil, errors.New("hcqr: modulePixels must be at least 1")
	}
	m, ok := Encode(text)
	if !ok {
		return nil, ErrText
	}
	side := (len(m) + 2*QuietZone) * modulePixels
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y, row := range m {
		for x, dark := range row {
			if !dark {
				continue
			}
			x0, y0 := (x+QuietZone)*modulePixels, (y+QuietZone)*modulePixels
			for py := y0; py < y0+modulePixels; py++ {
				line := img.Pix[py*img.Stride:]
				for px := x0; px < x0+modulePixels; px++ {
					line[px] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
