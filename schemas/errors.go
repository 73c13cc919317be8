package schemas

import "errors"

// ErrSchema is matched (with [errors.Is]) by every error reporting that a DCC
// payload violates the DCC schema or a value set. The concrete error is a
// [*ValidationError].
var ErrSchema = errors.New("schemas: payload violates the DCC schema")

// ErrValueSet is matched (with [errors.Is]) by every error reporting a
// malformed, oversized or conflicting value-set file.
var ErrValueSet = errors.New("schemas: invalid value set")

// Rules reported in [ValidationError.Rule]. Most are the JSON Schema keyword
// that failed; RuleValueSet reports a code missing from its value set.
const (
	RuleRequired  = "required"
	RuleType      = "type"
	RuleOneOf     = "oneOf"
	RuleAnyOf     = "anyOf"
	RuleMinItems  = "minItems"
	RuleMaxItems  = "maxItems"
	RuleMaxLength = "maxLength"
	RulePattern   = "pattern"
	RuleMinimum   = "minimum"
	RuleFormat    = "format"
	RuleValueSet  = "valueset"
)

// ValidationError reports the first schema rule a DCC payload violates. It
// names the field and the rule but never the value, because DCC payloads are
// personal data. It matches [ErrSchema].
type ValidationError struct {
	// Field is the JSON path of the offending member, such as "v[0].mp" or
	// "nam.fnt"; "" is the payload itself (for RuleOneOf and RuleType).
	Field string
	// Rule is one of the Rule constants.
	Rule string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return "schemas: payload violates " + e.Rule
	}
	return "schemas: field " + e.Field + " violates " + e.Rule
}

// Unwrap returns [ErrSchema].
func (e *ValidationError) Unwrap() error { return ErrSchema }
