package testkit

import (
	"os/exec"
	"strings"
	"testing"
)

// Deps returns the packages that the packages matching pattern import,
// directly or not, themselves included (go list -deps, without tests),
// for import-policy tests. It fails t when go list fails or lists
// implausibly few packages.
func Deps(t testing.TB, pattern string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pattern).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list returned only %d packages: %q", len(deps), deps)
	}
	return deps
}

// Within reports whether the package path dep is one of prefixes or below
// one of them, and which.
func Within(dep string, prefixes []string) (string, bool) {
	for _, p := range prefixes {
		if dep == p || strings.HasPrefix(dep, p+"/") {
			return p, true
		}
	}
	return "", false
}
