package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/store/storetest"
)

var tokenLine = regexp.MustCompile(`^vxs_[A-Za-z0-9_-]{20,}\n$`)

// TestProductionStart: without --dev, serve refuses to start on a database
// without a usable staff token and says how to create the first one;
// "vaxcert tokens create" on the same database prints a token once, which
// then works against the running service; list shows it, revoke ends it,
// and serve refuses again. On SQLite (--data) and PostgreSQL (--db).
func TestProductionStart(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			data := t.TempDir()
			where := []string{"--data", data}
			if engine != "sqlite" {
				where = []string{"--db", storetest.URL(t, engine)}
			}
			if code, _, stderr := runCLI(t, "", "keys", "init", "--dir", filepath.Join(data, "keys")); code != exitOK {
				t.Fatalf("keys init: %s", stderr)
			}
			idp := filepath.Join(t.TempDir(), "idp")
			if err := auth.GenerateDevIdentity(idp); err != nil {
				t.Fatal(err)
			}
			serveArgs := []string{"--data", data, "--jwks", filepath.Join(idp, auth.DevJWKSFile),
				"--idp-issuer", "https://id.example"}
			if engine != "sqlite" {
				serveArgs = append(serveArgs, where...)
			}
			refused := func(what string) {
				t.Helper()
				code, stdout, stderr := runCLI(t, "", append([]string{"serve", "--addr", freeAddr(t)}, serveArgs...)...)
				wantError(t, code, stdout, stderr, exitError)
				want := "vaxcert tokens create --role admin --name \"MoH operations\" " + strings.Join(where, " ")
				if !strings.Contains(stderr, want) || !strings.Contains(stderr, "token nhân viên") {
					t.Errorf("%s: serve's refusal does not say, in both languages, how to create the first token (%q):\n%s",
						what, want, stderr)
				}
			}
			refused("empty database")

			for _, bad := range [][]string{
				{"--role", "uploader", "--name", "no site"},
				{"--role", "admin", "--site", "HN-001", "--name", "admin with a site"},
				{"--role", "admin", "--name", "bell\a"},
				{"--role", "root", "--name", "unknown role"},
				{"--role", "admin"},
			} {
				code, stdout, stderr := runCLI(t, "", append(append([]string{"tokens", "create"}, bad...), where...)...)
				wantError(t, code, stdout, stderr, exitError)
			}

			code, stdout, stderr := runCLI(t, "", append([]string{"tokens", "create", "--role", "admin", "--name",
				"MoH operations"}, where...)...)
			if code != exitOK || !tokenLine.MatchString(stdout) || !strings.Contains(stderr, "only this once") {
				t.Fatalf("tokens create: exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			admin := strings.TrimSpace(stdout)

			serveWith(t, serveArgs, func(base string, _ map[string]string) {
				call(t, "GET", base+"/readyz", "", "", http.StatusOK)
				call(t, "GET", base+"/v1/tokens", admin, "", http.StatusOK)
				call(t, "POST", base+"/v1/tokens", admin, `{"role":"uploader","site":"HN-001","name":"HN-001"}`,
					http.StatusCreated)
			})

			code, stdout, _ = runCLI(t, "", append([]string{"tokens", "list"}, where...)...)
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			if code != exitOK || len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") ||
				!strings.Contains(stdout, "MoH operations") || strings.Contains(stdout, "vxs_") {
				t.Fatalf("tokens list: exit %d:\n%s", code, stdout)
			}
			for _, l := range lines[1:] {
				id := strings.Fields(l)[0]
				if code, stdout, stderr := runCLI(t, "", append([]string{"tokens", "revoke", id}, where...)...); code != exitOK ||
					stdout != "" {
					t.Fatalf("tokens revoke %s: exit %d %s", id, code, stderr)
				}
			}
			code, stdout, stderr = runCLI(t, "", append([]string{"tokens", "revoke", "tok_0000000000000000"}, where...)...)
			wantError(t, code, stdout, stderr, exitError)
			_, stdout, _ = runCLI(t, "", append([]string{"tokens", "list"}, where...)...)
			for _, l := range strings.Split(strings.TrimSpace(stdout), "\n")[1:] {
				if f := strings.Fields(l); len(f) < 6 || f[4] == "-" {
					t.Errorf("tokens list after revoking every token: %q not revoked", l)
				}
			}

			url := filepath.Join(data, store.DefaultFile)
			if engine != "sqlite" {
				url = where[1]
			}
			st, err := store.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := service.NewTokens(st, now).Lookup(context.Background(), admin); err == nil {
				t.Error("the revoked admin token still authenticates")
			}
			refused("every token revoked")
		})
	}
}

// TestTokensMissingDatabase: list and revoke do not create a database where
// none is (a mistyped --data).
func TestTokensMissingDatabase(t *testing.T) {
	data := filepath.Join(t.TempDir(), "nothing")
	for _, args := range [][]string{{"tokens", "list", "--data", data}, {"tokens", "revoke", "tok_1", "--data", data},
		{"tokens"}, {"tokens", "rotate"}, {"tokens", "revoke"}} {
		code, stdout, stderr := runCLI(t, "", args...)
		wantError(t, code, stdout, stderr, exitError)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("the data folder was created: %v", err)
	}
}
