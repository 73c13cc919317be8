package certdoc

import (
	"strings"
	"sync"
	"unicode"

	"github.com/go-fonts/dejavu/dejavusans"
	"github.com/go-fonts/dejavu/dejavusansbold"
	"github.com/go-pdf/fpdf"
)

// repertoire is every character a Document text field may hold: Latin (ASCII,
// Latin-1, Extended-A and -B, which hold Ơ ơ Ư ư), combining diacritics, the
// Vietnamese precomposed letters of Latin Extended Additional, common
// punctuation and the đồng sign. DejaVu Sans draws all of them.
var repertoire = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x0020, Hi: 0x007e, Stride: 1},
		{Lo: 0x00a0, Hi: 0x024f, Stride: 1},
		{Lo: 0x0300, Hi: 0x036f, Stride: 1},
		{Lo: 0x1e00, Hi: 0x1eff, Stride: 1},
		{Lo: 0x2010, Hi: 0x2027, Stride: 1},
		{Lo: 0x20ab, Hi: 0x20ac, Stride: 1},
	},
}

// fontFamily is the family name the fonts are registered under.
const fontFamily = "DejaVuSans"

// The DejaVu fonts cut down to repertoire, made once: parsing the full fonts
// (0.7 MB each) for every document would dominate the render time, and fpdf
// offers no way to share a parsed font between documents.
var (
	fontsOnce             sync.Once
	fontRegular, fontBold []byte
)

// addFonts registers the regular and bold fonts with pdf.
func addFonts(pdf *fpdf.Fpdf) {
	fontsOnce.Do(func() {
		var cut strings.Builder
		for _, r := range repertoire.R16 {
			for c := r.Lo; c <= r.Hi; c++ {
				cut.WriteRune(rune(c))
			}
		}
		fontRegular = fpdf.UTF8CutFont(dejavusans.TTF, cut.String())
		fontBold = fpdf.UTF8CutFont(dejavusansbold.TTF, cut.String())
	})
	pdf.AddUTF8FontFromBytes(fontFamily, "", fontRegular)
	pdf.AddUTF8FontFromBytes(fontFamily, "B", fontBold)
}
