package ruletest_test

import (
	"os"
	"testing"

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
