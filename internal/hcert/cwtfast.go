package hcert

import (
	"unicode/utf8"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/schemas"
)

// The claims fast path: a reader for the claims in the shape issuers
// write, used by [DecodeClaimsDCC] before fxamacker/cbor.
//
// Why hand-written (the house rule is the library): the claims decode was
// the largest piece of verify overhead left over the ECDSA check
// (README, "Performance"), and fxamacker/cbor offers no option that
// changes its cost: it checks the whole item for well-formedness before
// decoding it, finds each struct field through a map keyed by name,
// decodes through reflection, and allocates every text string apart. This
// reader does one pass, one switch per key, and one allocation for all
// the strings (substrings of one copy of the payload) and one for the
// structs.
//
// It decides nothing: it accepts only a narrow shape (definite lengths,
// preferred integer encodings, integer iat and exp, no tags, no floats, no
// null, no duplicate keys, valid UTF-8, only the claims and the DCC
// members it knows, array lengths within limits) and returns ok = false on
// anything else, which fxamacker then decodes or rejects as before. What
// it accepts, fxamacker accepts with the same result: FuzzDecodeClaimsFast
// holds it to that.

// fastClaims is everything DecodeClaimsDCC returns, in one allocation.
type fastClaims struct {
	claims   Claims
	exp, iat NumericDate
	dcc      schemas.DCC
}

// fastReader reads CBOR items from b; s is string(b), whose substrings
// become the decoded strings.
type fastReader struct {
	b []byte
	s string
	p int
}

func decodeClaimsDCCFast(b []byte) (*Claims, *schemas.DCC, bool) {
	r := fastReader{b: b}
	n, ok := r.mapHead()
	if !ok {
		return nil, nil, false
	}
	r.s = string(b)
	out := new(fastClaims)
	var seen [4]bool // iss, exp, iat, hcert
	for range n {
		major, key, ok := r.head()
		if !ok {
			return nil, nil, false
		}
		k := -1
		switch {
		case major == 0 && key == ClaimIssuer:
			k = 0
			out.claims.Issuer, ok = r.text()
		case major == 0 && key == ClaimExpires:
			k = 1
			out.exp, ok = r.intDate()
			out.claims.Expires = &out.exp
		case major == 0 && key == ClaimIssuedAt:
			k = 2
			out.iat, ok = r.intDate()
			out.claims.IssuedAt = &out.iat
		case major == 1 && key == -1-ClaimHCert:
			k = 3
			ok = r.hcert(&out.dcc)
		}
		if k < 0 || !ok || seen[k] {
			return nil, nil, false
		}
		seen[k] = true
	}
	if r.p != len(b) || !seen[1] || !seen[2] || !seen[3] {
		return nil, nil, false
	}
	return &out.claims, &out.dcc, true
}

// head reads a head of major type 0 to 5 (readArg: definite, preferred).
func (r *fastReader) head() (major byte, arg uint64, ok bool) {
	major, arg, r.p, ok = readArg(r.b, r.p)
	return major, arg, ok && major <= 5
}

// mapHead reads the head of a map of at most limits.MaxCBORMapPairs pairs.
func (r *fastReader) mapHead() (uint64, bool) {
	major, n, ok := r.head()
	return n, ok && major == 5 && n <= limits.MaxCBORMapPairs
}

// text reads a text string of valid UTF-8.
func (r *fastReader) text() (string, bool) {
	s, ok := r.key()
	return s, ok && utf8.ValidString(s)
}

// key reads a text string without checking its UTF-8: a map key, which is
// either a member name the reader knows (ASCII) or ends the fast path.
func (r *fastReader) key() (string, bool) {
	major, n, ok := r.head()
	if !ok || major != 3 || n > uint64(len(r.b)-r.p) {
		return "", false
	}
	start := r.p
	r.p += int(n)
	return r.s[start:r.p], true
}

// intDate reads an integer NumericDate.
func (r *fastReader) intDate() (NumericDate, bool) {
	major, n, ok := r.head()
	switch {
	case !ok || n > 1<<62:
		return 0, false
	case major == 0:
		return NumericDate(n), true
	case major == 1:
		return NumericDate(-1 - int64(n)), true
	}
	return 0, false
}

// smallInt reads an unsigned integer that fits an int on every platform.
func (r *fastReader) smallInt() (int, bool) {
	major, n, ok := r.head()
	return int(n), ok && major == 0 && n <= 1<<31-1
}

