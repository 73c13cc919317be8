package issuer

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxNameLen is the schema's maxLength for nam.fn, nam.gn, nam.fnt and
// nam.gnt (DCC schema 1.3.x), and for the v[0].is text.
const maxNameLen = 80

// Transliterate returns the standardised form of one name field (nam.fnt or
// nam.gnt): the machine-readable-zone form of ICAO Doc 9303, upper case A–Z
// with '<' between name components.
//
// Rules, in order:
//   - The input is read as NFC, so composed and decomposed input give the
//     same result.
//   - Letters map through ICAO Doc 9303 Part 3 §6 (Table A, Latin; Table B,
//     Cyrillic) using the first, recommended option where the table offers
//     two: Ä→AE, Å→AA, Æ→AE, Ö→OE, Ø→OE, Œ→OE, Ü→UE, ß and ẞ→SS, Þ→TH, Ð→D,
//     Ĳ→IJ, Ñ→N. Other Latin letters lose their diacritics (É→E, Ł→L), which
//     covers Vietnamese: every tone mark and vowel mark is removed and Đ→D
//     ("Nguyễn Văn Đức" → NGUYEN<VAN<DUC).
//   - Cyrillic uses the table's common column, not the per-language variants:
//     Ж→ZH, Х→KH, Ц→TS, Ч→CH, Ш→SH, Щ→SHCH, Ъ→IE, Ы→Y, Ь dropped, Э→E, Ю→IU,
//     Я→IA, Й→I, Г→G, Ґ→G, Є→IE, Ї→I, Ў→U, Ђ→D, Ћ→C, Ѕ→DZ, Џ→DZ, Љ→LJ, Њ→NJ.
//   - Doc 9303 has no Greek table; Greek follows ELOT 743 as used in Greek
//     passports: Β→V, Η→I, Θ→TH, Ξ→X, Υ→Y, Φ→F, Χ→CH, Ψ→PS, Ω→O; ΑΥ, ΕΥ, ΗΥ →
//     AV, EV, IV before a vowel or a voiced consonant and AF, EF, IF
//     otherwise; ΟΥ→OU; ΓΓ→NG, ΓΞ→NX, ΓΧ→NCH; ΜΠ→B at the start of a word.
//     A diaeresis (ϋ) breaks a digraph.
//   - Spaces, hyphens and commas separate name components and become one
//     '<'; runs collapse, and no '<' leads or trails. Apostrophes and all
//     other characters (digits, punctuation, letters of other scripts) are
//     dropped, as Doc 9303 omits apostrophes (O'Neil → ONEIL).
//   - The result is cut at 80 bytes, the schema's maximum; a '<' left at
//     the end by the cut is dropped.
//
// The result is empty when s holds no transliterable letter. Transliterate
// is safe for concurrent use and makes one allocation for NFC input (the
// result); other input is normalised first, which allocates more.
//
// Reference: ICAO Doc 9303 Part 3 (8th ed., 2021) §6; eu-dcc-schema
// DCC.Core.Types.schema.json (nam.fnt, nam.gnt).
func Transliterate(s string) string {
	if norm.NFC.QuickSpanString(s) != len(s) { // IsNormalString allocates
		s = norm.NFC.String(s)
	}
	var out [maxNameLen]byte
	n := 0
	pendingSep := false // a separator was seen after the last letter
	inWord := false     // the previous letter belongs to the current word
	for i := 0; i < len(s) && n < len(out); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		e := lookup(r)
		if e.sep {
			pendingSep = n > 0
			inWord = false
			continue
		}
		if e.out == "" {
			continue
		}
		o, extra := e.out, byte(0)
		if e.greek != 0 {
			o, extra, i = greekDigraph(e, s, i, inWord)
		}
		if pendingSep {
			if n+1 >= len(out) {
				break
			}
			out[n] = '<'
			n++
			pendingSep = false
		}
		n += copy(out[n:], o)
		if extra != 0 && n < len(out) {
			out[n] = extra
			n++
		}
		inWord = true
	}
	return string(out[:n])
}

// greekDigraph applies the ELOT 743 digraph rules to the Greek letter e,
// whose next rune starts at s[i]. It returns the output for e, an optional
// extra output byte, and the index of the first rune not consumed.
func greekDigraph(e entry, s string, i int, inWord bool) (string, byte, int) {
	next, size := peek(s, i)
	switch {
	case e.greek&gAEH != 0 && next.greek&gUpsilon != 0:
		after, _ := peek(s, i+size)
		if after.greek&(gVowel|gVoiced) != 0 {
			return e.out, 'V', i + size
		}
		return e.out, 'F', i + size
	case e.greek&gOmicron != 0 && next.greek&gUpsilon != 0:
		return "OU", 0, i + size
	case e.greek&gGamma != 0 && next.greek&gNasalises != 0:
		return "N", 0, i
	case e.greek&gMu != 0 && next.greek&gPi != 0 && !inWord:
		return "B", 0, i + size
	}
	return e.out, 0, i
}

