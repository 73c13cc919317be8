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

// issueRecent creates a key folder and issues examples/record.json with
// its doses moved to 2026-04-10 and 2026-05-01 (the test clock is
// 2026-06-01): a primary series the VN rules count.
func issueRecent(t *testing.T) (dir, hc1 string) {
	t.Helper()
	dir = t.TempDir()
	if code, _, stderr := runCLI(t, "", "keys", "init", "--dir", dir); code != 0 {
		t.Fatal(stderr)
	}
	record, err := os.ReadFile("../../examples/record.json")
	if err != nil {
		t.Fatal(err)
	}
	record = []byte(strings.NewReplacer("2021-08-15", "2026-04-10", "2021-09-05", "2026-05-01").Replace(string(record)))
	recFile := filepath.Join(dir, "record.json")
	if err := os.WriteFile(recFile, record, 0o600); err != nil {
		t.Fatal(err)
	}
	code, hc1, stderr := runCLI(t, "", "issue", "--keys", dir, "--record", recFile)
	if code != 0 {
		t.Fatal(stderr)
	}
	return dir, hc1
}

// TestVerifyRules: verify --rules with the repo's VN rule set, on a
// certificate whose primary series (last dose 2026-05-01) counts at the
// test clock (2026-06-01) and no longer does on 2027-02-01 (276 days
// later); --json lists the failing rule with its descriptions.
func TestVerifyRules(t *testing.T) {
	dir, hc1 := issueRecent(t)
	base := []string{"verify", "--trust-dir", dir, "--rules", "../../verifier/rules/sets", "--country", "VN"}
	code, out, stderr := runCLI(t, hc1, append(base, "--json")...)
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%s", code, out, stderr)
	}
	var rep struct {
		Valid    bool
		Reason   string
		Decision string
		Checks   map[string]string
		Rules    *struct {
			Country string
			Failed  []struct {
				Identifier, Outcome string
				Description         struct{ VI, EN string }
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Valid || rep.Checks["rules"] != "pass" || rep.Rules == nil || rep.Rules.Country != "VN" || len(rep.Rules.Failed) != 0 ||
		rep.Decision != "full" {
		t.Fatalf("valid: %s", out)
	}

	code, out, stderr = runCLI(t, hc1, append(base, "--at", "2027-02-01T00:00:00Z", "--json")...)
	if code != exitInvalid {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rep.Rules = nil
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Valid || rep.Reason != "rules_failed" || rep.Checks["rules"] != "fail" || rep.Rules == nil || len(rep.Rules.Failed) != 1 ||
		rep.Decision != "not_accepted" {
		t.Fatalf("expired series: %s", out)
	}
	f := rep.Rules.Failed[0]
	if f.Identifier != "VR-VN-0004" || f.Outcome != "fail" || !strings.Contains(f.Description.EN, "270 days") || !strings.Contains(f.Description.VI, "270 ngày") {
		t.Errorf("failed rule %+v", f)
	}
	code, out, _ = runCLI(t, hc1, append(base, "--at", "2027-02-01T00:00:00Z")...)
	if code != exitInvalid || !strings.Contains(out, "rule VR-VN-0004 (fail)") || !strings.Contains(out, "INVALID: rules_failed") {
		t.Errorf("text output:\n%s", out)
	}

	// usage and input errors
	for _, args := range [][]string{
		{"verify", "--trust-dir", dir, "--rules", "../../verifier/rules/sets"}, // no --country
		{"verify", "--trust-dir", dir, "--country", "VN"},                      // no --rules
		{"verify", "--trust-dir", dir, "--rules", "../../verifier/rules/sets", "--country", "vn"},
		{"verify", "--trust-dir", dir, "--rules", "nope", "--country", "VN"},
		{"verify", "--trust-dir", dir, "--rules", "../../README.md", "--country", "VN"},
	} {
		code, stdout, stderr := runCLI(t, hc1, args...)
		wantError(t, code, stdout, stderr, exitError)
	}
}

// TestRulesSign: a rule set signed with the key folder's list-signing key
// verifies with --root, carries its value sets, and is refused without
// --root, with another CSCA, or once expired.
func TestRulesSign(t *testing.T) {
	dir, hc1 := issueRecent(t)
	vsDir := t.TempDir()
	vs, err := os.ReadFile("../../schemas/valuesets/vaccine-medicinal-product.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vsDir, "vaccine-medicinal-product.json"), vs, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "rules.jws")
	code, stdout, stderr := runCLI(t, "", "rules", "sign", "--keys", dir, "--rules", "../../verifier/rules/sets", "--value-sets", vsDir, "--sequence", "7", "--out", out)
	if code != 0 || !strings.Contains(stdout, "signed 14 rules, 1 value sets, sequence 7") {
		t.Fatalf("sign: %d %s %s", code, stdout, stderr)
	}
	base := []string{"verify", "--trust-dir", dir, "--rules", out, "--country", "VN"}
	if code, _, stderr := runCLI(t, hc1, append(base, "--root", filepath.Join(dir, "csca.pem"))...); code != exitOK {
		t.Fatalf("signed rules: exit %d %s", code, stderr)
	}
	code, stdout, stderr = runCLI(t, hc1, append(base, "--root", filepath.Join(dir, "csca.pem"), "--at", "2026-06-04T00:00:00Z")...)
	wantError(t, code, stdout, stderr, exitError) // expired: 48 h
	code, stdout, stderr = runCLI(t, hc1, base...)
	wantError(t, code, stdout, stderr, exitError) // no --root
	other := t.TempDir()
	if code, _, stderr := runCLI(t, "", "keys", "init", "--dir", other); code != 0 {
		t.Fatal(stderr)
	}
	code, stdout, stderr = runCLI(t, hc1, append(base, "--root", filepath.Join(other, "csca.pem"))...)
	wantError(t, code, stdout, stderr, exitError) // another CSCA
	code, stdout, stderr = runCLI(t, hc1, append(base, "--root", filepath.Join(dir, "dsc.pem"))...)
	wantError(t, code, stdout, stderr, exitError) // not a CA

	for _, args := range [][]string{
		{"rules", "sign", "--keys", dir, "--rules", "../../verifier/rules/sets"},
		{"rules", "sign", "--keys", dir, "--rules", t.TempDir(), "--out", out},
		{"rules", "sign", "--keys", t.TempDir(), "--rules", "../../verifier/rules/sets", "--out", out},
		{"rules", "sign", "--keys", dir, "--rules", "../../verifier/rules/sets", "--value-sets", t.TempDir(), "--out", out},
	} {
		code, stdout, stderr := runCLI(t, "", args...)
		wantError(t, code, stdout, stderr, exitError)
	}
}

// TestServeVerifierRulesFlags: serve-verifier refuses a bad --rules set-up
// before it starts (--country alone is allowed: it applies to the rule
// sets synced from the issuer) (the rules check itself is tested with venue.Checker in
// verifier/rules).
func TestServeVerifierRulesFlags(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "", "keys", "init", "--dir", dir); code != 0 {
		t.Fatal(stderr)
	}
	base := []string{"serve-verifier", "--issuer", "http://127.0.0.1:1", "--root", filepath.Join(dir, "csca.pem"), "--data", t.TempDir()}
	for _, extra := range [][]string{
		{"--rules", "../../verifier/rules/sets"},                    // no --country
		{"--rules", "../../verifier/rules/sets", "--country", "vn"}, // not an upper-case code
		{"--rules", "nope", "--country", "VN"},                      // missing
		{"--rules", "../../go.mod", "--country", "VN"},              // not rules
	} {
		code, stdout, stderr := runCLI(t, "", append(base, extra...)...)
		wantError(t, code, stdout, stderr, exitError)
	}
}
