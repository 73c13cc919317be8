package jsonschema

import (
	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/schemas"
)

// Generic validates CBOR-decoded payloads (from the verifier, for payloads
// that do not fit the schema's Go types) against the JSON schema, without
// value-set membership (the verifier's value_sets check does that). It
// implements verifier.PayloadValidator.
type Generic struct{}

// ValidateGeneric converts doc (generic CBOR values: maps with any keys,
// int64/uint64/float64 numbers, strings) to the JSON data model and
// validates it with [ValidateSchema]. A payload that has no JSON form (byte
// strings aside, map keys other than strings) fails as a type violation.
func (Generic) ValidateGeneric(doc any) error {
	j, err := hcert.JSONValue(doc)
	if err != nil {
		return &schemas.ValidationError{Rule: schemas.RuleType}
	}
	return ValidateSchema(toJSONModel(j))
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
