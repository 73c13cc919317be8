package certlogic

import (
	"fmt"
	"strings"
)

// Issue is one problem the validator found: the (sub-)expression and a
// message. Messages are those of certlogic-js's validator, so that the
// official validation suite compares equal.
type Issue struct {
	Expr    any    `json:"expr"`
	Message string `json:"message"`
}

// MaxDepth bounds how deeply expressions nest. The real rule sets nest
// under 15 levels.
const MaxDepth = 64

var infixOps = map[string]bool{
	"===": true, "and": true, ">": true, "<": true, ">=": true, "<=": true, "in": true, "+": true,
	"after": true, "before": true, "not-after": true, "not-before": true,
}

var timeUnits = []string{"year", "month", "day", "hour"}

func isTimeUnit(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	for _, u := range timeUnits {
		if s == u {
			return true
		}
	}
	return false
}

func isLiteral(v any) bool {
	switch v.(type) {
	case string, bool:
		return true
	}
	_, ok := isInt(v)
	return ok
}

// Validate checks expr (a value in this package's Go form, see [FromJSON])
// as a CertLogic expression and returns every issue found; none means
// valid. It follows certlogic-js's validateFormat, plus a nesting limit
// ([MaxDepth]).
//
// Reference: certlogic-js src/validation/format-validator.ts.
func Validate(expr any) []Issue {
	return validate(expr, 0)
}

func validate(expr any, depth int) []Issue {
	with := func(msg string) []Issue { return []Issue{{Expr: expr, Message: msg}} }
	if depth > MaxDepth {
		return with(fmt.Sprintf("expression nested deeper than %d levels", MaxDepth))
	}
	if isLiteral(expr) {
		return nil
	}
	switch x := expr.(type) {
	case float64:
		return with(jsNumber(x) + " is a non-integer number")
	case nil:
		return with("invalid CertLogic expression")
	case []any:
		var out []Issue
		for _, e := range x {
			out = append(out, validate(e, depth+1)...)
		}
		return out
	case map[string]any:
		if len(x) != 1 {
			return with(fmt.Sprintf("expression object must have exactly one key, but it has %d", len(x)))
		}
		var op string
		var values any
		for op, values = range x {
		}
		if op == "var" {
			path, ok := values.(string)
			if !ok {
				return with(`not of the form { "var": "<path>" }`)
			}
			if !validPath(path) {
				return with("data access path doesn't have a valid format: " + path)
			}
			return nil
		}
		args, ok := values.([]any)
		if !ok {
			return with(`operation not of the form { "<operator>": [ <values...> ] }`)
		}
		sub := func(vs []any) []Issue {
			var out []Issue
			for _, v := range vs {
				out = append(out, validate(v, depth+1)...)
			}
			return out
		}
		first := func(n int) []any { return args[:min(n, len(args))] }
		var out []Issue
		switch {
		case op == "if":
			if len(args) != 3 {
				out = append(out, Issue{expr, fmt.Sprintf(`an "if"-operation must have exactly 3 values/operands, but it has %d`, len(args))})
			}
			return append(out, sub(first(3))...)
		case infixOps[op]:
			maxOperands := len(args)
			switch op {
			case "and":
				if len(args) < 2 {
					out = append(out, Issue{expr, fmt.Sprintf(`an "and" operation must have at least 2 operands, but it has %d`, len(args))})
				}
			case "<", ">", "<=", ">=", "after", "before", "not-after", "not-before":
				maxOperands = 3
				if len(args) < 2 || len(args) > 3 {
					out = append(out, Issue{expr, fmt.Sprintf(`an operation with operator "%s" must have 2 or 3 operands, but it has %d`, op, len(args))})
				}
			default:
				maxOperands = 2
				if len(args) != 2 {
					out = append(out, Issue{expr, fmt.Sprintf(`an operation with operator "%s" must have 2 operands, but it has %d`, op, len(args))})
				}
			}
			return append(out, sub(first(maxOperands))...)
		case op == "!":
			if len(args) != 1 {
				return with(fmt.Sprintf("a !-operation (logical not/negation) must have exactly 1 operand, but it has %d", len(args)))
			}
			return sub(args)
		case op == "plusTime":
			if len(args) != 3 {
				out = append(out, Issue{expr, fmt.Sprintf(`a "plusTime"-operation must have exactly 3 values/operands, but it has %d`, len(args))})
			}
			if len(args) > 0 {
				out = append(out, validate(args[0], depth+1)...)
			}
			if len(args) > 1 {
				if _, ok := isInt(args[1]); !ok {
					out = append(out, Issue{expr, `"amount" argument (#2) of "plusTime" must be an integer, but it is: ` + jsString(args[1])})
				}
			}
			if len(args) > 2 && !isTimeUnit(args[2]) {
				out = append(out, Issue{expr, `"unit" argument (#3) of "plusTime" must be a string equal to one of ` + strings.Join(timeUnits, ", ") + ", but it is: " + jsString(args[2])})
			}
			return out
		case op == "reduce":
			if len(args) != 3 {
				out = append(out, Issue{expr, fmt.Sprintf(`a "reduce"-operation must have exactly 3 values/operands, but it has %d`, len(args))})
			}
			return append(out, sub(first(3))...)
		case op == "extractFromUVCI":
			if len(args) != 2 {
				out = append(out, Issue{expr, fmt.Sprintf(`an "extractFromUVCI"-operation must have exactly 2 values/operands, but it has %d`, len(args))})
			}
			if len(args) > 0 {
				out = append(out, validate(args[0], depth+1)...)
			}
			if len(args) > 1 {
				if _, ok := isInt(args[1]); !ok {
					out = append(out, Issue{expr, `"index" argument (#2) of "extractFromUVCI" must be an integer, but it is: ` + jsString(args[1])})
				}
			}
			return out
		case op == "dccDateOfBirth":
			if len(args) != 1 {
				out = append(out, Issue{expr, fmt.Sprintf(`a "dccDateOfBirth"-operation must have exactly 1 value/operand, but it has %d`, len(args))})
			}
			if len(args) > 0 {
				out = append(out, validate(args[0], depth+1)...)
			}
			return out
		}
		return with(`unrecognised operator: "` + op + `"`)
	}
	return with("invalid CertLogic expression")
}

// validPath is the path syntax ^([^.]+?)(\.[^.]+?)*$, or "".
func validPath(p string) bool {
	if p == "" {
		return true
	}
	for _, f := range strings.Split(p, ".") {
		if f == "" {
			return false
		}
	}
	return true
}
