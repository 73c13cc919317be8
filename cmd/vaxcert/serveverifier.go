package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/logsink"
	"github.com/vaxcert/vaxcert/internal/netguard"
	"github.com/vaxcert/vaxcert/internal/scanpage"
	"github.com/vaxcert/vaxcert/internal/verifysvc"
	"github.com/vaxcert/vaxcert/internal/verifysync"
	"github.com/vaxcert/vaxcert/verifier"
	"github.com/vaxcert/vaxcert/verifier/rules"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

const serveVerifierUsage = `Usage:
    vaxcert serve-verifier --issuer URL --root CSCA.pem [--sync-interval 5m] [--data ./verifier-data]
                           [--addr 127.0.0.1:8090] [--stale-after 24h] [--policy FILE] [--gateway FILE]
                           [--privileged-tokens FILE] [--rate 100:300] [--trusted-proxies CIDRS]
                           [--rules DIR|FILE] [--country CC] [--region R] [--checks N]

Run the standalone venue verifier: it syncs the issuer's signed trust list,
revocation list and rule set (GET /v1/rule-set, when the issuer publishes
one: "vaxcert serve --rules") every --sync-interval, keeps the last good copy in
--data (replaced atomically), and answers POST /v1/verify from it, also
when the issuer cannot be reached and after a restart. It has no database
and keeps no personal data; logs hold routes, statuses and durations only.

POST /v1/verify takes the QR text (text/plain, or {"qr": "HC1:…"}) and
answers {"decision", "valid", "reason", "message": {"vi", "en"},
"holder": {"name", "birth_date"}, "valid_until", "data_age_seconds",
"stale"}. decision is full, partial, booster, recovered, tested or
not_accepted (the vaccination policy, for a valid certificate), invalid,
revoked, or unavailable (no unexpired lists held). Past --stale-after the
answer has "stale": true and "valid": false. Also: /healthz, /readyz (200
only with unexpired lists), /metrics (Prometheus, with the lists' ages).

Flags:
    --issuer URL             the issuer service, e.g. http://127.0.0.1:8080 (required)
    --root CSCA.pem          the issuer's CSCA certificate, pinned (required)
    --sync-interval D        time between syncs (default 5m)
    --data DIR               where the last good lists are kept (default ./verifier-data)
    --addr HOST:PORT         listen address (default 127.0.0.1:8090)
    --stale-after D          data age past which answers are stale (default 24h)
    --policy FILE            vaccination policy JSON (default: the safe defaults)
    --gateway FILE           also trust the DSCs of an EU-gateway-style trust list
                             file (JSON array of {kid, country, certificateType, rawData})
    --privileged-tokens FILE bearer tokens, one a line, whose requests get the
                             full payload ("certificate"); the file should be 0600
    --rate R                 POST /v1/verify per client, "PER_SECOND:BURST" (default 100:300)
    --trusted-proxies CIDRS  reverse proxies whose X-Forwarded-For names the client
    --rules DIR|FILE         the venue's business rules (CertLogic), as for "vaxcert
                             verify": a folder, a rule-set file, or a signed rule set
                             (vaxcert rules sign), checked against --root at start,
                             whose value sets then apply and whose expiry ends its use;
                             a certificate the rules refuse answers not_accepted;
                             a newer valid rule set synced from the issuer replaces
                             it without a restart (a lower sequence or an expired
                             set is refused and the held one stays)
    --country CC             the venue's country for the rules (e.g. VN; default for
                             synced rule sets: the publishing issuer's country)
    --region R               the venue's region, for rules that have one
    --log-flush D            write the log at least every D, in batches (default
                             200ms; 0: every line at once)
    --checks N               certificate checks run at once (default: one per CPU,
                             GOMAXPROCS); further requests wait their turn in the
                             order they came; -1: no bound

Example:
    $ vaxcert serve-verifier --issuer http://127.0.0.1:8080 --root data/keys/csca.pem --sync-interval 10s
    $ curl -sS localhost:8090/v1/verify -H 'Content-Type: text/plain' --data-binary @hc1.txt
`

// verifierMemoryLimit is serve-verifier's soft memory limit unless
// GOMEMLIMIT says otherwise.
const verifierMemoryLimit = 80 << 20

