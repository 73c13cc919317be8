package schemas

import (
	"unicode/utf8"

	"github.com/vaxcert/vaxcert/internal/dates"
)

// maxLength is the schema's maxLength for names, issuer, UVCI, test name and
// testing centre.
const maxLength = 80

// Validate checks d against the DCC JSON schema 1.3.x ([DCC.ValidateSchema])
// and then checks that every coded member is listed in its value set in vs
// ([DCC.ValidateValueSets]). A nil vs means [DefaultValueSets]. It returns
// nil or a [*ValidationError] for the first violation, which matches
// [ErrSchema]; a value-set violation has Rule [RuleValueSet].
func (d *DCC) Validate(vs *ValueSets) error {
	if err := d.ValidateSchema(); err != nil {
		return err
	}
	return d.ValidateValueSets(vs)
}

// ValidateSchema checks d against the DCC JSON schema 1.3.x, without
// value-set membership. It returns nil or a [*ValidationError] for the
// first violation, which matches [ErrSchema].
//
// The checks are plain Go, with no allocation on success: the rules of the
// embedded schema (required members, oneOf exactly one of v/t/r holding
// exactly one entry, anyOf fnt/gnt, maxLength in code points, the patterns
// of ver, dob, fnt, gnt and co, dn/sd at least 1, and "format": "date" /
// "date-time" asserted as RFC 3339 full-date / date-time).
//
// A Go value cannot tell an absent member from an empty one, so
// ValidateSchema reads d as the payload it encodes to:
//   - V, T and R are absent when nil; a non-nil empty slice is present and
//     violates minItems.
//   - Members with omitempty (fn, fnt, gn, gnt, and t[0].nm, ma, tc) are
//     absent when "": nam needs a non-empty fnt or gnt.
//   - Other members (dob, is, ci, ...) are always encoded, so "" is present:
//     an empty dob is valid (the schema allows it for unknown birth dates),
//     and an empty is or ci passes as the schema has no minLength.
//
// Unknown members of a decoded payload never reach d; the schema has no
// "additionalProperties": false, so they do not affect validity either.
//
// Reference: https://github.com/ehn-dcc-development/eu-dcc-schema (release 1.3.3)
func (d *DCC) ValidateSchema() error {
	if !isVersion(d.Ver) {
		return &ValidationError{Field: "ver", Rule: RulePattern}
	}
	if err := d.Nam.validate(); err != nil {
		return err
	}
	if !isDOB(d.Dob) {
		return &ValidationError{Field: "dob", Rule: RulePattern}
	}
	n := 0
	if d.V != nil {
		n++
	}
	if d.T != nil {
		n++
	}
	if d.R != nil {
		n++
	}
	if n != 1 {
		return &ValidationError{Rule: RuleOneOf}
	}
	switch {
	case d.V != nil:
		if err := checkItems("v", len(d.V)); err != nil {
			return err
		}
		return d.V[0].validate()
	case d.T != nil:
		if err := checkItems("t", len(d.T)); err != nil {
			return err
		}
		return d.T[0].validate()
	default:
		if err := checkItems("r", len(d.R)); err != nil {
			return err
		}
		return d.R[0].validate()
	}
}

// ValidateValueSets checks that every coded member of d is listed in its
// value set in vs, active or not (see [ValueSets.Has]): tg, vp, mp, ma and
// co of every v entry; tg, tt, tr, co and (when not empty) ma of every t
// entry; tg and co of every r entry. A nil vs means [DefaultValueSets]. It
// returns nil or a [*ValidationError] with Rule [RuleValueSet] naming the
// first member that is not listed. It does not check the schema: call it on
// a payload [DCC.ValidateSchema] accepted.
//
// Reference: https://github.com/ehn-dcc-development/eu-dcc-valuesets
func (d *DCC) ValidateValueSets(vs *ValueSets) error {
	if vs == nil {
		vs = DefaultValueSets()
	}
	for i := range d.V {
		if f := d.V[i].unlisted(vs); f != "" {
			return &ValidationError{Field: "v[" + itoa(i) + "]." + f, Rule: RuleValueSet}
		}
	}
	for i := range d.T {
		if f := d.T[i].unlisted(vs); f != "" {
			return &ValidationError{Field: "t[" + itoa(i) + "]." + f, Rule: RuleValueSet}
		}
	}
	for i := range d.R {
		if f := d.R[i].unlisted(vs); f != "" {
			return &ValidationError{Field: "r[" + itoa(i) + "]." + f, Rule: RuleValueSet}
		}
	}
	return nil
}

// unlisted returns the first coded member not in its value set, or "".
func (v *Vaccination) unlisted(vs *ValueSets) string {
	switch {
	case !vs.disease.has(v.TG):
		return "tg"
	case !vs.prophylaxis.has(v.VP):
		return "vp"
	case !vs.product.has(v.MP):
		return "mp"
	case !vs.mah.has(v.MA):
		return "ma"
	case !vs.country.has(v.CO):
		return "co"
	}
	return ""
}

func (t *Test) unlisted(vs *ValueSets) string {
	switch {
	case !vs.disease.has(t.TG):
		return "tg"
	case !vs.testType.has(t.TT):
		return "tt"
	case t.MA != "" && !vs.testManf.has(t.MA):
		return "ma"
	case !vs.testResult.has(t.TR):
		return "tr"
	case !vs.country.has(t.CO):
		return "co"
	}
	return ""
}

func (r *Recovery) unlisted(vs *ValueSets) string {
	switch {
	case !vs.disease.has(r.TG):
		return "tg"
	case !vs.country.has(r.CO):
		return "co"
	}
	return ""
}