// hcert reads the hcert claim: {1: eu_dcc_v1}.
func (r *fastReader) hcert(d *schemas.DCC) bool {
	n, ok := r.mapHead()
	if !ok || n != 1 {
		return false
	}
	if major, key, ok := r.head(); !ok || major != 0 || key != HCertEUDCCv1 {
		return false
	}
	return r.dcc(d)
}

// members reads a map with text keys, calling member for each value; a
// member reports false for a key it does not know or a bad value. seen
// tracks keys by the index member returns, to refuse duplicates.
func (r *fastReader) members(member func(key string) (int, bool)) bool {
	n, ok := r.mapHead()
	if !ok {
		return false
	}
	var seen uint32
	for range n {
		key, ok := r.key()
		if !ok {
			return false
		}
		i, ok := member(key)
		if !ok || i >= 32 || seen&(1<<i) != 0 {
			return false
		}
		seen |= 1 << i
	}
	return true
}

func (r *fastReader) dcc(d *schemas.DCC) bool {
	return r.members(func(key string) (int, bool) {
		var ok bool
		switch key {
		case "ver":
			d.Ver, ok = r.text()
			return 0, ok
		case "nam":
			return 1, r.name(&d.Nam)
		case "dob":
			d.Dob, ok = r.text()
			return 2, ok
		case "v":
			d.V, ok = entries(r, r.vaccination)
			return 3, ok
		case "t":
			d.T, ok = entries(r, r.test)
			return 4, ok
		case "r":
			d.R, ok = entries(r, r.recovery)
			return 5, ok
		}
		return 0, false
	})
}

// entries reads an array of entries of at most limits.MaxCBORArrayElements.
func entries[E any](r *fastReader, entry func(*E) bool) ([]E, bool) {
	major, n, ok := r.head()
	if !ok || major != 4 || n > limits.MaxCBORArrayElements {
		return nil, false
	}
	es := make([]E, n)
	for i := range es {
		if !entry(&es[i]) {
			return nil, false
		}
	}
	return es, true
}

// Member names of the entries, in the order of textField's fields.
var (
	nameKeys        = []string{"fn", "fnt", "gn", "gnt"}
	vaccinationKeys = []string{"tg", "vp", "mp", "ma", "dt", "co", "is", "ci"}
	testEntryKeys   = []string{"tg", "tt", "nm", "ma", "sc", "tr", "tc", "co", "is", "ci"}
	recoveryKeys    = []string{"tg", "fr", "co", "is", "df", "du", "ci"}
)

// textField reads the value of the text member key into the field of the
// same index as key in names; the index is the member's, for duplicates.
func (r *fastReader) textField(key string, names []string, fields ...*string) (int, bool) {
	for i, name := range names {
		if key == name {
			var ok bool
			*fields[i], ok = r.text()
			return i, ok
		}
	}
	return 0, false
}

func (r *fastReader) name(n *schemas.Name) bool {
	return r.members(func(key string) (int, bool) {
		return r.textField(key, nameKeys, &n.FN, &n.FNT, &n.GN, &n.GNT)
	})
}

func (r *fastReader) vaccination(v *schemas.Vaccination) bool {
	return r.members(func(key string) (int, bool) {
		var ok bool
		switch key {
		case "dn":
			v.DN, ok = r.smallInt()
			return len(vaccinationKeys), ok
		case "sd":
			v.SD, ok = r.smallInt()
			return len(vaccinationKeys) + 1, ok
		}
		return r.textField(key, vaccinationKeys, &v.TG, &v.VP, &v.MP, &v.MA, &v.DT, &v.CO, &v.IS, &v.CI)
	})
}

func (r *fastReader) test(t *schemas.Test) bool {
	return r.members(func(key string) (int, bool) {
		return r.textField(key, testEntryKeys, &t.TG, &t.TT, &t.NM, &t.MA, &t.SC, &t.TR, &t.TC, &t.CO, &t.IS, &t.CI)
	})
}

func (r *fastReader) recovery(e *schemas.Recovery) bool {
	return r.members(func(key string) (int, bool) {
		return r.textField(key, recoveryKeys, &e.TG, &e.FR, &e.CO, &e.IS, &e.DF, &e.DU, &e.CI)
	})
}
