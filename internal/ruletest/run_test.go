package ruletest_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vaxcert/vaxcert/internal/ruletest"
)

// TestRealRuleSets runs every test of the real rule sets (EU, DE, AT, CZ).
func TestRealRuleSets(t *testing.T) {
	rep, err := ruletest.Run(os.DirFS("../../../shared/testdata/rules"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Failed {
		t.Errorf("%s / %s: expected %v, got %v, error %q", f.Rule, f.Test, f.Expected, f.Got, f.Error)
	}
	if rep.Rules != 55 || rep.Tests != 332 || rep.Passed != 332 {
		t.Errorf("rules %d tests %d passed %d; want 55, 332, 332", rep.Rules, rep.Tests, rep.Passed)
	}
}

// TestVNRuleSet runs the repo's own rule set, Viet Nam's venue policy.
func TestVNRuleSet(t *testing.T) {
	rep, err := ruletest.Run(os.DirFS("../../verifier/rules/sets"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Failed {
		t.Errorf("%s / %s: expected %v, got %v, error %q", f.Rule, f.Test, f.Expected, f.Got, f.Error)
	}
	if rep.Rules != 14 || rep.Tests != 51 || rep.Passed != 51 {
		t.Errorf("rules %d tests %d passed %d; want 14, 51, 51", rep.Rules, rep.Tests, rep.Passed)
	}
}

// TestRunReportsFailures: a wrong expectation, an evaluation error, an
// invalid rule and an unreadable test each fail, with what went wrong.
func TestRunReportsFailures(t *testing.T) {
	rule, err := os.ReadFile("../../verifier/rules/sets/VN/VR-VN-0003/rule.json")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{
		"S/VR-VN-0003/rule.json":    {Data: rule},
		"S/VR-VN-0003/tests/a.json": {Data: []byte(`{"name": "wrong", "payload": {"v": [{"dn": 1, "sd": 2, "mp": "x"}]}, "external": {}, "expected": true}`)},
		"S/VR-VN-0003/tests/b.json": {Data: []byte(`{"payload": {"v": [{"dn": "1", "sd": 2}]}, "external": {}, "expected": false}`)},
		"S/VR-VN-0003/tests/c.json": {Data: []byte(`{"payload": `)},
		"S/VR-VN-0003/tests/d.json": {Data: []byte(`{"payload": {"v": [{"dn": 2, "sd": 2, "mp": "x"}]}, "expected": 1}`)},
		"S/VR-VN-9/rule.json":       {Data: []byte(`{"Identifier": "VR-VN-9"}`)},
	}
	rep, err := ruletest.Run(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rules != 2 || rep.Tests != 5 || rep.Passed != 1 || len(rep.Failed) != 4 {
		t.Fatalf("%+v", rep)
	}
	byTest := map[string]ruletest.Failure{}
	for _, f := range rep.Failed {
		byTest[f.Test] = f
	}
	if f := byTest["wrong"]; f.Got != false || f.Expected != true || f.Error != "" {
		t.Errorf("wrong: %+v", f)
	}
	if f := byTest["b"]; f.Got != nil || !strings.Contains(f.Error, "evaluation failed") {
		t.Errorf("b: %+v", f)
	}
	if f := byTest["c"]; !strings.Contains(f.Error, "not a JSON object") {
		t.Errorf("c: %+v", f)
	}
	if f := byTest["rule.json"]; f.Rule != "S/VR-VN-9" || !strings.Contains(f.Error, "schema") {
		t.Errorf("invalid rule: %+v", f)
	}
	if _, err := ruletest.Run(fstest.MapFS{}); !errors.Is(err, ruletest.ErrNoRules) {
		t.Errorf("empty: %v", err)
	}
}
