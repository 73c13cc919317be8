package verifier_test

import (
	"os/exec"
	"strings"
	"testing"
)

// mobileFacade is the one verifier package that may depend on
// golang.org/x/mobile (the gomobile binding runtime); the others are
// plain Go libraries.
const mobileFacade = "github.com/vaxcert/vaxcert/verifier/mobile"

func TestMobileOnlyInFacade(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}",
		"github.com/vaxcert/vaxcert/verifier/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	sawFacade := false
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if f[0] == mobileFacade {
			sawFacade = true
			continue
		}
		for _, dep := range f[1:] {
			if dep == "golang.org/x/mobile" || strings.HasPrefix(dep, "golang.org/x/mobile/") {
				t.Errorf("%s depends on %s: only %s may", f[0], dep, mobileFacade)
			}
		}
	}
	if !sawFacade {
		t.Fatalf("go list did not list %s", mobileFacade)
	}
}
