// Package storetest opens throwaway databases for tests, so that every test
// of the store and the service runs on both engines: SQLite always (in a
// temporary folder) and PostgreSQL when VAXCERT_TEST_PG holds a URL (each
// test in its own schema, dropped at the end).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/internal/store"
)

// EnvPostgres names the environment variable holding the PostgreSQL URL
// for tests, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvPostgres = "VAXCERT_TEST_PG"

// Engines are the engines [Run] runs a test on.
var Engines = []string{"sqlite", "postgres"}

// Run runs fn as one subtest per engine, each with a fresh store. The
// PostgreSQL subtest is skipped, saying so, when VAXCERT_TEST_PG is unset.
func Run(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) {
			fn(t, Open(t, engine))
		})
	}
}

// Open returns a store on a fresh database of the engine, closed at the end
// of the test.
func Open(t testing.TB, engine string) *store.Store {
	t.Helper()
	url := URL(t, engine)
	s, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open %s store: %v", engine, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// URL returns the URL of a fresh, empty database of the engine: a file in
// a temporary folder, or a new PostgreSQL schema dropped at the end of the
// test.
func URL(t testing.TB, engine string) string {
	t.Helper()
	if engine == "sqlite" {
		return filepath.Join(t.TempDir(), store.DefaultFile)
	}
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skipf("PostgreSQL tests skipped: set %s to a database URL (CI sets it)", EnvPostgres)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	url := base + sep + "search_path=" + schema
	if !strings.Contains(base, "synchronous_commit=") {
		// Tests need no durability against a crash of PostgreSQL itself
		// (the crash tests kill the service, whose committed work other
		// sessions see at once either way): commits without waiting for
		// the WAL flush make the PostgreSQL half of the suite about a third
		// faster. The product keeps the server's default.
		url += "&synchronous_commit=off"
	}
	return url
}
