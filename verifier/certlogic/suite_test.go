package certlogic_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vaxcert/vaxcert/verifier/certlogic"
)

// suiteDir holds the official CertLogic suites (README there).
const suiteDir = "../../../shared/testdata/certlogic"

type suiteFile struct {
	Name      string `json:"name"`
	Directive string `json:"directive"`
	Cases     []struct {
		Name       string          `json:"name"`
		Directive  string          `json:"directive"`
		Expression json.RawMessage `json:"certLogicExpression"`
		Assertions []struct {
			Data       json.RawMessage `json:"data"`
			Expected   json.RawMessage `json:"expected"`
			Message    string          `json:"message"`
			Directive  string          `json:"directive"`
			Expression json.RawMessage `json:"certLogicExpression"`
		} `json:"assertions"`
	} `json:"cases"`
}

func mustJSON(t testing.TB, raw []byte) any {
	t.Helper()
	v, err := certlogic.FromJSON(raw)
	if err != nil {
		t.Fatalf("FromJSON(%s): %v", raw, err)
	}
	return v
}

func loadSuite(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(suiteDir, dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no suite files in %s (%v)", dir, err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// normalise turns an evaluation result into its JSON value (date-times
// become strings, as JSON.stringify renders them).
func normalise(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal result: %v", err)
	}
	return mustJSON(t, b)
}

// TestOfficialSuite runs every assertion of the CertLogic 1.3.3 test suite.
// Assertions marked "skip" (file, case or assertion) are run too and
// reported apart: they neither pass nor fail this test.
func TestOfficialSuite(t *testing.T) {
	var passed, failed, skipPassed, skipFailed int
	for name, raw := range loadSuite(t, "testSuite") {
		var f suiteFile
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, c := range f.Cases {
			for i, a := range c.Assertions {
				exprRaw := c.Expression
				if a.Expression != nil {
					exprRaw = a.Expression
				}
				skip := f.Directive == "skip" || c.Directive == "skip" || a.Directive == "skip"
				got, err := certlogic.Evaluate(mustJSON(t, exprRaw), mustJSON(t, a.Data))
				want := mustJSON(t, a.Expected)
				ok := err == nil && reflect.DeepEqual(normalise(t, got), want)
				switch {
				case skip && ok:
					skipPassed++
				case skip:
					skipFailed++
					t.Logf("skip-marked %s / %s #%d: got %v (err %v), upstream expects %s", f.Name, c.Name, i, got, err, a.Expected)
				case ok:
					passed++
				default:
					failed++
					t.Errorf("%s / %s #%d (%s): data %s: got %#v, err %v; want %s", f.Name, c.Name, i, a.Message, a.Data, got, err, a.Expected)
				}
			}
		}
	}
	t.Logf("official suite: %d passed, %d failed; skip-marked: %d would pass, %d would not", passed, failed, skipPassed, skipFailed)
	if total := passed + failed + skipPassed + skipFailed; total != 232 {
		t.Errorf("ran %d assertions, the suite has 232", total)
	}
}

// TestValidationSuite checks the validator against the official
// validation suite: the same issues (expression and message), in order.
func TestValidationSuite(t *testing.T) {
	n := 0
	for name, raw := range loadSuite(t, "validation-testSuite") {
		var f struct {
			Cases []struct {
				Expression json.RawMessage   `json:"certLogicExpression"`
				Issues     []json.RawMessage `json:"issues"`
			} `json:"cases"`
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, c := range f.Cases {
			n++
			expr := mustJSON(t, c.Expression)
			issues := certlogic.Validate(expr)
			got := make([]any, len(issues))
			for i, is := range issues {
				b, _ := json.Marshal(is)
				got[i] = mustJSON(t, b)
			}
			want := make([]any, len(c.Issues))
			for i, is := range c.Issues {
				want[i] = mustJSON(t, is)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %s: issues %v, want %v", name, c.Expression, got, want)
			}
			// Compile agrees with Validate.
			if _, err := certlogic.Compile(expr); (err == nil) != (len(want) == 0) {
				t.Errorf("%s: %s: Compile error %v, want issues %v", name, c.Expression, err, want)
			}
		}
	}
	if n == 0 {
		t.Fatal("no validation cases")
	}
}

// TestSuiteExpressionsValid: every expression of the evaluation suite is
// valid (upstream's validate-testSuite check).
func TestSuiteExpressionsValid(t *testing.T) {
	for name, raw := range loadSuite(t, "testSuite") {
		var f suiteFile
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		for _, c := range f.Cases {
			exprs := []json.RawMessage{c.Expression}
			for _, a := range c.Assertions {
				exprs = append(exprs, a.Expression)
			}
			for _, e := range exprs {
				if e == nil {
					continue
				}
				if issues := certlogic.Validate(mustJSON(t, e)); len(issues) > 0 {
					t.Errorf("%s / %s: %s: %v", name, c.Name, e, issues)
				}
			}
		}
	}
}
