package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

const usage = `Usage:
    vaxcert keys init --dir D [--country VN] [--alg ES256|PS256] [--force]
    vaxcert keys rotate --dir D | keys retire --dir D --kid KID
    vaxcert issue --keys D --record FILE.json [--png OUT.png] [--validity 365d]
    vaxcert verify (--trust-cert CERT | --trust-dir D | --trust-list FILE|URL --root CSCA.pem)... [--revocations FILE|URL]
                   [--policy FILE] [--at TIME] [--skew DUR] [--rules DIR|FILE --country CC [--region R]] [--json] [PAYLOAD|-]
    vaxcert serve [--addr 127.0.0.1:8080] [--data ./data] [--db URL] (--jwks FILE --idp-issuer URL | --dev)
    vaxcert serve-verifier --issuer URL --root CSCA.pem [--sync-interval D] [--data DIR] [--addr A]
    vaxcert trust export --keys D --out FILE
    vaxcert issue-all [--server URL] [--token T]
    vaxcert upload [--server URL] [--token T] FILE...
    vaxcert tokens (create --role ROLE [--site S] --name N | list | revoke ID) [--data D | --db URL]
    vaxcert rules test DIR [--json]
    vaxcert rules sign --keys D --rules DIR [--value-sets DIR] [--sequence N] [--validity 48h] --out FILE
    vaxcert version
    vaxcert help [COMMAND]

Commands:
    keys init   Create a CSCA, a document signer (DSC) and the UVCI secret.
    keys rotate Replace the DSC (the old one stays trusted); keys retire untrusts it.
    issue       Sign a dose record; print the HC1 text, optionally write the QR PNG.
    verify      Verify an HC1 text offline against trusted DSCs.
    serve       Run the issuer service's HTTP API.
    serve-verifier  Run the standalone venue verifier (syncs the signed lists).
    trust export    Write the signed trust list to a file, for offline venues.
    issue-all   Run the batch issuance on the service and follow its progress.
    upload      Upload a site's dose records (NDJSON, CSV): parts, retries, resume.
    tokens      Create, list and revoke the service's staff API tokens.
    rules test  Validate business rules (CertLogic) and run their tests.
    rules sign  Sign a rule set (and value sets) for venues.
    version     Print the version.

Exit status: 0 success or valid, 1 invalid certificate (verify) or failed job
(issue-all), 2 usage or input error.

Example:
    $ vaxcert keys init --dir keys --country VN
    $ vaxcert issue --keys keys --record examples/record.json --png qr.png > hc1.txt
    $ vaxcert verify --trust-dir keys < hc1.txt
    $ vaxcert verify --trust-dir keys --json --at 2027-01-01T00:00:00+07:00 "$(cat hc1.txt)"

Run "vaxcert help COMMAND" for the flags of one command.
`

// Exit statuses.
const (
	exitOK      = 0 // success; verify: the certificate is valid
	exitInvalid = 1 // verify: the certificate is invalid
	exitError   = 2 // usage or input error
)

// command is one subcommand: its entry point and its usage text.
type command struct {
	run   func(e *env, args []string) error
	usage string
}

// commands maps subcommand names to their implementation, one file each.
var commands = map[string]command{
	"keys":           {runKeys, keysUsage},
	"issue":          {runIssue, issueUsage},
	"verify":         {runVerify, verifyUsage},
	"serve-verifier": {runServeVerifier, serveVerifierUsage},
	"trust":          {runTrust, trustUsage},
	"serve":          {runServe, serveUsage},
	"issue-all":      {runIssueAll, issueAllUsage},
	"upload":         {runUpload, uploadUsage},
	"rules":          {runRules, rulesUsage},
	"tokens":         {runTokens, tokensUsage},
	"version":        {runVersion, versionUsage},
}

// now is the clock of every command. Tests replace it with a fixed clock.
var now = time.Now

// env holds a command's standard streams.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run executes the command line args and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	name, args := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		return help(e, args)
	}
	cmd, ok := commands[name]
	if !ok {
		return e.fail(usageErrorf("unknown command %q", name))
	}
	err := cmd.run(e, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, cmd.usage)
		return exitOK
	}
	return e.fail(err)
}

// help prints the general usage, or that of one command.
func help(e *env, args []string) int {
	switch {
	case len(args) == 0:
		fmt.Fprint(e.stdout, usage)
		return exitOK
	case len(args) > 1:
		return e.fail(usageErrorf("help takes at most one command"))
	}
	cmd, ok := commands[args[0]]
	if !ok {
		return e.fail(usageErrorf("unknown command %q", args[0]))
	}
	fmt.Fprint(e.stdout, cmd.usage)
	return exitOK
}

// cliError is an error with an exit status and hints for the user.
type cliError struct {
	err   error
	code  int
	hints []string
}

func (c *cliError) Error() string { return c.err.Error() }
func (c *cliError) Unwrap() error { return c.err }

// usageErrorf reports a malformed command line (exit status 2).
func usageErrorf(format string, args ...any) error {
	return &cliError{err: fmt.Errorf(format, args...), code: exitError,
		hints: []string{`run "vaxcert help" for usage`}}
}

// withHint wraps err as an input error (exit status 2) with hints.
func withHint(err error, hints ...string) error {
	return &cliError{err: err, code: exitError, hints: hints}
}

// fail prints err as "vaxcert: error:" and "vaxcert: hint:" lines and
// returns its exit status. A nil err is success.
func (e *env) fail(err error) int {
	if err == nil {
		return exitOK
	}
	code := exitError
	var hints []string
	var ce *cliError
	if errors.As(err, &ce) {
		code, hints = ce.code, ce.hints
	}
	fmt.Fprintf(e.stderr, "vaxcert: error: %v\n", err)
	for _, h := range hints {
		fmt.Fprintf(e.stderr, "vaxcert: hint: %s\n", h)
	}
	return code
}
