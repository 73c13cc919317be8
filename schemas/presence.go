package schemas

// The Go types cannot tell an absent string member from an empty one. The
// two differ in the schema only where a required member is empty, or where
// t[0].ma is empty (present and empty fails its value set; absent is
// valid). [DCC.MayMissMembers] finds those rare payloads on the hot path,
// for free, and [CheckMembers] settles them on the decoded generic form.

// requiredMembers lists the required members of each entry type, schema
// 1.3.3.
var requiredMembers = map[string][]string{
	"":  {"ver", "nam", "dob"},
	"v": {"tg", "vp", "mp", "ma", "dn", "sd", "dt", "co", "is", "ci"},
	"t": {"tg", "tt", "sc", "tr", "co", "is", "ci"},
	"r": {"tg", "fr", "co", "is", "df", "du", "ci"},
}

// MayMissMembers reports whether d, decoded from CBOR, might lack a member
// the schema requires, or hold an empty t[0].ma: true when a string the
// schema requires, or t[0].ma, is empty. When it is false, [DCC.Validate]
// gives the schema's exact verdict; when it is true, call [CheckMembers] on
// the generic form too.
func (d *DCC) MayMissMembers() bool {
	if d.Ver == "" || d.Dob == "" {
		return true
	}
	for i := range d.V {
		v := &d.V[i]
		if v.TG == "" || v.VP == "" || v.MP == "" || v.MA == "" || v.DT == "" || v.CO == "" || v.IS == "" || v.CI == "" {
			return true
		}
	}
	for i := range d.T {
		t := &d.T[i]
		if t.TG == "" || t.TT == "" || t.SC == "" || t.TR == "" || t.CO == "" || t.IS == "" || t.CI == "" || t.MA == "" {
			return true
		}
	}
	for i := range d.R {
		r := &d.R[i]
		if r.TG == "" || r.FR == "" || r.CO == "" || r.IS == "" || r.DF == "" || r.DU == "" || r.CI == "" {
			return true
		}
	}
	return false
}

// CheckMembers checks member presence on a generic decoded payload (maps
// with string keys, as map[any]any or map[string]any): every required
// member present. It returns nil or a *ValidationError naming the member.
// (An empty t[0].ma is a value-set matter: see [ValidateValueSetsGeneric].)
func CheckMembers(doc any) error {
	top, ok := asMap(doc)
	if !ok {
		return &ValidationError{Rule: RuleType}
	}
	if err := requireIn(top, "", ""); err != nil {
		return err
	}
	for _, typ := range []string{"v", "t", "r"} {
		list, ok := top[typ].([]any)
		if !ok {
			continue
		}
		for i, e := range list {
			m, ok := asMap(e)
			if !ok {
				return &ValidationError{Field: typ, Rule: RuleType}
			}
			if err := requireIn(m, typ, typ+"["+itoa(i)+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}

func requireIn(m map[string]any, typ, path string) error {
	for _, k := range requiredMembers[typ] {
		if _, ok := m[k]; !ok {
			field := k
			if path != "" {
				field = path + "." + k
			}
			return &ValidationError{Field: field, Rule: RuleRequired}
		}
	}
	return nil
}

// asMap returns a map with string keys, converting map[any]any.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, e := range m {
			if s, ok := k.(string); ok {
				out[s] = e
			}
		}
		return out, true
	}
	return nil, false
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// codedMembers lists, per entry kind, the members checked against a value
// set, in the order [DCC.ValidateValueSets] checks them.
var codedMembers = map[string][]struct{ member, set string }{
	"v": {{"tg", SetDisease}, {"vp", SetVaccineProphylaxis}, {"mp", SetVaccineProduct}, {"ma", SetVaccineMAH}, {"co", SetCountry}},
	"t": {{"tg", SetDisease}, {"tt", SetTestType}, {"ma", SetTestManf}, {"tr", SetTestResult}, {"co", SetCountry}},
	"r": {{"tg", SetDisease}, {"co", SetCountry}},
}

// ValidateValueSetsGeneric is [DCC.ValidateValueSets] on a generic decoded
// payload (maps as map[any]any or map[string]any): every coded member that
// is present must be a string listed in its value set (an empty t[].ma is
// present, and not listed). Members that are absent, and entries that are
// not maps, are the schema's matter and are not reported here. A nil vs
// means [DefaultValueSets].
func ValidateValueSetsGeneric(doc any, vs *ValueSets) error {
	if vs == nil {
		vs = DefaultValueSets()
	}
	top, ok := asMap(doc)
	if !ok {
		return nil
	}
	for _, typ := range []string{"v", "t", "r"} {
		list, _ := top[typ].([]any)
		for i, e := range list {
			m, ok := asMap(e)
			if !ok {
				continue
			}
			for _, c := range codedMembers[typ] {
				code, present := m[c.member]
				if !present {
					continue
				}
				if s, _ := code.(string); !vs.Has(c.set, s) {
					return &ValidationError{Field: typ + "[" + itoa(i) + "]." + c.member, Rule: RuleValueSet}
				}
			}
		}
	}
	return nil
}