func checkItems(field string, n int) error {
	switch {
	case n < 1:
		return &ValidationError{Field: field, Rule: RuleMinItems}
	case n > 1:
		return &ValidationError{Field: field, Rule: RuleMaxItems}
	}
	return nil
}

func (n *Name) validate() error {
	if n.FNT == "" && n.GNT == "" {
		return &ValidationError{Field: "nam", Rule: RuleAnyOf}
	}
	if tooLong(n.FN) {
		return &ValidationError{Field: "nam.fn", Rule: RuleMaxLength}
	}
	if tooLong(n.FNT) {
		return &ValidationError{Field: "nam.fnt", Rule: RuleMaxLength}
	}
	if !isStandardisedName(n.FNT) {
		return &ValidationError{Field: "nam.fnt", Rule: RulePattern}
	}
	if tooLong(n.GN) {
		return &ValidationError{Field: "nam.gn", Rule: RuleMaxLength}
	}
	if tooLong(n.GNT) {
		return &ValidationError{Field: "nam.gnt", Rule: RuleMaxLength}
	}
	if !isStandardisedName(n.GNT) {
		return &ValidationError{Field: "nam.gnt", Rule: RulePattern}
	}
	return nil
}

func (v *Vaccination) validate() error {
	switch {
	case v.DN < 1:
		return &ValidationError{Field: "v[0].dn", Rule: RuleMinimum}
	case v.SD < 1:
		return &ValidationError{Field: "v[0].sd", Rule: RuleMinimum}
	case !dates.IsDate(v.DT):
		return &ValidationError{Field: "v[0].dt", Rule: RuleFormat}
	case !hasUpper(v.CO):
		return &ValidationError{Field: "v[0].co", Rule: RulePattern}
	case tooLong(v.IS):
		return &ValidationError{Field: "v[0].is", Rule: RuleMaxLength}
	case tooLong(v.CI):
		return &ValidationError{Field: "v[0].ci", Rule: RuleMaxLength}
	}
	return nil
}

func (t *Test) validate() error {
	switch {
	case tooLong(t.NM):
		return &ValidationError{Field: "t[0].nm", Rule: RuleMaxLength}
	case !dates.IsDateTime(t.SC):
		return &ValidationError{Field: "t[0].sc", Rule: RuleFormat}
	case tooLong(t.TC):
		return &ValidationError{Field: "t[0].tc", Rule: RuleMaxLength}
	case !hasUpper(t.CO):
		return &ValidationError{Field: "t[0].co", Rule: RulePattern}
	case tooLong(t.IS):
		return &ValidationError{Field: "t[0].is", Rule: RuleMaxLength}
	case tooLong(t.CI):
		return &ValidationError{Field: "t[0].ci", Rule: RuleMaxLength}
	}
	return nil
}

func (r *Recovery) validate() error {
	switch {
	case !dates.IsDate(r.FR):
		return &ValidationError{Field: "r[0].fr", Rule: RuleFormat}
	case !hasUpper(r.CO):
		return &ValidationError{Field: "r[0].co", Rule: RulePattern}
	case tooLong(r.IS):
		return &ValidationError{Field: "r[0].is", Rule: RuleMaxLength}
	case !dates.IsDate(r.DF):
		return &ValidationError{Field: "r[0].df", Rule: RuleFormat}
	case !dates.IsDate(r.DU):
		return &ValidationError{Field: "r[0].du", Rule: RuleFormat}
	case tooLong(r.CI):
		return &ValidationError{Field: "r[0].ci", Rule: RuleMaxLength}
	}
	return nil
}

// tooLong reports whether s has more than maxLength code points (JSON
// Schema counts code points, not bytes). An invalid UTF-8 byte counts as
// one, as in the oracle.
func tooLong(s string) bool {
	return len(s) > maxLength && utf8.RuneCountInString(s) > maxLength
}

// isStandardisedName matches the fnt/gnt pattern ^[A-Z<]*$.
func isStandardisedName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && c != '<' {
			return false
		}
	}
	return true
}

// hasUpper matches the co pattern [A-Z]{1,10}, which is unanchored: any
// string containing an ASCII capital letter matches.
func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// isDOB matches the dob pattern ^((19|20)\d\d(-\d\d){0,2}){0,1}$: "", YYYY,
// YYYY-MM or YYYY-MM-DD with a year 1900-2099. Month and day are not
// range-checked; the schema does not check them either.
func isDOB(s string) bool { return s == "" || dates.Partial(s, false) }

// isVersion matches the ver pattern ^\d+.\d+.\d+$, where "." is the regular
// expression wildcard: any character except a line feed. The pattern is
// simulated as a small NFA over the states
//
//	0 start, 1 in first digits, 2 after first wildcard, 3 in second digits,
//	4 after second wildcard, 5 in last digits (accepting)
//
// held in a bit set.
func isVersion(s string) bool {
	const (
		start = 1 << iota
		d1
		w1
		d2
		w2
		d3
	)
	state := start
	for _, r := range s {
		digit := r >= '0' && r <= '9'
		wild := r != '\n'
		next := 0
		if digit {
			if state&(start|d1) != 0 {
				next |= d1
			}
			if state&(w1|d2) != 0 {
				next |= d2
			}
			if state&(w2|d3) != 0 {
				next |= d3
			}
		}
		if wild {
			if state&d1 != 0 {
				next |= w1
			}
			if state&d2 != 0 {
				next |= w2
			}
		}
		if next == 0 {
			return false
		}
		state = next
	}
	return state&d3 != 0
}
