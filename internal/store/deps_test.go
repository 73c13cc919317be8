package store_test

import (
	"slices"
	"testing"

	"github.com/vaxcert/vaxcert/internal/testkit"
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
	for _, dep := range testkit.Deps(t, "github.com/vaxcert/vaxcert/internal/store") {
		if _, ok := testkit.Within(dep, []string{"github.com/vaxcert/vaxcert"}); ok && !slices.Contains(storeAllowedInternal, dep) {
			t.Errorf("store depends on %s: only %q may be imported", dep, storeAllowedInternal)
		}
		if bad, ok := testkit.Within(dep, storeForbiddenDeps); ok {
			t.Errorf("store depends on %s (forbidden: %s)", dep, bad)
		}
	}
}
