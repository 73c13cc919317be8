package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/vaxcert/vaxcert/internal/dates"
	"github.com/vaxcert/vaxcert/internal/limits"
)

// Value-set identifiers: the "valueSetId" of each EU DCC value set.
const (
	// SetDisease lists diseases or agents targeted (tg).
	SetDisease = "disease-agent-targeted"
	// SetVaccineProphylaxis lists vaccine or prophylaxis types (v[0].vp).
	SetVaccineProphylaxis = "sct-vaccines-covid-19"
	// SetVaccineProduct lists vaccine medicinal products (v[0].mp).
	SetVaccineProduct = "vaccines-covid-19-names"
	// SetVaccineMAH lists marketing authorisation holders or manufacturers
	// (v[0].ma).
	SetVaccineMAH = "vaccines-covid-19-auth-holders"
	// SetCountry lists ISO 3166-1 alpha-2 country codes plus XK (co).
	SetCountry = "country-2-codes"
	// SetTestType lists test types (t[0].tt).
	SetTestType = "covid-19-lab-test-type"
	// SetTestResult lists test results (t[0].tr).
	SetTestResult = "covid-19-lab-result"
	// SetTestManf lists rapid antigen test devices (t[0].ma).
	SetTestManf = "covid-19-lab-test-manufacturer-and-name"
	// SetVaccineEncoding is Annex A of the value-set guidelines: which
	// manufacturer and prophylaxis codes go with each vaccine product. It is
	// not a set of codes; [ValueSets.VaccineProphylaxis] reads it.
	SetVaccineEncoding = "vaccines-covid-19-encoding-instructions"
)

// Prophylaxis codes that [ValueSets.VaccineProphylaxis] treats specially.
const (
	// vpGeneric is SNOMED CT "COVID-19 vaccine", the least specific
	// prophylaxis code.
	vpGeneric = "28531000087107"
	// vpATC is the ATC code "covid-19 vaccines". Value sets 2.11.0
	// deprecated it and replaced it with vpGeneric (eu-dcc-valuesets
	// CHANGELOG.md, release 2.11.0).
	vpATC = "J07BX03"
	// deprecatedSuffix marks a retired product in Annex A's vaccine-code
	// ("NVX-CoV2373 (deprecated)"); vaccines-covid-19-names lists the same
	// product as plain "NVX-CoV2373".
	deprecatedSuffix = " (deprecated)"
)

// ValueSet is one parsed value-set file. It is immutable and safe for
// concurrent use.
type ValueSet struct {
	id     string
	date   string
	values map[string]value    // code -> entry; nil for SetVaccineEncoding
	annex  map[string][]string // SetVaccineEncoding: product code -> SNOMED CT codes
}

type value struct {
	display string
	active  bool
}

// ID returns the value set's valueSetId.
func (s *ValueSet) ID() string { return s.id }

// Date returns the value set's valueSetDate (YYYY-MM-DD).
func (s *ValueSet) Date() string { return s.date }

// valueSetFile is the JSON shape shared by all value-set files.
type valueSetFile struct {
	ID     *string         `json:"valueSetId"`
	Date   *string         `json:"valueSetDate"`
	Values json.RawMessage `json:"valueSetValues"`
}

// valueFile is one entry of an ordinary value set. The required members are
// those of the value-set schema (eu-dcc-valuesets valueset.json).
type valueFile struct {
	Display    *string `json:"display"`
	Lang       *string `json:"lang"`
	Active     *bool   `json:"active"`
	Version    *string `json:"version"`
	System     *string `json:"system"`
	ValidUntil string  `json:"validUntil"`
}

// annexFile is one entry of SetVaccineEncoding, keyed by product name.
type annexFile struct {
	Code         string   `json:"vaccine-code"`
	Manufacturer string   `json:"vaccine-manufacturer"`
	SCTCodes     []string `json:"sct-codes"`
	Note         string   `json:"note"`
}