func runServeVerifier(e *env, args []string) error {
	flags := newFlagSet("serve-verifier")
	issuerURL := flags.String("issuer", "", "")
	rootPath := flags.String("root", "", "")
	var interval, staleAfter durationFlag
	interval.d, staleAfter.d = verifysync.DefaultInterval, venue.DefaultStaleAfter
	flags.Var(&interval, "sync-interval", "")
	flags.Var(&staleAfter, "stale-after", "")
	logFlush := durationFlag{logsink.DefaultFlush}
	flags.Var(&logFlush, "log-flush", "")
	data := flags.String("data", "verifier-data", "")
	addr := flags.String("addr", verifysvc.DefaultAddr, "")
	policyPath := flags.String("policy", "", "")
	gatewayPath := flags.String("gateway", "", "")
	tokensPath := flags.String("privileged-tokens", "", "")
	rate := verifysvc.DefaultRate
	flags.Var(netguard.RateFlag{Rate: &rate}, "rate", "")
	proxyList := flags.String("trusted-proxies", "", "")
	rulesArg := flags.String("rules", "", "")
	country := flags.String("country", "", "")
	region := flags.String("region", "", "")
	checks := flags.Int("checks", 0, "")
	pos, err := parseFlags(flags, args)
	switch {
	case err != nil:
		return err
	case len(pos) > 0:
		return commandUsageError("serve-verifier", fmt.Errorf("unexpected argument %q", pos[0]))
	case *issuerURL == "" || *rootPath == "":
		return commandUsageError("serve-verifier", errors.New("--issuer and --root are required"))
	case interval.d < time.Second || staleAfter.d < time.Minute:
		return commandUsageError("serve-verifier", errors.New("--sync-interval must be at least 1s and --stale-after at least 1m"))
	}
	root, err := loadRoot(*rootPath)
	if err != nil {
		return err
	}
	pol, err := loadPolicy(*policyPath)
	if err != nil {
		return err
	}
	var gateway []byte
	if *gatewayPath != "" {
		if gateway, err = readSource("gateway", *gatewayPath, limits.MaxGatewayFile); err != nil {
			return err
		}
	}
	privileged, err := readTokens(*tokensPath)
	if err != nil {
		return err
	}
	proxies, err := netguard.ParseProxies(*proxyList)
	if err != nil {
		return commandUsageError("serve-verifier", err)
	}
	vs, err := loadValueSets("")
	if err != nil {
		return err
	}
	sink := logsink.New(e.stderr, logFlush.d)
	defer sink.Stop()
	logger := slog.New(slog.NewJSONHandler(sink, nil))
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit keeps the process small while a large revocation
		// list is decoded (the garbage of a 28 MB list is collected early).
		debug.SetMemoryLimit(verifierMemoryLimit)
	}
	var static []verifier.Option
	var staticSigned []byte // --rules as a signed rule set, for the scan page
	if *rulesArg != "" {
		check, signedVS, err := loadRulesCheck(rulesOptions{arg: *rulesArg, country: *country, region: *region, root: root, at: now()}, vs)
		if err != nil {
			return err
		}
		static = venue.RulesOptions(check, signedVS)
		if b, err := rules.ReadFileLimited(os.DirFS(filepath.Dir(*rulesArg)), filepath.Base(*rulesArg), limits.MaxRuleSet); err == nil && isJWS(b) {
			staticSigned = b
		}
	}
	checker, err := venue.NewChecker(pol, staleAfter.d, verifierOptions(vs)...)
	if err == nil {
		err = checker.SetRules(static...)
	}
	if err != nil {
		return withHint(err)
	}
	synced := verifysync.Rules{Checker: checker, Country: *country, Region: *region, ValueSets: vs, Logger: logger}
	sy, err := verifysync.New(verifysync.Config{Issuer: *issuerURL, Root: root, Dir: *data, Foreign: gateway,
		Interval: interval.d, Clock: now, Logger: logger, RuleSet: synced.Apply}, checker)
	if err != nil {
		return withHint(err, "--gateway must be an EU-gateway-style JSON array; --data must be a writable folder",
			"--gateway phải là mảng JSON kiểu EU gateway; --data phải là thư mục ghi được")
	}
	if err := scanpage.Check(); err != nil {
		fmt.Fprintln(e.stderr, "warning:", err)
	}
	// The page decides with the same policy as the service, and applies the
	// signed rule set the service synced (GET /v1/rule-set), else that of
	// --rules when it is a signed file, with the same country and region.
	// (A folder or an unsigned file of --rules is not sent to the page: it
	// could not check it.)
	polJSON, err := json.Marshal(pol.Config())
	if err != nil {
		return withHint(err)
	}
	scan := &scanpage.Config{Root: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}),
		TrustList: "/v1/trust-list", Revocations: "/v1/revocations", RuleSet: "/v1/rule-set",
		Country: *country, Region: *region, Policy: polJSON}
	srv, err := verifysvc.New(verifysvc.Config{Addr: *addr, Checker: checker, Sync: sy, Privileged: privileged,
		Rate: rate, TrustedProxies: proxies, Clock: now, Logger: logger, Scan: scan, RuleSet: staticSigned, Checks: *checks})
	if err != nil {
		return withHint(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go sy.Run(ctx)
	fmt.Fprintf(e.stdout, "venue verifier on http://%s (issuer %s, sync every %v, data in %s)\n", *addr, *issuerURL, interval.d, *data)
	if err := srv.Run(ctx); err != nil {
		return withHint(err)
	}
	return nil
}

// readTokens reads the privileged bearer tokens, one a line, as SHA-256
// digests.
func readTokens(path string) ([][sha256.Size]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := readSource("privileged-tokens", path, limits.MaxKeyFile)
	if err != nil {
		return nil, err
	}
	var out [][sha256.Size]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" && !strings.HasPrefix(t, "#") {
			out = append(out, sha256.Sum256([]byte(t)))
		}
	}
	return out, nil
}
