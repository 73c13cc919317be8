package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/keys/keyfile"
)

// A correctly signed certificate may carry escape sequences, bidi overrides
// and newlines in its names: the text output must not pass them to the
// terminal (issue 9 item 7).
func TestVerifyTextEscapesPayload(t *testing.T) {
	dir := initKeys(t)
	signer, dsc, err := keyfile.LoadDSC(dir)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := keyfile.LoadSecret(filepath.Join(dir, uvciKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	iss, err := issuer.New(signer, dsc, issuer.WithUVCISecret(secret), issuer.WithIssuerName(defaultIssuerName),
		issuer.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	dcc, err := iss.Payload(testkit.Record())
	if err != nil {
		t.Fatal(err)
	}
	hostile := "\x1b[2J\x1b[H\u202eVALID\r\nVALID vaccination certificate\u2028\x7f\u0085"
	dcc.Nam.FN = hostile
	dcc.V[0].IS = "Bộ Y tế\x1b]0;pwned\x07"
	cert, err := iss.Sign(dcc)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runCLI(t, "", "verify", "--trust-dir", dir, cert.HC1)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
	for _, bad := range []string{"\x1b", "\u202e", "\r", "\u2028", "\x7f", "\u0085", "\x07"} {
		if strings.Contains(stdout, bad) {
			t.Errorf("output carries %q:\n%s", bad, stdout)
		}
	}
	if n := strings.Count(stdout, "\nVALID"); n != 1 {
		t.Errorf("the certificate forged %d verdict lines:\n%s", n, stdout)
	}
	for _, want := range []string{`\u001b[2J`, `\u202e`, `\u000d\u000a`, "Bộ Y tế"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"Nguyễn Văn Đức":      "Nguyễn Văn Đức",
		"a\tb":                `a\u0009b`,
		"\xff":                `\xff`,
		"x\u2066y\u2069":      `x\u2066y\u2069`,
		"URN:UVCI:01:VN:X#Q":  "URN:UVCI:01:VN:X#Q",
		"O'Brien-Smith (Jr.)": "O'Brien-Smith (Jr.)",
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}
