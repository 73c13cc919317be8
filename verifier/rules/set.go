package rules

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/verifier/certlogic"
)

// Set is a collection of rules, as loaded. It may hold several versions of
// a rule; [Set.Select] picks the one that applies.
type Set struct {
	Rules []*Rule
}

// ParseSet reads a rule-set file: a JSON array of rules, or one rule. It
// refuses the whole file when any rule is malformed. At most
// limits.MaxRuleSet bytes and limits.MaxRules rules.
func ParseSet(data []byte) (*Set, error) {
	if len(data) > limits.MaxRuleSet {
		return nil, &RuleError{Problem: fmt.Sprintf("rule set larger than %d bytes", limits.MaxRuleSet)}
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		r, err := Parse(data)
		if err != nil {
			return nil, err
		}
		return &Set{Rules: []*Rule{r}}, nil
	}
	v, err := certlogic.FromJSON(data)
	if err != nil {
		return nil, &RuleError{Problem: "not JSON", Err: err}
	}
	items, ok := v.([]any)
	if !ok {
		return nil, &RuleError{Problem: "a rule set is a JSON array of rules"}
	}
	if len(items) > limits.MaxRules {
		return nil, &RuleError{Problem: fmt.Sprintf("more than %d rules", limits.MaxRules)}
	}
	s := &Set{Rules: make([]*Rule, 0, len(items))}
	for _, it := range items {
		r, err := FromValue(it)
		if err != nil {
			return nil, err
		}
		s.Rules = append(s.Rules, r)
	}
	return s, nil
}

// LoadDir reads every rule.json in fsys at depth one or two
// (<RuleId>/rule.json, or <SET>/<RuleId>/rule.json, the layout of the EU
// rule repositories; tests/ folders are ignored). Any malformed rule fails
// the whole load, with the file named.
func LoadDir(fsys fs.FS) (*Set, error) {
	var names []string
	for _, pattern := range []string{"*/rule.json", "*/*/rule.json"} {
		m, err := fs.Glob(fsys, pattern)
		if err != nil {
			return nil, err
		}
		names = append(names, m...)
	}
	if len(names) > limits.MaxRules {
		return nil, &RuleError{Problem: fmt.Sprintf("more than %d rules", limits.MaxRules)}
	}
	slices.Sort(names)
	s := &Set{}
	for _, name := range names {
		data, err := ReadFileLimited(fsys, name, limits.MaxRuleFile)
		if err != nil {
			return nil, fmt.Errorf("rules: failed to read %s: %w", name, err)
		}
		r, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("rules: %s: %w", name, err)
		}
		s.Rules = append(s.Rules, r)
	}
	return s, nil
}

// ReadFileLimited reads name from fsys, failing when it holds more than max
// bytes.
func ReadFileLimited(fsys fs.FS, name string, max int) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > max {
		return nil, &RuleError{Problem: fmt.Sprintf("%s is larger than %d bytes", path.Base(name), max)}
	}
	return data, nil
}

// Selection says which rules apply to a verification.
type Selection struct {
	Country       string    // country of arrival or of the venue: its Acceptance rules
	IssuerCountry string    // the certificate's issuing country (CWT iss): its Invalidation rules
	Region        string    // the venue's region; rules with another Region are left out
	CertType      string    // TypeVaccination, TypeTest or TypeRecovery
	At            time.Time // the verification time
}

// Select returns the rules that apply (see the package doc), sorted by
// identifier: one version per identifier, the highest.
func (s *Set) Select(sel Selection) Selected {
	newest := map[string]*Rule{}
	for _, r := range s.Rules {
		switch {
		case r.Type == Acceptance && r.Country != sel.Country,
			r.Type == Invalidation && r.Country != sel.IssuerCountry,
			r.CertificateType != TypeGeneral && r.CertificateType != sel.CertType,
			r.Region != "" && !strings.EqualFold(r.Region, sel.Region),
			sel.At.Before(r.ValidFrom), sel.At.After(r.ValidTo):
			continue
		}
		if cur, ok := newest[r.Identifier]; !ok || compareVersion(r.version, cur.version) > 0 {
			newest[r.Identifier] = r
		}
	}
	out := make(Selected, 0, len(newest))
	for _, r := range newest {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *Rule) int { return strings.Compare(a.Identifier, b.Identifier) })
	return out
}

func compareVersion(a, b [3]int) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Selected is the rules chosen for one verification.
type Selected []*Rule

// Outcome of one rule.
type Outcome string

// Outcomes.
const (
	Pass Outcome = "pass" // the logic evaluated to a truthy value
	Fail Outcome = "fail" // falsy
	Open Outcome = "open" // the evaluation failed, or gave a value neither truthy nor falsy: counts as failed
)

// Result is one rule's outcome.
type Result struct {
	Rule    *Rule
	Outcome Outcome
	Err     error // for Open
}

// Report is the outcome of a selection.
type Report struct {
	Results []Result
}

// Passed reports whether at least one rule was evaluated and every rule
// passed.
func (r *Report) Passed() bool {
	if len(r.Results) == 0 {
		return false
	}
	for _, x := range r.Results {
		if x.Outcome != Pass {
			return false
		}
	}
	return true
}

// Failed returns the results that did not pass.
func (r *Report) Failed() []Result {
	var out []Result
	for _, x := range r.Results {
		if x.Outcome != Pass {
			out = append(out, x)
		}
	}
	return out
}

// Evaluate runs every selected rule on data (see [Data]).
func (sel Selected) Evaluate(data any) *Report {
	rep := &Report{Results: make([]Result, len(sel))}
	ev := new(certlogic.Evaluator)
	for i, r := range sel {
		rep.Results[i] = Result{Rule: r, Outcome: Pass}
		v, err := ev.Eval(r.Logic, data)
		switch {
		case err != nil:
			rep.Results[i].Outcome, rep.Results[i].Err = Open, err
		case certlogic.IsFalsy(v):
			rep.Results[i].Outcome = Fail
		case !certlogic.IsTruthy(v):
			rep.Results[i].Outcome = Open
		}
	}
	return rep
}
