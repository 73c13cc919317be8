package jsonschema

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	sjs "github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/schemas/internal/rfc3339"
)

// compiled is the embedded schema, compiled once.
var compiled = sync.OnceValue(func() *sjs.Schema {
	sch, err := compile()
	if err != nil {
		// The schema is embedded and compiled by the tests.
		panic(err)
	}
	return sch
})

func compile() (*sjs.Schema, error) {
	data, err := schemas.FS.ReadFile(schemas.SchemaFile)
	if err != nil {
		return nil, fmt.Errorf("schemas/jsonschema: failed to read embedded schema: %w", err)
	}
	doc, err := sjs.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("schemas/jsonschema: failed to parse embedded schema: %w", err)
	}
	c := sjs.NewCompiler()
	c.UseLoader(refuseLoader{})
	c.AssertFormat()
	c.RegisterFormat(&sjs.Format{Name: "date", Validate: formatCheck(rfc3339.IsDate)})
	c.RegisterFormat(&sjs.Format{Name: "date-time", Validate: formatCheck(rfc3339.IsDateTime)})
	if err := c.AddResource(schemas.SchemaID, doc); err != nil {
		return nil, fmt.Errorf("schemas/jsonschema: failed to add embedded schema: %w", err)
	}
	sch, err := c.Compile(schemas.SchemaID)
	if err != nil {
		return nil, fmt.Errorf("schemas/jsonschema: failed to compile embedded schema: %w", err)
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

// ValidateWith checks doc against the embedded DCC schema (version
// [schemas.SchemaVersion], formats "date" and "date-time" asserted as in
// [schemas.DCC.Validate]) and checks the value-set membership of the same
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

// ValidateSchema checks doc against the embedded DCC schema only, without
// value-set membership; otherwise as [ValidateWith].
func ValidateSchema(doc any) error {
	if err := compiled().Validate(doc); err != nil {
		var ve *sjs.ValidationError
		if !errors.As(err, &ve) {
			return &schemas.ValidationError{Rule: schemas.RuleType}
		}
		return firstViolation(ve)
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
