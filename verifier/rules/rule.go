package rules

import (
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/verifier/certlogic"
)

// Schema is the JSON schema of the rule envelope (see the package doc for
// its one deviation from the published file).
//
//go:embed validation-rule.schema.json
var Schema []byte

// SchemaID is the "$id" of [Schema].
const SchemaID = "https://webgate.acceptance.ec.europa.eu/dgcg-json-api/validation-rule.schema.json"

// ErrRule is matched by every error about a malformed rule or rule set.
var ErrRule = errors.New("rules: invalid rule")

// RuleError reports a malformed rule: the rule's identifier when known, the
// member at fault and what is wrong.
type RuleError struct {
	Identifier string // "" when unknown
	Field      string // the envelope member, e.g. "Identifier", "Logic"
	Problem    string
	Err        error // the certlogic validation error, for Field "Logic"
}

func (e *RuleError) Error() string {
	var b strings.Builder
	b.WriteString("rules: invalid rule")
	if e.Identifier != "" {
		b.WriteString(" " + e.Identifier)
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Problem)
	return b.String()
}

// Unwrap returns ErrRule and the underlying error.
func (e *RuleError) Unwrap() []error { return []error{ErrRule, e.Err} }

// Rule types and certificate types of the envelope.
const (
	Acceptance   = "Acceptance"
	Invalidation = "Invalidation"

	TypeGeneral     = "General"
	TypeTest        = "Test"
	TypeVaccination = "Vaccination"
	TypeRecovery    = "Recovery"
)

// Description is a rule's description in one language.
type Description struct {
	Lang string `json:"lang"`
	Desc string `json:"desc"`
}

// Rule is one validated, compiled business rule.
type Rule struct {
	Identifier      string
	Type            string // Acceptance or Invalidation
	Country         string
	Region          string // "" for the whole country
	Version         string
	SchemaVersion   string
	Engine          string
	EngineVersion   string
	CertificateType string // General, Test, Vaccination or Recovery
	Description     []Description
	ValidFrom       time.Time
	ValidTo         time.Time
	AffectedFields  []string
	Logic           *certlogic.Expr

	version [3]int
}

// Describe returns the description in lang, or "" when the rule has none.
func (r *Rule) Describe(lang string) string {
	for _, d := range r.Description {
		if d.Lang == lang {
			return d.Desc
		}
	}
	return ""
}

// Schema patterns (validation-rule.schema.json).
var (
	reIdentifier = regexp.MustCompile(`^(GR|VR|TR|RR|IR)-[A-Z]{2}-\d{4}$`)
	reCountry    = regexp.MustCompile(`^[A-Z]{2}$`)
	reSemver     = regexp.MustCompile(`^\d+\.\d+\.\d+`)
	reLang       = regexp.MustCompile(`^([a-z]{2}|[a-z]{2}-[a-z]{2})$`)
	reTimestamp  = regexp.MustCompile(`^\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-5]\d([-+][0-2]\d:[0-5]\d|Z)$`)
)

var requiredMembers = []string{"AffectedFields", "Country", "CertificateType", "Description", "Engine",
	"EngineVersion", "Identifier", "Logic", "SchemaVersion", "Type", "ValidFrom", "ValidTo", "Version"}

// Parse reads one rule (JSON, at most limits.MaxRuleFile bytes). Errors
// match [ErrRule] (or certlogic.ErrJSON for text that is not JSON).
func Parse(data []byte) (*Rule, error) {
	if len(data) > limits.MaxRuleFile {
		return nil, &RuleError{Problem: fmt.Sprintf("larger than %d bytes", limits.MaxRuleFile)}
	}
	v, err := certlogic.FromJSON(data)
	if err != nil {
		return nil, &RuleError{Problem: "not JSON", Err: err}
	}
	return FromValue(v)
}

// FromValue builds a rule from its decoded JSON (certlogic's Go form).
func FromValue(v any) (*Rule, error) {
	if err := CheckSchema(v); err != nil {
		return nil, err
	}
	m := v.(map[string]any)
	r := &Rule{
		Identifier:      m["Identifier"].(string),
		Type:            m["Type"].(string),
		Country:         m["Country"].(string),
		Version:         m["Version"].(string),
		SchemaVersion:   m["SchemaVersion"].(string),
		Engine:          m["Engine"].(string),
		EngineVersion:   m["EngineVersion"].(string),
		CertificateType: m["CertificateType"].(string),
	}
	if region, ok := m["Region"].(string); ok {
		r.Region = region
	}
	for _, d := range m["Description"].([]any) {
		d := d.(map[string]any)
		r.Description = append(r.Description, Description{Lang: d["lang"].(string), Desc: d["desc"].(string)})
	}
	for _, f := range m["AffectedFields"].([]any) {
		r.AffectedFields = append(r.AffectedFields, f.(string))
	}
	fail := func(field, problem string, err error) (*Rule, error) {
		return nil, &RuleError{Identifier: r.Identifier, Field: field, Problem: problem, Err: err}
	}
	var err error
	if r.ValidFrom, err = time.Parse(time.RFC3339, m["ValidFrom"].(string)); err != nil {
		return fail("ValidFrom", "not a valid date-time", nil)
	}
	if r.ValidTo, err = time.Parse(time.RFC3339, m["ValidTo"].(string)); err != nil {
		return fail("ValidTo", "not a valid date-time", nil)
	}
	if !r.ValidFrom.Before(r.ValidTo) {
		return fail("ValidTo", "not after ValidFrom", nil)
	}
	if !strings.EqualFold(r.Engine, "CERTLOGIC") {
		return fail("Engine", "not CERTLOGIC", nil)
	}
	r.version = semver(r.Version)
	if r.Logic, err = certlogic.Compile(m["Logic"]); err != nil {
		return fail("Logic", "not valid CertLogic: "+err.Error(), err)
	}
	return r, nil
}