// ParseValueSet parses one value-set file in the JSON shape published by
// eu-dcc-valuesets and the EU DCC Gateway. Parsing is strict: one JSON
// object of at most [limits.MaxValueSet] bytes with no unknown members, a
// valueSetId, a valueSetDate that is a full date, and at least one value,
// each with display, lang, active, version and system. The file
// vaccine-encoding-instructions.json ([SetVaccineEncoding]) is recognised by
// its valueSetId and parsed in its own shape.
//
// Every error matches [ErrValueSet].
func ParseValueSet(data []byte) (*ValueSet, error) {
	if len(data) > limits.MaxValueSet {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrValueSet, limits.MaxValueSet)
	}
	var f valueSetFile
	if err := decodeStrict(data, &f); err != nil {
		return nil, err
	}
	switch {
	case f.ID == nil || *f.ID == "":
		return nil, fmt.Errorf("%w: missing valueSetId", ErrValueSet)
	case f.Date == nil || !dates.IsDate(*f.Date):
		return nil, fmt.Errorf("%w: valueSetDate is not a full date", ErrValueSet)
	case f.Values == nil:
		return nil, fmt.Errorf("%w: missing valueSetValues", ErrValueSet)
	}
	s := &ValueSet{id: *f.ID, date: *f.Date}
	if s.id == SetVaccineEncoding {
		if err := s.parseAnnex(f.Values); err != nil {
			return nil, err
		}
		return s, nil
	}
	var entries map[string]valueFile
	if err := decodeStrict(f.Values, &entries); err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: no values", ErrValueSet)
	}
	s.values = make(map[string]value, len(entries))
	for code, e := range entries {
		if code == "" || e.Display == nil || e.Lang == nil || e.Active == nil || e.Version == nil || e.System == nil {
			return nil, fmt.Errorf("%w: value lacks a code, display, lang, active, version or system", ErrValueSet)
		}
		s.values[code] = value{display: *e.Display, active: *e.Active}
	}
	return s, nil
}

func (s *ValueSet) parseAnnex(raw json.RawMessage) error {
	var entries map[string]annexFile
	if err := decodeStrict(raw, &entries); err != nil {
		return err
	}
	if len(entries) == 0 {
		return fmt.Errorf("%w: no values", ErrValueSet)
	}
	s.annex = make(map[string][]string, len(entries))
	for _, e := range entries {
		code := strings.TrimSuffix(e.Code, deprecatedSuffix)
		if code == "" || e.Manufacturer == "" || len(e.SCTCodes) == 0 {
			return fmt.Errorf("%w: encoding instruction lacks vaccine-code, vaccine-manufacturer or sct-codes", ErrValueSet)
		}
		if _, dup := s.annex[code]; dup {
			return fmt.Errorf("%w: duplicate vaccine-code in encoding instructions", ErrValueSet)
		}
		s.annex[code] = e.SCTCodes
	}
	return nil
}

// decodeStrict decodes exactly one JSON value from data into v, rejecting
// unknown object members and trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrValueSet, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after the JSON object", ErrValueSet)
	}
	return nil
}

// ValueSets is a collection of value sets keyed by valueSetId. It is
// immutable after construction and safe for concurrent use.
type ValueSets struct {
	sets map[string]*ValueSet

	// The sets DCC.Validate consults, resolved once so that each lookup
	// is a single map access.
	disease, prophylaxis, product, mah, country, testType, testResult, testManf *ValueSet
}

var defaultValueSets = sync.OnceValue(func() *ValueSets {
	sets, err := parseDir(FS, ValueSetsDir)
	if err != nil {
		panic("schemas: embedded value sets: " + err.Error())
	}
	return (&ValueSets{}).With(sets...)
})

// DefaultValueSets returns the value sets embedded in this package (see the
// package documentation for their versions). They are parsed on first use;
// later calls return the same value.
func DefaultValueSets() *ValueSets { return defaultValueSets() }

// LoadValueSetsDir reads every *.json file at the top of fsys (for example
// os.DirFS("/etc/vaxcert/valuesets")) with [ParseValueSet] and returns the
// default value sets with each set replaced by the loaded file of the same
// valueSetId. Other files and subdirectories are ignored. If any file is
// unreadable, oversized or malformed, or two files carry the same
// valueSetId, it returns an error and no value sets: loading never applies
// half of a directory.
//
// Parse errors match [ErrValueSet]; errors reading fsys are wrapped as is.
func LoadValueSetsDir(fsys fs.FS) (*ValueSets, error) {
	sets, err := parseDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	return DefaultValueSets().With(sets...), nil
}

func parseDir(fsys fs.FS, dir string) ([]*ValueSet, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("schemas: failed to read value-set directory: %w", err)
	}
	var sets []*ValueSet
	seen := make(map[string]string)
	for _, e := range entries {
		if !e.Type().IsRegular() || path.Ext(e.Name()) != ".json" {
			continue
		}
		name := path.Join(dir, e.Name())
		data, err := readFileLimited(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("schemas: failed to read value set %s: %w", name, err)
		}
		s, err := ParseValueSet(data)
		if err != nil {
			return nil, fmt.Errorf("schemas: failed to load value set %s: %w", name, err)
		}
		if other, dup := seen[s.id]; dup {
			return nil, fmt.Errorf("schemas: failed to load value set %s: %w: valueSetId also in %s", name, ErrValueSet, other)
		}
		seen[s.id] = name
		sets = append(sets, s)
	}
	return sets, nil
}

