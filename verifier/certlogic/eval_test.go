package certlogic_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/verifier/certlogic"
)

func TestEvalEdges(t *testing.T) {
	const errSentinel = "ERROR"
	// an operand that fails when evaluated: plusTime of a non-date string
	const boom = `{"plusTime": ["not a date", 0, "day"]}`
	tests := []struct {
		name, expr, data string
		want             string // JSON, or errSentinel
	}{
		{"if is lazy (then)", `{"if": [false, ` + boom + `, 1]}`, `{}`, `1`},
		{"if is lazy (else)", `{"if": [true, 1, ` + boom + `]}`, `{}`, `1`},
		{"if guard neither truthy nor falsy", `{"if": [{"plusTime": ["2021-01-01", 0, "day"]}, 1, 2]}`, `{}`, errSentinel},
		{"and is lazy", `{"and": [0, ` + boom + `]}`, `{}`, `0`},
		{"and returns last", `{"and": [1, "x"]}`, `{}`, `"x"`},
		{"and operand neither", `{"and": [1, {"plusTime": ["2021-01-01", 0, "day"]}]}`, `{}`, errSentinel},
		{"! of date is an error", `{"!": [{"dccDateOfBirth": ["1990"]}]}`, `{}`, errSentinel},
		{"! of {}", `{"!": [{"var": "x"}]}`, `{"x": {}}`, `true`},
		{"comparison needs integers", `{"<": [1, "2"]}`, `{}`, errSentinel},
		{"comparison on data float", `{"<": [{"var": "x"}, 2]}`, `{"x": 1.5}`, errSentinel},
		{"integer-valued float", `{"<": [{"var": "x"}, 2]}`, `{"x": 1.0}`, `true`},
		{"+ needs integers", `{"+": [1, {"var": "x"}]}`, `{}`, errSentinel},
		{"+", `{"+": [{"var": "a"}, -3]}`, `{"a": 5}`, `2`},
		{"=== no coercion", `{"===": [1, "1"]}`, `{}`, `false`},
		{"=== null", `{"===": [{"var": "x"}, {"var": "y"}]}`, `{}`, `true`},
		{"=== arrays deep", `{"===": [[1, "a"], {"var": "x"}]}`, `{"x": [1, "a"]}`, `true`},
		{"=== dates by instant", `{"===": [{"plusTime": ["2021-01-01T01:00:00+01:00", 0, "day"]}, {"plusTime": ["2021-01-01", 0, "day"]}]}`, `{}`, `true`},
		{"in non-array", `{"in": ["a", "abc"]}`, `{}`, errSentinel},
		{"date comparison needs dates", `{"after": ["2021-01-02", {"plusTime": ["2021-01-01", 0, "day"]}]}`, `{}`, errSentinel},
		{"ternary date comparison", `{"not-after": [{"plusTime": ["2021-01-01", 0, "day"]}, {"plusTime": ["2021-01-01", 12, "hour"]}, {"plusTime": ["2021-01-02", 0, "day"]}]}`, `{}`, `true`},
		{"dob of a number", `{"dccDateOfBirth": [{"var": "dob"}]}`, `{"dob": 1990}`, errSentinel},
		{"dob partial vs minors", `{"after": [{"dccDateOfBirth": [{"var": "dob"}]}, {"plusTime": ["2021-12-30", -18, "year"]}]}`, `{"dob": "2003"}`, `true`},
		{"plusTime of null", `{"plusTime": [{"var": "x"}, 1, "day"]}`, `{}`, errSentinel},
		{"invalid date", `{"plusTime": ["2021-02-30", 0, "day"]}`, `{}`, errSentinel},
		{"extractFromUVCI of number", `{"extractFromUVCI": [{"var": "x"}, 1]}`, `{"x": 5}`, errSentinel},
		{"extractFromUVCI huge index", `{"extractFromUVCI": ["a:b", 1000000000000]}`, `{}`, `null`},
		{"var into a string", `{"var": "x.0"}`, `{"x": "abc"}`, `null`},
		{"var numeric key on object", `{"var": "x.1"}`, `{"x": {"1": "one"}}`, `"one"`},
		{"var negative index", `{"var": "x.-1"}`, `{"x": [1, 2]}`, `null`},
		{"reduce of null gives initial", `{"reduce": [{"var": "x"}, 1, 7]}`, `{}`, `7`},
		{"reduce of non-array", `{"reduce": [{"var": "x"}, 1, 7]}`, `{"x": "abc"}`, errSentinel},
		{"reduce context as a value", `{"reduce": [[1], {"var": ""}, 0]}`, `{}`, `{"accumulator": 0, "current": 1}`},
		{"reduce context is truthy", `{"reduce": [[1, 2], {"if": [{"var": ""}, {"var": "current"}, 0]}, 0]}`, `{}`, `2`},
		{"reduce has no data key", `{"reduce": [[1], {"var": "data"}, 0]}`, `{"data": 5}`, `null`},
		{"reduce sum", `{"reduce": [{"var": "x"}, {"+": [{"var": "accumulator"}, {"var": "current"}]}, 0]}`, `{"x": [1, 2, 3]}`, `6`},
		{"array literal", `[1, {"var": "a"}]`, `{"a": "b"}`, `[1, "b"]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := certlogic.Evaluate(mustJSON(t, []byte(tc.expr)), mustJSON(t, []byte(tc.data)))
			if tc.want == errSentinel {
				if !errors.Is(err, certlogic.ErrEval) {
					t.Fatalf("got %v, %v; want an ErrEval", got, err)
				}
				var ee *certlogic.EvalError
				if !errors.As(err, &ee) || ee.Op == "" {
					t.Errorf("error %v is not an *EvalError with Op", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w := mustJSON(t, []byte(tc.want)); !reflect.DeepEqual(normalise(t, got), w) {
				t.Errorf("got %#v, want %s", got, tc.want)
			}
		})
	}
}

func TestInvalidExpressions(t *testing.T) {
	for _, expr := range []string{
		`null`, `3.5`, `{}`, `{"a": [1], "b": [2]}`, `{"var": 1}`, `{"var": "a..b"}`, `{"var": ["a"]}`,
		`{"if": [true, 1]}`, `{"if": [true, 1, 2, 3]}`, `{"and": [true]}`, `{"<": [1]}`, `{"<": [1, 2, 3, 4]}`,
		`{"===": [1, 2, 3]}`, `{"!": [1, 2]}`, `{"plusTime": ["2021", "1", "day"]}`, `{"plusTime": ["2021", 1, "week"]}`,
		`{"plusTime": ["2021", {"var": "n"}, "day"]}`, `{"extractFromUVCI": ["a", "1"]}`, `{"dccDateOfBirth": []}`,
		`{"reduce": [[], 1]}`, `{"all": [1]}`, `{"if": "x"}`, `[1, null]`, `{"in": [1, [2, 2.5]]}`,
		strings.Repeat(`{"!": [`, certlogic.MaxDepth+2) + `1` + strings.Repeat(`]}`, certlogic.MaxDepth+2),
	} {
		_, err := certlogic.Parse([]byte(expr))
		var ve *certlogic.ValidationError
		if !errors.Is(err, certlogic.ErrInvalid) || !errors.As(err, &ve) || len(ve.Issues) == 0 {
			t.Errorf("Parse(%.60s) = %v, want a ValidationError", expr, err)
		}
	}
	for _, bad := range []string{``, `{`, `1 2`, `{"a": 1}x`} {
		if _, err := certlogic.Parse([]byte(bad)); !errors.Is(err, certlogic.ErrJSON) {
			t.Errorf("Parse(%q) = %v, want ErrJSON", bad, err)
		}
	}
}

func TestStepBudget(t *testing.T) {
	// reduce over 2000 items, each reducing over 2000: 4 million steps
	inner := make([]any, 2000)
	for i := range inner {
		inner[i] = float64(i)
	}
	items := make([]any, 2000)
	for i := range items {
		items[i] = inner
	}
	e, err := certlogic.Parse([]byte(`{"reduce": [{"var": "x"}, {"reduce": [{"var": "current"}, {"var": "current"}, 0]}, 0]}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Eval(map[string]any{"x": items})
	var ee *certlogic.EvalError
	if !errors.As(err, &ee) || ee.Op == "" {
		t.Fatalf("got %v, want the step budget error", err)
	}
}

func TestTruthiness(t *testing.T) {
	dt, err := certlogic.Evaluate(mustJSON(t, []byte(`{"plusTime": ["2021", 0, "day"]}`)), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		v             any
		truthy, falsy bool
	}{
		{true, true, false}, {false, false, true}, {nil, false, true}, {"", false, true}, {"a", true, false},
		{0.0, false, true}, {-1.0, true, false}, {0.5, true, false}, {[]any{}, false, true}, {[]any{nil}, true, false},
		{map[string]any{}, false, true}, {map[string]any{"a": nil}, true, false}, {dt, false, false},
	} {
		if certlogic.IsTruthy(tc.v) != tc.truthy || certlogic.IsFalsy(tc.v) != tc.falsy {
			t.Errorf("%#v: truthy %v falsy %v", tc.v, certlogic.IsTruthy(tc.v), certlogic.IsFalsy(tc.v))
		}
	}
}

// FuzzEvaluate: any expression and data, seeded from the official suites:
// Parse never panics, a valid expression evaluates without panicking, to
// the same result twice and with the data's objects as *Object, and an
// error is always an ErrEval.
func FuzzEvaluate(f *testing.F) {
	for _, raw := range loadSuite(f, "testSuite") {
		var s suiteFile
		if err := json.Unmarshal(raw, &s); err != nil {
			f.Fatal(err)
		}
		for _, c := range s.Cases {
			for _, a := range c.Assertions {
				e := c.Expression
				if a.Expression != nil {
					e = a.Expression
				}
				f.Add([]byte(e), []byte(a.Data))
			}
		}
	}
	f.Fuzz(func(t *testing.T, expr, data []byte) {
		_ = certlogic.Validate(nil)
		e, err := certlogic.Parse(expr)
		if err != nil {
			if !errors.Is(err, certlogic.ErrInvalid) && !errors.Is(err, certlogic.ErrJSON) {
				t.Fatalf("Parse error %v is neither ErrInvalid nor ErrJSON", err)
			}
			return
		}
		d, err := certlogic.FromJSON(data)
		if err != nil {
			return
		}
		v1, err1 := e.Eval(d)
		v2, err2 := e.Eval(d)
		if (err1 == nil) != (err2 == nil) || (err1 == nil && !reflect.DeepEqual(v1, v2)) {
			t.Fatalf("two evaluations differ: %v %v / %v %v", v1, err1, v2, err2)
		}
		if err1 != nil && !errors.Is(err1, certlogic.ErrEval) {
			t.Fatalf("Eval error %v is not ErrEval", err1)
		}
		// the same data with *Object objects evaluates alike
		v3, err3 := e.Eval(toObjects(d))
		if (err1 == nil) != (err3 == nil) {
			t.Fatalf("maps %v %v, objects %v %v", v1, err1, v3, err3)
		}
		if err1 == nil {
			j1, _ := json.Marshal(v1)
			j3, _ := json.Marshal(v3)
			a, _ := certlogic.FromJSON(j1)
			b, _ := certlogic.FromJSON(j3)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("maps %s, objects %s", j1, j3)
			}
		}
		if err1 == nil {
			if _, err := json.Marshal(v1); err != nil {
				t.Fatalf("result does not marshal: %v", err)
			}
		}
	})
}
