package jsonschema

import (
	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/schemas"
)

// Generic validates CBOR-decoded payloads (from the verifier, for payloads
// that do not fit the schema's Go types) against the JSON schema and the
// value sets. It implements verifier.PayloadValidator. The zero value uses
// the default value sets.
type Generic struct {
	ValueSets *schemas.ValueSets
}

// ValidateGeneric converts doc (generic CBOR values: maps with any keys,
// int64/uint64/float64 numbers, strings) to the JSON data model and
// validates it with [ValidateWith]. A payload that has no JSON form (byte
// strings aside, map keys other than strings) fails as a type violation.
func (g Generic) ValidateGeneric(doc any) error {
	j, err := hcert.JSONValue(doc)
	if err != nil {
		return &schemas.ValidationError{Rule: schemas.RuleType}
	}
	return ValidateWith(toJSONModel(j), g.ValueSets)
}

// toJSONModel maps Go integers to float64 and byte strings to a type the
// schema rejects, the way encoding/json would present them.
func toJSONModel(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = toJSONModel(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = toJSONModel(e)
		}
		return x
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case []byte:
		return struct{}{} // not a JSON type: fails the schema's type checks
	}
	return v
}
