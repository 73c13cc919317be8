package jsonschema

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	sjs "github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/vaxcert/vaxcert/internal/dates"
	"github.com/vaxcert/vaxcert/schemas"
)

// compiled holds the embedded schemas, each compiled once, keyed by
// release.
var compiled = sync.OnceValue(func() map[string]*sjs.Schema {
	out := make(map[string]*sjs.Schema)
	for _, s := range schemas.Schemas() {
		sch, err := compile(s)
		if err != nil {
			// The schemas are embedded and compiled by the tests.
			panic(err)
		}
		out[s.Version] = sch
	}
	return out
})

// schemaFor returns the compiled schema for a document, by its "ver".
func schemaFor(doc any) *sjs.Schema {
	ver := ""
	if m, ok := doc.(map[string]any); ok {
		ver, _ = m["ver"].(string)
	}
	return compiled()[schemas.SchemaFor(ver).Version]
}

func compile(s schemas.Schema) (*sjs.Schema, error) {
	data, err := schemas.FS.ReadFile(s.File)
	if err != nil {
		return nil, fmt.Errorf("schemas/jsonschema: failed to read embedded schema %s: %w", s.Version, err)
	}
	doc, err := sjs.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("schemas/jsonschema: failed to parse embedded schema %s: %w", s.Version, err)
	}
	c := sjs.NewCompiler()
	c.UseLoader(refuseLoader{})
	if s.AssertFormat {
		c.AssertFormat()
		c.RegisterFormat(&sjs.Format{Name: "date", Validate: formatCheck(dates.IsDate)})
		c.RegisterFormat(&sjs.Format{Name: "date-time", Validate: formatCheck(dates.IsDateTime)})
	}
	if err := c.AddResource(s.ID, doc); err != nil {
		return nil, fmt.Errorf("schemas/jsonschema: failed to add embedded schema %s: %w", s.Version, err)
	}
	sch, err := c.Compile(s.ID)
	if err != nil {
		return nil, fmt.Errorf("schemas/jsonschema: failed to compile embedded schema %s: %w", s.Version, err)
	}
	return sch, nil
}

// refuseLoader keeps the compiler off the network and the file system: the
// embedded schema references only itself and the built-in 2020-12
// meta-schema.
type refuseLoader struct{}

var errNoLoad = errors.New("schemas/jsonschema: external schema references are not loaded")

func (refuseLoader) Load(string) (any, error) { return nil, errNoLoad }

var errFormat = errors.New("value does not match format")

func formatCheck(ok func(string) bool) func(any) error {
	return func(v any) error {
		if s, isString := v.(string); isString && !ok(s) {
			return errFormat
		}
		return nil
	}
}

// Validate checks doc, a decoded JSON value, against the embedded DCC
// schema and the default value sets; see [ValidateWith].
func Validate(doc any) error { return ValidateWith(doc, nil) }

// ValidateWith checks doc against the embedded DCC schema of its declared
// version ([ValidateSchema]; for 1.3.x, formats "date" and "date-time"
// asserted as in [schemas.DCC.Validate]) and checks the value-set membership of the same
// members as [schemas.DCC.Validate], using vs (nil means
// [schemas.DefaultValueSets]).
//
// doc is a decoded JSON value: map[string]any, []any, string, bool, nil and
// numbers as json.Number or float64, as produced by this module's
// dependency github.com/santhosh-tekuri/jsonschema/v6's UnmarshalJSON or by
// encoding/json with UseNumber. Members the schema does not define are
// allowed: the schema has no "additionalProperties": false.
//
// It returns nil or a [*schemas.ValidationError] naming the first violation
// (field and rule, never the value), which matches [schemas.ErrSchema].
// It is safe for concurrent use.
func ValidateWith(doc any, vs *schemas.ValueSets) error {
	if vs == nil {
		vs = schemas.DefaultValueSets()
	}
	if err := ValidateSchema(doc); err != nil {
		return err
	}
	return schemas.ValidateValueSetsGeneric(doc, vs)
}

// ValidateSchema checks doc against the embedded DCC schema of the version
// it declares in "ver" ([schemas.SchemaFor]: 1.0.x against 1.0.1, 1.1.x and
// 1.2.x against 1.2.1, everything else against 1.3.3), without value-set
// membership; otherwise as [ValidateWith]. "format" is asserted for 1.3
// only (see [schemas.Schema]).
//
// Payloads of every version must hold exactly one of v, t and r: the rule
// of the EU regulation that schema 1.3.0 wrote down as "oneOf" (the EU test
// vectors expect a 1.2.1 payload holding v, t and r to fail).
func ValidateSchema(doc any) error {
	if err := schemaFor(doc).Validate(doc); err != nil {
		var ve *sjs.ValidationError
		if !errors.As(err, &ve) {
			return &schemas.ValidationError{Rule: schemas.RuleType}
		}
		return firstViolation(ve)
	}
	if m, ok := doc.(map[string]any); ok {
		n := 0
		for _, g := range []string{"v", "t", "r"} {
			if _, ok := m[g]; ok {
				n++
			}
		}
		if n != 1 {
			return &schemas.ValidationError{Rule: schemas.RuleOneOf}
		}
	}
	return nil
}

// firstViolation walks santhosh-tekuri's error tree to its first leaf, or
// to the first oneOf/anyOf, which the typed validator reports as such.
func firstViolation(e *sjs.ValidationError) error {
	for {
		switch e.ErrorKind.(type) {
		case *kind.OneOf, *kind.AnyOf:
		default:
			if len(e.Causes) > 0 {
				e = e.Causes[0]
				continue
			}
		}
		break
	}
	field := fieldPath(e.InstanceLocation)
	if req, ok := e.ErrorKind.(*kind.Required); ok && len(req.Missing) > 0 {
		field = joinField(field, req.Missing[0])
	}
	// A value that is not JSON (such as a Go int or []byte) has no keyword.
	rule := schemas.RuleType
	if kp := e.ErrorKind.KeywordPath(); len(kp) > 0 {
		rule = kp[len(kp)-1]
	}
	return &schemas.ValidationError{Field: field, Rule: rule}
}

// fieldPath turns an instance location such as [v 0 mp] into "v[0].mp".
func fieldPath(loc []string) string {
	var b strings.Builder
	for i, tok := range loc {
		if i > 0 && isIndex(tok) {
			b.WriteString("[" + tok + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func joinField(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func isIndex(tok string) bool {
	if tok == "" {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return false
		}
	}
	return true
}
