package store_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Statement of policy: the store is the persistence layer. It keeps its own
// types and never pulls in the signing stack (issuer, keys, COSE, CBOR,
// JOSE) or the service and server layers above it. Only the module's
// packages listed here may appear among its dependencies. DO NOT WIDEN THIS
// LIST TO FIX A BUILD: give the store its own type instead.
var storeAllowedInternal = []string{
	"github.com/vaxcert/vaxcert/internal/store",
	"github.com/vaxcert/vaxcert/internal/limits",
}

var storeForbiddenDeps = []string{
	"github.com/veraison/go-cose",
	"github.com/fxamacker/cbor",
	"github.com/lestrrat-go/jwx",
	"github.com/labstack/echo",
}

func TestImportPolicy(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/vaxcert/vaxcert/internal/store").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list returned only %d packages: %q", len(deps), deps)
	}
	for _, dep := range deps {
		if strings.HasPrefix(dep, "github.com/vaxcert/vaxcert/") && !allowed(dep) {
			t.Errorf("store depends on %s: only %q may be imported", dep, storeAllowedInternal)
		}
		for _, bad := range storeForbiddenDeps {
			if dep == bad || strings.HasPrefix(dep, bad+"/") {
				t.Errorf("store depends on %s (forbidden: %s)", dep, bad)
			}
		}
	}
}

func allowed(dep string) bool {
	for _, a := range storeAllowedInternal {
		if dep == a {
			return true
		}
	}
	return false
}
