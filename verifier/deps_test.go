package verifier_test

import (
	"testing"

	"github.com/vaxcert/vaxcert/internal/testkit"
)

// Statement of policy: the verifier is a library a phone app embeds. It
// does no I/O of its own and must never pull in networking, databases,
// process execution, logging, or any issuer or server code, directly or
// through a dependency. DO NOT CHANGE THIS DATA TO FIX BUILDS: move the
// offending code out of the verifier's import graph instead.
var forbiddenDeps = []string{
	"net/http", // no networking: crypto/x509 brings net and net/url for
	"net/rpc",  // certificate fields, but nothing that talks to a network
	"net/smtp",
	"crypto/tls",
	"database/sql", // no database
	"os/exec",      // no processes
	"log",          // no logging (log, log/slog): results carry the facts
	"plugin",       // no dynamic code
	"github.com/vaxcert/vaxcert/issuer",
	"github.com/vaxcert/vaxcert/keys/keyfile",
	"github.com/vaxcert/vaxcert/keys/issuing", // key generation is the issuing side's
	"github.com/vaxcert/vaxcert/internal/service",
	"github.com/vaxcert/vaxcert/internal/store",
	"github.com/vaxcert/vaxcert/internal/auth",
	"github.com/vaxcert/vaxcert/internal/certdoc",
	"github.com/vaxcert/vaxcert/cmd",
	"github.com/labstack/echo",
	"github.com/jackc/pgx",
	"modernc.org/sqlite",
	"github.com/skip2/go-qrcode",
	"github.com/santhosh-tekuri/jsonschema",
	"github.com/prometheus",
}

func TestImportPolicy(t *testing.T) {
	for _, dep := range testkit.Deps(t, "github.com/vaxcert/vaxcert/verifier/...") {
		if bad, ok := testkit.Within(dep, forbiddenDeps); ok {
			t.Errorf("verifier depends on %s (forbidden: %s)", dep, bad)
		}
	}
}
