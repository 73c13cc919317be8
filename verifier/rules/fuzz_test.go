package rules_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vaxcert/vaxcert/verifier/certlogic"
	"github.com/vaxcert/vaxcert/verifier/rules"
)

// FuzzParseSet: rule and rule-set parsing never panics, every error is an
// ErrRule, and a parsed rule evaluates (to a value or an ErrEval) on an
// empty payload. Seeded from the real rule sets and the VN set.
func FuzzParseSet(f *testing.F) {
	for _, pattern := range []string{"../../../shared/testdata/rules/*/*/rule.json", vnRules + "/*/*/rule.json"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := rules.ParseSet(data)
		if err != nil {
			if !errors.Is(err, rules.ErrRule) {
				t.Fatalf("error %v is not ErrRule", err)
			}
			return
		}
		data2 := rules.Data(map[string]any{}, rules.External{})
		for _, r := range set.Rules {
			if _, err := r.Logic.Eval(data2); err != nil && !errors.Is(err, certlogic.ErrEval) {
				t.Fatalf("eval error %v", err)
			}
		}
	})
}
