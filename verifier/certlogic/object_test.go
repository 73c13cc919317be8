package certlogic_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/vaxcert/vaxcert/verifier/certlogic"
)

// toObjects turns every map in v into a *certlogic.Object (keys sorted).
func toObjects(v any) any {
	switch x := v.(type) {
	case map[string]any:
		o := &certlogic.Object{}
		for k := range x {
			o.Keys = append(o.Keys, k)
		}
		slices.Sort(o.Keys)
		for _, k := range o.Keys {
			o.Values = append(o.Values, toObjects(x[k]))
		}
		return o
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toObjects(e)
		}
		return out
	}
	return v
}

// TestObjectData: every assertion of the official suite gives the same
// result (or both an error) when the data's objects are *Objects instead
// of maps.
func TestObjectData(t *testing.T) {
	n := 0
	for name, raw := range loadSuite(t, "testSuite") {
		var f suiteFile
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		for _, c := range f.Cases {
			for i, a := range c.Assertions {
				e := c.Expression
				if a.Expression != nil {
					e = a.Expression
				}
				expr := mustJSON(t, e)
				data := mustJSON(t, a.Data)
				want, werr := certlogic.Evaluate(expr, data)
				got, gerr := certlogic.Evaluate(expr, toObjects(data))
				if (werr == nil) != (gerr == nil) || (werr == nil && !reflect.DeepEqual(normalise(t, got), normalise(t, want))) {
					t.Errorf("%s / %s #%d: maps %v %v, objects %v %v", name, c.Name, i, want, werr, got, gerr)
				}
				n++
			}
		}
	}
	// equality and truthiness across the two forms
	m := map[string]any{"a": 1.0, "b": []any{"x"}}
	for _, tc := range []struct {
		expr string
		want any
	}{
		{`{"===": [{"var": "m"}, {"var": "o"}]}`, true},
		{`{"===": [{"var": "o"}, {"var": "m"}]}`, true},
		{`{"===": [{"var": "o"}, {"var": "o2"}]}`, false},
		{`{"!": [{"var": "empty"}]}`, true},
		{`{"var": "o.b.0"}`, "x"},
		{`{"in": [{"var": "o"}, [{"var": "m"}]]}`, true},
	} {
		data := map[string]any{"m": m, "o": toObjects(m), "o2": toObjects(map[string]any{"a": 1.0}), "empty": &certlogic.Object{}}
		got, err := certlogic.Evaluate(mustJSON(t, []byte(tc.expr)), data)
		if err != nil || got != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.expr, got, err, tc.want)
		}
	}
	b, err := json.Marshal(toObjects(map[string]any{"z": 1.0, "a": []any{"<", true}}))
	if err != nil || string(b) != `{"a":["\u003c",true],"z":1}` {
		t.Errorf("MarshalJSON: %s, %v", b, err)
	}
	if n == 0 {
		t.Fatal("no assertions")
	}
}