func readFileLimited(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limits.MaxValueSet+1))
	if err != nil {
		return nil, err
	}
	if len(data) > limits.MaxValueSet {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrValueSet, limits.MaxValueSet)
	}
	return data, nil
}

// With returns a copy of vs in which each given set replaces the set with
// the same valueSetId (or is added). vs itself is not changed; nil sets are
// skipped.
func (vs *ValueSets) With(sets ...*ValueSet) *ValueSets {
	out := &ValueSets{sets: make(map[string]*ValueSet, len(vs.sets)+len(sets))}
	for id, s := range vs.sets {
		out.sets[id] = s
	}
	for _, s := range sets {
		if s != nil {
			out.sets[s.id] = s
		}
	}
	out.disease = out.sets[SetDisease]
	out.prophylaxis = out.sets[SetVaccineProphylaxis]
	out.product = out.sets[SetVaccineProduct]
	out.mah = out.sets[SetVaccineMAH]
	out.country = out.sets[SetCountry]
	out.testType = out.sets[SetTestType]
	out.testResult = out.sets[SetTestResult]
	out.testManf = out.sets[SetTestManf]
	return out
}

// IDs returns the valueSetIds of the sets in vs, sorted.
func (vs *ValueSets) IDs() []string {
	ids := make([]string, 0, len(vs.sets))
	for id := range vs.sets {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Codes returns every code of s, active or not, sorted (nil for
// [SetVaccineEncoding], which is not a set of codes). Business rules see
// value sets in this form (external.valueSets).
func (s *ValueSet) Codes() []string {
	if s == nil || s.values == nil {
		return nil
	}
	codes := make([]string, 0, len(s.values))
	for c := range s.values {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return codes
}

// Set returns the value set with the given valueSetId, or nil.
func (vs *ValueSets) Set(setID string) *ValueSet { return vs.sets[setID] }

// Has reports whether code is listed in the value set setID, active or not:
// certificates issued before a code was deprecated stay verifiable.
func (vs *ValueSets) Has(setID, code string) bool {
	_, ok := vs.sets[setID].lookup(code)
	return ok
}

// Active reports whether code is listed in the value set setID and active.
// Issuance refuses inactive codes.
func (vs *ValueSets) Active(setID, code string) bool {
	v, ok := vs.sets[setID].lookup(code)
	return ok && v.active
}

// Display returns the display text of code in the value set setID (for
// example "Comirnaty" for EU/1/20/1528), or "" if it is not listed.
func (vs *ValueSets) Display(setID, code string) string {
	v, _ := vs.sets[setID].lookup(code)
	return v.display
}

// has reports whether code is listed in s; a nil s lists nothing.
func (s *ValueSet) has(code string) bool {
	_, ok := s.lookup(code)
	return ok
}

func (s *ValueSet) lookup(code string) (value, bool) {
	if s == nil {
		return value{}, false
	}
	v, ok := s.values[code]
	return v, ok
}

// VaccineProphylaxis returns the vaccine-or-prophylaxis code (v[0].vp) to
// encode with the medicinal product mp (v[0].mp), following Annex A of the
// value-set guidelines ([SetVaccineEncoding]). Among the SNOMED CT codes
// Annex A lists for the product, it returns the first that is active in
// [SetVaccineProphylaxis] and more specific than the generic "COVID-19
// vaccine" (28531000087107); it falls back to that generic code when the
// product has no more specific one, including when Annex A lists only the
// deprecated ATC code J07BX03, which value sets 2.11.0 replaced with it.
// The choice is thus the same whichever Annex A edition is loaded. ok is
// false if Annex A does not list mp or none of its codes is usable.
//
// Every product of the embedded [SetVaccineProduct] is listed in the
// embedded Annex A (a test checks this), so no separate fallback table is
// needed.
func (vs *ValueSets) VaccineProphylaxis(mp string) (vp string, ok bool) {
	annex := vs.sets[SetVaccineEncoding]
	if annex == nil {
		return "", false
	}
	codes, ok := annex.annex[mp]
	if !ok {
		return "", false
	}
	generic := false
	for _, c := range codes {
		switch {
		case c == vpGeneric || c == vpATC:
			generic = true
		case vs.Active(SetVaccineProphylaxis, c):
			return c, true
		}
	}
	if generic && vs.Active(SetVaccineProphylaxis, vpGeneric) {
		return vpGeneric, true
	}
	return "", false
}