// semver reads the leading MAJOR.MINOR.PATCH (the schema's pattern is a
// prefix match); numbers past 1e9 saturate.
func semver(s string) [3]int {
	var v [3]int
	for i, p := range strings.SplitN(s, ".", 3) {
		end := 0
		for end < len(p) && p[end] >= '0' && p[end] <= '9' {
			end++
		}
		n, err := strconv.Atoi(p[:end])
		if err != nil || n > 1e9 {
			n = 1e9
		}
		v[i] = n
	}
	return v
}

// CheckSchema checks a decoded rule against the envelope schema ([Schema])
// with typed checks: the same verdict as a JSON Schema validator on it
// (internal/ruleschema tests the two agree on every real rule and on
// mutations of them). It returns nil or a *RuleError.
func CheckSchema(v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return &RuleError{Problem: "not a JSON object"}
	}
	id, _ := m["Identifier"].(string)
	bad := func(field, problem string) error { return &RuleError{Identifier: id, Field: field, Problem: problem} }
	if !reIdentifier.MatchString(id) {
		id = ""
	}
	for _, k := range requiredMembers {
		if _, ok := m[k]; !ok {
			return bad(k, "missing")
		}
	}
	pattern := func(field string, re *regexp.Regexp) error {
		s, ok := m[field].(string)
		if !ok {
			return bad(field, "not a string")
		}
		if re != nil && !re.MatchString(s) {
			return bad(field, "does not match "+re.String())
		}
		return nil
	}
	enum := func(field string, values ...string) error {
		s, ok := m[field].(string)
		if !ok {
			return bad(field, "not a string")
		}
		for _, x := range values {
			if s == x {
				return nil
			}
		}
		return bad(field, "not one of "+strings.Join(values, ", "))
	}
	for _, err := range []error{
		pattern("Identifier", reIdentifier),
		enum("Type", Acceptance, Invalidation),
		pattern("Country", reCountry),
		pattern("Version", reSemver),
		pattern("SchemaVersion", reSemver),
		pattern("Engine", nil),
		pattern("EngineVersion", reSemver),
		enum("CertificateType", TypeGeneral, TypeTest, TypeVaccination, TypeRecovery),
		pattern("ValidFrom", reTimestamp),
		pattern("ValidTo", reTimestamp),
	} {
		if err != nil {
			return err
		}
	}
	descs, ok := m["Description"].([]any)
	if !ok {
		return bad("Description", "not an array")
	}
	if len(descs) == 0 {
		return bad("Description", "empty")
	}
	hasEN := false
	for _, d := range descs {
		dm, ok := d.(map[string]any)
		if !ok {
			return bad("Description", "item not an object")
		}
		lang, okL := dm["lang"]
		desc, okD := dm["desc"]
		if !okL || !okD {
			return bad("Description", "item lacks lang or desc")
		}
		ls, okL := lang.(string)
		ds, okD := desc.(string)
		if !okL || !okD {
			return bad("Description", "lang or desc not a string")
		}
		if !reLang.MatchString(ls) {
			return bad("Description", "lang does not match "+reLang.String())
		}
		if utf8.RuneCountInString(ds) < 20 {
			return bad("Description", "desc shorter than 20 characters")
		}
		if ls == "en" {
			hasEN = true
		}
	}
	if !hasEN {
		return bad("Description", "no English (en) description")
	}
	fields, ok := m["AffectedFields"].([]any)
	if !ok {
		return bad("AffectedFields", "not an array")
	}
	for _, f := range fields {
		if _, ok := f.(string); !ok {
			return bad("AffectedFields", "item not a string")
		}
	}
	logic, ok := m["Logic"].(map[string]any)
	if !ok {
		return bad("Logic", "not an object")
	}
	if len(logic) == 0 {
		return bad("Logic", "empty object")
	}
	return nil
}