// peek returns the table entry of the rune at s[i] and its size; past the end
// it returns the zero entry.
func peek(s string, i int) (entry, int) {
	if i >= len(s) {
		return entry{}, 0
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	return lookup(r), size
}

// entry is the transliteration of one rune.
type entry struct {
	out   string // A–Z output; empty with sep unset: the rune is dropped
	sep   bool   // the rune separates name components ('<')
	greek uint16 // Greek letter classes for the digraph rules
}

// Greek letter classes (ELOT 743 digraph rules).
const (
	gVowel     uint16 = 1 << iota // α ε η ι ο υ ω
	gVoiced                       // β γ δ ζ λ μ ν ρ
	gAEH                          // α ε η: first letter of αυ, ευ, ηυ
	gOmicron                      // ο: first letter of ου
	gUpsilon                      // υ without diaeresis
	gGamma                        // γ
	gNasalises                    // γ ξ χ: a γ before them reads N
	gMu                           // μ
	gPi                           // π
)

// Table ranges: Latin, Greek and Cyrillic (U+0000–U+052F), and Latin
// Extended Additional (Vietnamese) plus Greek Extended (U+1E00–U+1FFF).
const (
	lowEnd    = 0x0530
	extStart  = 0x1E00
	extEnd    = 0x2000
	combStart = 0x0300 // combining diacritical marks
	combEnd   = 0x0370
)

var (
	lowTable [lowEnd]entry
	extTable [extEnd - extStart]entry
)

func lookup(r rune) entry {
	switch {
	case r < lowEnd:
		return lowTable[r]
	case r >= extStart && r < extEnd:
		return extTable[r-extStart]
	case unicode.IsSpace(r) || unicode.Is(unicode.Pd, r):
		return entry{sep: true}
	}
	return entry{}
}

// special holds the letters whose output is not their base letter: the ICAO
// Latin and Cyrillic tables and the Greek alphabet, upper case. Lower case and
// accented forms are derived from it.
var special = map[rune]string{
	// ICAO Doc 9303 Part 3 Table A (recommended options), plus letters
	// without a canonical decomposition.
	'Ä': "AE", 'Å': "AA", 'Æ': "AE", 'Ö': "OE", 'Ø': "OE", 'Ü': "UE", 'Œ': "OE",
	'ß': "SS", 'ẞ': "SS", 'Þ': "TH", 'Ð': "D", 'Đ': "D", 'Ħ': "H", 'Ł': "L",
	'Ŧ': "T", 'Ŋ': "N", 'ı': "I",

	// ICAO Doc 9303 Part 3 Table B, Cyrillic.
	'А': "A", 'Б': "B", 'В': "V", 'Г': "G", 'Ґ': "G", 'Д': "D", 'Ђ': "D",
	'Ѓ': "G", 'Е': "E", 'Ё': "E", 'Є': "IE", 'Ж': "ZH", 'З': "Z", 'Ѕ': "DZ",
	'И': "I", 'І': "I", 'Ї': "I", 'Й': "I", 'Ј': "J", 'К': "K", 'Л': "L",
	'Љ': "LJ", 'М': "M", 'Н': "N", 'Њ': "NJ", 'О': "O", 'П': "P", 'Р': "R",
	'С': "S", 'Т': "T", 'Ћ': "C", 'Ќ': "K", 'У': "U", 'Ў': "U", 'Ф': "F",
	'Х': "KH", 'Ц': "TS", 'Ч': "CH", 'Џ': "DZ", 'Ш': "SH", 'Щ': "SHCH",
	'Ъ': "IE", 'Ы': "Y", 'Ь': "", 'Э': "E", 'Ю': "IU", 'Я': "IA",

	// Greek, ELOT 743.
	'Α': "A", 'Β': "V", 'Γ': "G", 'Δ': "D", 'Ε': "E", 'Ζ': "Z", 'Η': "I",
	'Θ': "TH", 'Ι': "I", 'Κ': "K", 'Λ': "L", 'Μ': "M", 'Ν': "N", 'Ξ': "X",
	'Ο': "O", 'Π': "P", 'Ρ': "R", 'Σ': "S", 'Τ': "T", 'Υ': "Y", 'Φ': "F",
	'Χ': "CH", 'Ψ': "PS", 'Ω': "O",
}

// greekClass holds the digraph classes of the upper-case Greek letters.
var greekClass = map[rune]uint16{
	'Α': gVowel | gAEH, 'Ε': gVowel | gAEH, 'Η': gVowel | gAEH,
	'Ι': gVowel, 'Ο': gVowel | gOmicron, 'Υ': gVowel | gUpsilon, 'Ω': gVowel,
	'Β': gVoiced, 'Γ': gVoiced | gGamma | gNasalises, 'Δ': gVoiced, 'Ζ': gVoiced,
	'Λ': gVoiced, 'Μ': gVoiced | gMu, 'Ν': gVoiced, 'Ρ': gVoiced,
	'Ξ': gNasalises, 'Χ': gNasalises, 'Π': gPi,
}

func init() {
	for r := rune(0); r < lowEnd; r++ {
		lowTable[r] = build(r)
	}
	for r := rune(extStart); r < extEnd; r++ {
		extTable[r-extStart] = build(r)
	}
}

// build computes the table entry of r: a separator, a special letter (upper
// case, lower case, or accented), or the A–Z letters of r's compatibility
// decomposition with every mark removed.
func build(r rune) entry {
	switch r {
	case ' ', '-', ',':
		return entry{sep: true}
	}
	if unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) {
		return entry{sep: true}
	}
	if !unicode.IsLetter(r) {
		return entry{}
	}
	u := r
	if _, ok := special[u]; !ok {
		u = unicode.ToUpper(r)
	}
	if out, ok := special[u]; ok {
		return entry{out: out, greek: greekClass[u]}
	}
	var e entry
	diaeresis := false
	for _, c := range norm.NFKD.String(string(r)) {
		if c >= combStart && c < combEnd {
			diaeresis = diaeresis || c == 0x0308
			continue
		}
		u := c
		if _, ok := special[u]; !ok {
			u = unicode.ToUpper(c)
		}
		if out, ok := special[u]; ok {
			if e.out == "" {
				e.greek = greekClass[u]
			}
			e.out += out
		} else if u >= 'A' && u <= 'Z' {
			e.out += string(u)
		}
	}
	if diaeresis {
		e.greek &^= gUpsilon
	}
	return e
}
