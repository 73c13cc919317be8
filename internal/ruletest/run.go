package ruletest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/verifier/certlogic"
	"github.com/vaxcert/vaxcert/verifier/rules"
)

// Report is the result of a run; its JSON form is the `--json` output of
// `vaxcert rules test`.
type Report struct {
	Rules  int       `json:"rules"`
	Tests  int       `json:"tests"`
	Passed int       `json:"passed"`
	Failed []Failure `json:"failed"`
}

// Failure is one failing test (or an invalid rule, or an unreadable test
// file).
type Failure struct {
	Rule     string `json:"rule"`     // <SET>/<RuleId>
	Test     string `json:"test"`     // the test's name (its file name when it has none)
	Expected any    `json:"expected"` // the expected value as written
	Got      any    `json:"got"`      // true or false (truthiness of the result), null on error
	Error    string `json:"error"`    // why the rule or test could not run
}

// ErrNoRules is returned when DIR holds no <SET>/<RuleId>/rule.json.
var ErrNoRules = errors.New("ruletest: no <SET>/<RuleId>/rule.json found")

// Run validates and tests every <SET>/<RuleId>/rule.json in fsys.
func Run(fsys fs.FS) (*Report, error) {
	names, err := fs.Glob(fsys, "*/*/rule.json")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, ErrNoRules
	}
	if len(names) > limits.MaxRules {
		return nil, fmt.Errorf("ruletest: more than %d rules", limits.MaxRules)
	}
	slices.Sort(names)
	rep := &Report{Rules: len(names), Failed: []Failure{}}
	for _, name := range names {
		runRule(fsys, name, rep)
	}
	return rep, nil
}

type testFile struct {
	Name     *string         `json:"name"`
	Payload  json.RawMessage `json:"payload"`
	External json.RawMessage `json:"external"`
	Expected json.RawMessage `json:"expected"`
}

func runRule(fsys fs.FS, name string, rep *Report) {
	dir := path.Dir(name)
	id := dir
	tests, _ := fs.Glob(fsys, path.Join(dir, "tests", "*.json"))
	slices.Sort(tests)

	rule, ruleErr := loadRule(fsys, name)
	if ruleErr != nil {
		// an invalid rule fails each of its tests (or once, without tests)
		if len(tests) == 0 {
			rep.Tests++
			rep.Failed = append(rep.Failed, Failure{Rule: id, Test: "rule.json", Error: ruleErr.Error()})
		}
		for _, t := range tests {
			rep.Tests++
			rep.Failed = append(rep.Failed, Failure{Rule: id, Test: strings.TrimSuffix(path.Base(t), ".json"), Error: ruleErr.Error()})
		}
		return
	}
	for _, t := range tests {
		rep.Tests++
		f := runTest(fsys, rule, t)
		if f == nil {
			rep.Passed++
			continue
		}
		f.Rule = id
		rep.Failed = append(rep.Failed, *f)
	}
}

func loadRule(fsys fs.FS, name string) (*rules.Rule, error) {
	data, err := rules.ReadFileLimited(fsys, name, limits.MaxRuleFile)
	if err != nil {
		return nil, err
	}
	if err := ValidateSchema(data); err != nil {
		return nil, err
	}
	return rules.Parse(data)
}

// runTest returns nil when the test passes.
func runTest(fsys fs.FS, rule *rules.Rule, name string) *Failure {
	f := &Failure{Test: strings.TrimSuffix(path.Base(name), ".json")}
	data, err := rules.ReadFileLimited(fsys, name, limits.MaxRuleTest)
	if err != nil {
		f.Error = err.Error()
		return f
	}
	var tf testFile
	if err := json.Unmarshal(data, &tf); err != nil {
		f.Error = "test file is not a JSON object: " + err.Error()
		return f
	}
	if tf.Name != nil && *tf.Name != "" {
		f.Test = *tf.Name
	}
	if tf.Payload == nil || tf.Expected == nil {
		f.Error = "test file lacks payload or expected"
		return f
	}
	expected, err := certlogic.FromJSON(tf.Expected)
	if err != nil {
		f.Error = "expected: " + err.Error()
		return f
	}
	f.Expected = expected
	payload, err := certlogic.FromJSON(tf.Payload)
	if err != nil {
		f.Error = "payload: " + err.Error()
		return f
	}
	var external any = map[string]any{}
	if tf.External != nil {
		if external, err = certlogic.FromJSON(tf.External); err != nil {
			f.Error = "external: " + err.Error()
			return f
		}
	}
	v, err := rule.Logic.Eval(map[string]any{"payload": payload, "external": external})
	if err != nil {
		f.Error = err.Error()
		return f
	}
	got := certlogic.IsTruthy(v)
	f.Got = got
	if got == certlogic.IsTruthy(expected) {
		return nil
	}
	return f
}
