package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testRule = `{
  "Identifier": "VR-XX-0001", "Type": "Acceptance", "Country": "XX", "Version": "1.0.0",
  "SchemaVersion": "1.3.0", "Engine": "CERTLOGIC", "EngineVersion": "1.3.3", "CertificateType": "Vaccination",
  "Description": [{"lang": "en", "desc": "The dose number must be at least two."}],
  "ValidFrom": "2021-06-01T00:00:00Z", "ValidTo": "2030-06-01T00:00:00Z", "AffectedFields": ["v.0.dn"],
  "Logic": {">=": [{"var": "payload.v.0.dn"}, 2]}
}`

func writeRuleDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRulesTest(t *testing.T) {
	dir := writeRuleDir(t, map[string]string{
		"XX/VR-XX-0001/rule.json":        testRule,
		"XX/VR-XX-0001/tests/pass.json":  `{"name": "two doses", "payload": {"v": [{"dn": 2}]}, "external": {}, "expected": true}`,
		"XX/VR-XX-0001/tests/fail.json":  `{"name": "wrong expectation", "payload": {"v": [{"dn": 1}]}, "external": {}, "expected": true}`,
		"XX/VR-XX-0001/tests/error.json": `{"payload": {"v": [{"dn": "2"}]}, "external": {}, "expected": false}`,
		"XX/VR-XX-0002/rule.json":        strings.Replace(testRule, `"VR-XX-0001"`, `"VR-XX-2"`, 1),
		"XX/VR-XX-0002/tests/any.json":   `{"payload": {}, "expected": true}`,
	})
	var out, errb bytes.Buffer
	if code := run([]string{"rules", "test", dir}, nil, &out, &errb); code != exitInvalid {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitInvalid, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || lines[3] != "1 passed, 3 failed" {
		t.Fatalf("output:\n%s", out.String())
	}
	for _, want := range []string{
		"FAIL XX/VR-XX-0001 wrong expectation: expected true, got false",
		`FAIL XX/VR-XX-0001 error: certlogic: evaluation failed in ">="`,
		"FAIL XX/VR-XX-0002 any: ruletest: rule violates the schema: /Identifier: pattern",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	if code := run([]string{"rules", "test", "--json", dir}, nil, &out, &errb); code != exitInvalid {
		t.Fatalf("--json exit %d", code)
	}
	var rep struct {
		Rules, Tests, Passed int
		Failed               []struct {
			Rule, Test, Error string
			Expected, Got     any
		}
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out.String())
	}
	if rep.Rules != 2 || rep.Tests != 4 || rep.Passed != 1 || len(rep.Failed) != 3 {
		t.Errorf("report %+v", rep)
	}
	for _, f := range rep.Failed {
		if f.Test == "wrong expectation" && (f.Expected != true || f.Got != false || f.Error != "") {
			t.Errorf("failure %+v", f)
		}
	}

	// all passing: exit 0
	good := writeRuleDir(t, map[string]string{
		"XX/VR-XX-0001/rule.json":       testRule,
		"XX/VR-XX-0001/tests/pass.json": `{"payload": {"v": [{"dn": 3}]}, "external": {}, "expected": true}`,
	})
	out.Reset()
	if code := run([]string{"rules", "test", good}, nil, &out, &errb); code != exitOK || out.String() != "1 passed, 0 failed\n" {
		t.Errorf("exit %d, output %q", code, out.String())
	}
	// usage and input errors: exit 2
	for _, args := range [][]string{{"rules"}, {"rules", "test"}, {"rules", "test", t.TempDir()}, {"rules", "test", filepath.Join(good, "nope")}, {"rules", "run", good}} {
		if code := run(args, nil, &out, &errb); code != exitError {
			t.Errorf("%v: exit %d, want %d", args, code, exitError)
		}
	}
}
