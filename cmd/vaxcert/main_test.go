package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/testkit"
)

// TestMain fixes the clock of every command at testkit.Now.
func TestMain(m *testing.M) {
	now = func() time.Time { return testkit.Now }
	os.Exit(m.Run())
}

// runCLI runs the command line args with stdin and returns the exit status
// and both outputs.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// errorLines matches stderr of a failed command: one error line, then hints.
var errorLines = regexp.MustCompile(`^vaxcert: error: [^\n]+\n(vaxcert: hint: [^\n]+\n)*$`)

// wantError checks a failed command: the exit status, nothing on stdout,
// and stderr made of an error line and hint lines only.
func wantError(t *testing.T, code int, stdout, stderr string, wantCode int) {
	t.Helper()
	if code != wantCode {
		t.Errorf("exit status = %d, want %d; stderr:\n%s", code, wantCode, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want empty", stdout)
	}
	if !errorLines.MatchString(stderr) {
		t.Errorf("stderr is not error and hint lines:\n%s", stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"unknown command", []string{"sign"}},
		{"help for unknown command", []string{"help", "sign"}},
		{"help with two commands", []string{"help", "issue", "verify"}},
		{"version with argument", []string{"version", "x"}},
		{"keys without subcommand", []string{"keys"}},
		{"keys unknown subcommand", []string{"keys", "list"}},
		{"keys init without dir", []string{"keys", "init"}},
		{"keys init lower-case country", []string{"keys", "init", "--dir", "d", "--country", "vn"}},
		{"keys init long country", []string{"keys", "init", "--dir", "d", "--country", "VNM"}},
		{"keys init bad alg", []string{"keys", "init", "--dir", "d", "--alg", "ES384"}},
		{"keys init extra argument", []string{"keys", "init", "--dir", "d", "extra"}},
		{"issue unknown flag", []string{"issue", "--bogus"}},
		{"issue without keys", []string{"issue", "--record", "r.json"}},
		{"issue without record", []string{"issue", "--keys", "k"}},
		{"issue bad validity", []string{"issue", "--keys", "k", "--record", "r.json", "--validity", "5x"}},
		{"issue negative validity", []string{"issue", "--keys", "k", "--record", "r.json", "--validity", "-1d"}},
		{"issue extra argument", []string{"issue", "--keys", "k", "--record", "r.json", "extra"}},
		{"verify without trust source", []string{"verify", "HC1:x"}},
		{"verify json without trust source", []string{"verify", "--json", "HC1:x"}},
		{"verify bad time", []string{"verify", "--trust-dir", "k", "--at", "yesterday", "HC1:x"}},
		{"verify date only", []string{"verify", "--trust-dir", "k", "--at", "2026-06-01", "HC1:x"}},
		{"verify bad skew", []string{"verify", "--trust-dir", "k", "--skew", "soon", "HC1:x"}},
		{"verify skew over 24h", []string{"verify", "--trust-dir", "k", "--skew", "25h", "HC1:x"}},
		{"verify two payloads", []string{"verify", "--trust-dir", "k", "HC1:x", "HC1:y"}},
		{"verify flag without value", []string{"verify", "--trust-cert"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.args...)
			wantError(t, code, stdout, stderr, exitError)
			if !strings.Contains(stderr, "vaxcert: hint: ") {
				t.Errorf("no hint in stderr:\n%s", stderr)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want string // the usage line the output must hold
	}{
		{[]string{"help"}, "vaxcert verify (--trust-cert"},
		{[]string{"--help"}, "vaxcert keys init --dir D"},
		{[]string{"help", "issue"}, "vaxcert issue --keys D --record FILE.json"},
		{[]string{"help", "keys"}, "vaxcert keys init --dir D"},
		{[]string{"issue", "-h"}, "vaxcert issue --keys D --record FILE.json"},
		{[]string{"verify", "--help"}, "vaxcert verify (--trust-cert"},
		{[]string{"keys", "-h"}, "vaxcert keys init --dir D"},
		{[]string{"keys", "init", "-h"}, "vaxcert keys init --dir D"},
		{[]string{"version", "-h"}, "vaxcert version"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.args...)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit status %d, stderr %q; want 0 and empty", code, stderr)
			}
			if !strings.HasPrefix(stdout, "Usage:\n") || !strings.Contains(stdout, tc.want) {
				t.Errorf("stdout does not hold usage %q:\n%s", tc.want, stdout)
			}
		})
	}

	code, stdout, stderr := runCLI(t, "")
	if code != exitError || stdout != "" || !strings.HasPrefix(stderr, "Usage:\n") {
		t.Errorf("no arguments: exit %d, stdout %q, stderr %q; want 2 and usage on stderr", code, stdout, stderr)
	}
}

func TestVersion(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "version")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit status %d, stderr %q", code, stderr)
	}
	want := "\nEU DCC schema 1.0.1, 1.2.1, 1.3.3; EU value sets 2.12.0 (eu-dcc-valuesets)\n"
	if !regexp.MustCompile(`^vaxcert \S+ go\S+\n`).MatchString(stdout) || !strings.HasSuffix(stdout, want) {
		t.Errorf("stdout = %q, want \"vaxcert <version> <go version>\" and the EU releases", stdout)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"365d", 365 * 24 * time.Hour, true},
		{"0d", 0, true},
		{"36h", 36 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"1h30m", 90 * time.Minute, true},
		{"36500d", 36500 * 24 * time.Hour, true},
		{"36501d", 0, false},
		{"d", 0, false},
		{"-1d", 0, false},
		{"1.5d", 0, false},
		{"-1h", 0, false},
		{"365", 0, false},
		{"", 0, false},
	}
	for _, tc := range tests {
		got, err := parseDuration(tc.in)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if !tc.ok && err != errDuration {
			t.Errorf("parseDuration(%q) error = %v, want errDuration", tc.in, err)
		}
	}
}

func TestParseFlagsInterspersed(t *testing.T) {
	flags := newFlagSet("t")
	j := flags.Bool("json", false, "")
	pos, err := parseFlags(flags, []string{"a", "--json", "-", "--", "--b"})
	if err != nil {
		t.Fatal(err)
	}
	if !*j || strings.Join(pos, " ") != "a - --b" {
		t.Errorf("json = %v, positional = %q; want true, [a - --b]", *j, pos)
	}
}
