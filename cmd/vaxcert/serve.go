package main

import (
	"cmp"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/logsink"
	"github.com/vaxcert/vaxcert/internal/netguard"
	"github.com/vaxcert/vaxcert/internal/scanpage"
	"github.com/vaxcert/vaxcert/internal/server"
	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/keys/issuing"
	"github.com/vaxcert/vaxcert/keys/keyfile"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

const serveUsage = `Usage:
    vaxcert serve [--addr 127.0.0.1:8080] [--data ./data] [--db URL]
                  (--jwks FILE --idp-issuer URL [--idp-audience AUD] [--idp-type TYP] | --dev)
                  [--rules DIR|FILE] [--trusted-proxies CIDRS] [--rate-citizen 5:30] [--rate-venue 100:300]
                  [--rate-anonymous 20:60] [--rate-staff 50:200] [--max-in-flight N]

Run the issuer service's HTTP API until SIGINT or SIGTERM; requests in
flight finish first. The API is described at GET /v1/openapi.yaml.

Flags:
    --addr HOST:PORT     listen address (default 127.0.0.1:8080)
    --data DIR           data folder (default ./data): the key folder DIR/keys
                         (dsc.pem, dsc.key, uvci.key, see "vaxcert keys init")
                         and the SQLite database DIR/vaxcert.db
    --db URL             the database instead: postgres://user@host/db or a
                         SQLite file
    --jwks FILE          the national identity provider's JWK Set, which
                         verifies citizens' bearer JWTs (required without --dev)
    --idp-issuer URL     the "iss" of citizens' JWTs (required with --jwks)
    --value-sets DIR     newer EU value-set files (*.json) over the embedded ones
                         (also sent to venues with the --rules rule set)
    --rules DIR|FILE     publish the venues' rule set at GET /v1/rule-set: a
                         folder of [<SET>/]<RuleId>/rule.json, signed with the
                         list-signing key (re-signed with a higher sequence when
                         the folder changes), or a signed rule set from "vaxcert
                         rules sign", served as it is; venue verifiers apply it
                         at their next sync
    --issuer-name NAME   the certificate issuer written in certificates
                         (default "Ministry of Health of Viet Nam")
    --idp-audience AUD   the "aud" citizens' JWTs must hold (default
                         vaxcert-issuer)
    --idp-type TYP       the JOSE "typ" the identity provider sets on its
                         access tokens (e.g. at+jwt), then required; without
                         it a token's typ must be absent or JWT
    --dev                development mode, never in production: create demo
                         keys and a development identity provider under DIR
                         when missing, staff tokens for each role (kept in
                         DIR/dev-tokens.json) and a citizen JWT for the person
                         of examples/record.json, and print them with curl
                         examples

Crowd control (see "Limits" in GET /v1/openapi.yaml):
    --trusted-proxies CIDRS  comma-separated addresses or prefixes of reverse
                         proxies whose X-Forwarded-For names the client (default
                         none: the client is the peer address; never list a
                         range clients can send from)
    --rate-citizen R     per citizen, "PER_SECOND:BURST" (default 5:30)
    --rate-venue R       POST /v1/verify, per client address (default 100:300)
    --rate-anonymous R   other requests without a valid credential, per client
                         address (default 20:60)
    --rate-staff R       per staff token (default 50:200); "off" lifts a rate
    --max-in-flight N    citizen and public requests served at once (default 8
                         per CPU; -1: no bound); beyond it a request waits at
                         most 20 ms, then gets 503 with Retry-After
    --shed-target DUR    while this process's goroutines wait longer than DUR
                         to run (90th percentile over 100 ms) and requests
                         come at 500/s or more, refuse a growing share of
                         citizen and public requests that arrive while
                         others are served (at most half; not POST
                         /v1/verify), with 503 and Retry-After (default 5ms;
                         0: never)
    --log-flush D        write the log at least every D, in batches (default
                         200ms; 0: every line at once)

Logs are JSON lines on standard error; they carry no personal data.

Example:
    $ vaxcert serve --dev
    $ vaxcert serve --addr :8443 --db postgres://vaxcert@db/vaxcert \
          --jwks /etc/vaxcert/idp-jwks.json --idp-issuer https://id.gov.vn
`

// Development mode.
const (
	devIdentityDir  = "dev-identity"
	devTokensFile   = "dev-tokens.json"
	devIssuer       = "https://id.dev.vaxcert.invalid"
	devJWTLifetime  = 12 * time.Hour
	devUploaderSite = "HN-001"
	// examplePersonID is the person of examples/record.json (a test checks
	// that they agree).
	examplePersonID = "001090012345"
	defaultAudience = "vaxcert-issuer"
)

// devActor creates the development tokens.
var devActor = service.Actor{Kind: service.ActorSystem, ID: "vaxcert-serve-dev"}

func runServe(e *env, args []string) error {
	flags := newFlagSet("serve")
	addr := flags.String("addr", server.DefaultAddr, "")
	data := flags.String("data", "data", "")
	dbURL := flags.String("db", "", "")
	jwksFile := flags.String("jwks", "", "")
	idpIssuer := flags.String("idp-issuer", "", "")
	audience := flags.String("idp-audience", defaultAudience, "")
	idpType := flags.String("idp-type", "", "")
	vsDir := flags.String("value-sets", "", "")
	rulesArg := flags.String("rules", "", "")
	issuerName := flags.String("issuer-name", defaultIssuerName, "")
	dev := flags.Bool("dev", false, "")
	proxyList := flags.String("trusted-proxies", "", "")
	rates := server.Config{StaffRate: server.DefaultStaffRate, CitizenRate: server.DefaultCitizenRate,
		AnonymousRate: server.DefaultAnonymousRate, VenueRate: server.DefaultVenueRate}
	flags.Var(netguard.RateFlag{Rate: &rates.CitizenRate}, "rate-citizen", "")
	flags.Var(netguard.RateFlag{Rate: &rates.VenueRate}, "rate-venue", "")
	flags.Var(netguard.RateFlag{Rate: &rates.AnonymousRate}, "rate-anonymous", "")
	flags.Var(netguard.RateFlag{Rate: &rates.StaffRate}, "rate-staff", "")
	maxInFlight := flags.Int("max-in-flight", 0, "")
	logFlush := durationFlag{logsink.DefaultFlush}
	flags.Var(&logFlush, "log-flush", "")
	shedTarget := flags.Duration("shed-target", server.DefaultShedTarget, "")
	pos, err := parseFlags(flags, args)
	switch {
	case err != nil:
		return err
	case len(pos) > 0:
		return commandUsageError("serve", fmt.Errorf("unexpected argument %q", pos[0]))
	case *dev && (*jwksFile != "" || *idpIssuer != "" || *idpType != ""):
		return commandUsageError("serve", errors.New("--dev uses its own identity provider: drop --jwks, --idp-issuer and --idp-type"))
	case !*dev && *jwksFile == "":
		return withHint(errors.New("--jwks is required"),
			"pass the identity provider's JWK Set with --jwks and its issuer with --idp-issuer",
			"or run a development server with --dev")
	case !*dev && *idpIssuer == "":
		return commandUsageError("serve", errors.New("--idp-issuer is required with --jwks"))
	case *maxInFlight < -1:
		return commandUsageError("serve", errors.New("--max-in-flight must be positive, or -1 for no bound"))
	case *shedTarget < 0:
		return commandUsageError("serve", errors.New("--shed-target must not be negative (0: never shed)"))
	}
	proxies, err := netguard.ParseProxies(*proxyList)
	if err != nil {
		return commandUsageError("serve", err)
	}

	keyDir := filepath.Join(*data, "keys")
	if *dev {
		if err := ensureDemoKeys(keyDir); err != nil {
			return withHint(err)
		}
	}
	signer, dsc, err := keyfile.LoadDSC(keyDir)
	if err != nil {
		return withHint(err, `create the keys with "vaxcert keys init --dir `+keyDir+`", or run with --dev`)
	}
	secret, err := keyfile.LoadSecret(filepath.Join(keyDir, keyfile.UVCISecretFile))
	if err != nil {
		return withHint(err)
	}
	vs, err := loadValueSets(*vsDir)
	if err != nil {
		return err
	}
	iss, err := issuer.New(signer, dsc, issuer.WithUVCISecret(secret), issuer.WithIssuerName(*issuerName),
		issuer.WithClock(now), issuer.WithValueSets(vs))
	if err != nil {
		return withHint(err)
	}

	ctx := context.Background()
	st, err := openStore(ctx, *data, *dbURL, true)
	if err != nil {
		return err
	}
	defer st.Close()
	if !*dev {
		active, err := service.NewTokens(st, now).Active(ctx)
		if err != nil {
			return withHint(err)
		}
		if len(active) == 0 {
			return noTokensError(*data, *dbURL)
		}
	}
	sink := logsink.New(e.stderr, logFlush.d)
	defer sink.Stop()
	logger := slog.New(slog.NewJSONHandler(sink, nil))
	svc, err := service.New(service.Config{Store: st, Issuer: iss, Clock: now, Logger: logger, ValueSets: vs})
	if err != nil {
		return withHint(err)
	}
	defer svc.Close()

	var jwks, devKey []byte
	issuerURL := *idpIssuer
	if *dev {
		dir := filepath.Join(*data, devIdentityDir)
		if err := auth.GenerateDevIdentity(dir); err != nil {
			return withHint(err)
		}
		if devKey, err = os.ReadFile(filepath.Join(dir, auth.DevKeyFile)); err != nil {
			return withHint(err)
		}
		*jwksFile, issuerURL = filepath.Join(dir, auth.DevJWKSFile), devIssuer
	}
	if jwks, err = auth.ReadJWKSFile(*jwksFile); err != nil {
		return withHint(err)
	}
	idpOpts := []auth.Option{auth.WithIssuer(issuerURL), auth.WithAudience(*audience), auth.WithClock(now)}
	if *idpType != "" {
		idpOpts = append(idpOpts, auth.WithType(*idpType))
	}
	citizens, err := auth.NewCitizenVerifier(jwks, idpOpts...)
	if err != nil {
		return withHint(err, "--jwks takes a JWK Set of public signing keys, each with a kid")
	}
	// The signed lists (/v1/trust-list, /v1/revocations) come from the key
	// folder and the store; the venue endpoint (/v1/verify, /scan) answers
	// from those same lists, as a venue verifier would.
	pub, err := trustpub.New(trustpub.Config{KeyDir: keyDir, Clock: now})
	if err != nil {
		return withHint(err, `the key folder needs csca.pem (and csca.key once, to create the list-signing key lists.pem/lists.key)`)
	}
	if *rulesArg != "" {
		if err := publishRules(pub, *rulesArg, *vsDir); err != nil {
			return err
		}
	}
	checker, err := venue.NewChecker(nil, 0, verifierOptions(vs)...)
	if err != nil {
		return withHint(err)
	}
	scan, err := scanConfig(keyDir, e.stderr)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{Addr: *addr, Citizens: citizens, Logger: logger, ValueSets: vs, Scan: scan,
		Lists: pub, Checker: checker,
		Ready: func(context.Context) error { return dscValid(dsc) }, TrustedProxies: proxies, MaxInFlight: *maxInFlight,
		ShedTarget: cmp.Or(*shedTarget, -1),
		StaffRate:  rates.StaffRate, CitizenRate: rates.CitizenRate, AnonymousRate: rates.AnonymousRate,
		VenueRate: rates.VenueRate}, svc)
	if err != nil {
		return withHint(err)
	}
	if *dev {
		tokens, err := devTokens(ctx, svc, filepath.Join(*data, devTokensFile))
		if err != nil {
			return withHint(err)
		}
		jwt, err := auth.MintDevToken(devKey, examplePersonID, devIssuer, *audience, devJWTLifetime, now())
		if err != nil {
			return withHint(err)
		}
		printDevBanner(e.stdout, *addr, *data, tokens, jwt)
	}
	if err := srv.Run(ctx); err != nil {
		return withHint(err)
	}
	return nil
}

// errDSCNotValid makes /readyz fail while the DSC cannot sign.
var errDSCNotValid = errors.New("the document signer certificate is expired or not yet valid")

func dscValid(dsc *x509.Certificate) error {
	if t := now(); t.Before(dsc.NotBefore) || t.After(dsc.NotAfter) {
		return errDSCNotValid
	}
	return nil
}

// ensureDemoKeys creates a demo key folder (CSCA, DSC, UVCI secret) unless
// dir already holds a DSC.
func ensureDemoKeys(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, keyfile.DSCCertFile)); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	t := now()
	csca, err := issuing.NewCSCA(issuing.CSCAOptions{Country: "VN", NotBefore: t})
	if err != nil {
		return err
	}
	dsc, err := csca.IssueDSC(issuing.DSCOptions{NotBefore: t})
	if err != nil {
		return err
	}
	return keyfile.WriteDir(dir, csca, dsc)
}

// devRoles are the development tokens, in the order they are printed.
var devRoles = []struct {
	name string
	role auth.Role
	site string
}{
	{"UPLOADER", auth.RoleUploader, devUploaderSite},
	{"FINALISER", auth.RoleFinaliser, ""},
	{"REVIEWER", auth.RoleReviewer, ""},
	{"ADMIN", auth.RoleAdmin, ""},
}

// devTokens returns a working token per development role: the ones kept in
// path when the database still knows them, else new ones (the database
// keeps only hashes, so the plaintexts are kept in path, mode 0600).
func devTokens(ctx context.Context, svc *service.Service, path string) (map[string]string, error) {
	tokens := map[string]string{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &tokens); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// The demo site finalises at the source, so that the walk-through's
	// finalised uploads count at once (production: an admin grants it
	// with PUT /v1/sites/{site}/permissions).
	if p, err := svc.GetSitePermission(ctx, devActor, devUploaderSite); err != nil {
		return nil, err
	} else if !p.Finalise {
		if _, err := svc.SetSitePermission(ctx, devActor, devUploaderSite, true); err != nil {
			return nil, err
		}
	}
	changed := false
	for _, r := range devRoles {
		if a, err := svc.LookupToken(ctx, tokens[r.name]); err == nil && a.Role == r.role && a.Site == r.site {
			continue
		}
		plain, _, err := svc.CreateToken(ctx, devActor, r.role, r.site, "development "+string(r.role))
		if err != nil {
			return nil, err
		}
		tokens[r.name], changed = plain, true
	}
	if changed {
		b, err := json.MarshalIndent(tokens, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(path, append(b, '\n'), 0o600); err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

// printDevBanner prints the development credentials and how to use them.
func printDevBanner(w io.Writer, addr, data string, tokens map[string]string, jwt string) {
	base := "http://" + addr
	fmt.Fprintf(w, "vaxcert serve --dev: DEVELOPMENT MODE, demo keys and identity provider in %s\n", data)
	fmt.Fprintf(w, "API on %s (document: %s/v1/openapi.yaml)\n\n", base, base)
	fmt.Fprintf(w, "Staff tokens (kept in %s), one per role; the uploader acts for site %s, which may finalise at the source:\n",
		filepath.Join(data, devTokensFile), devUploaderSite)
	for _, r := range devRoles {
		fmt.Fprintf(w, "export %s=%s\n", r.name, tokens[r.name])
	}
	fmt.Fprintf(w, "\nCitizen JWT for the person of examples/record.json, valid %.0f hours:\n", devJWTLifetime.Hours())
	fmt.Fprintf(w, "export CITIZEN=%s\n\n", jwt)
	fmt.Fprintf(w, "Try:\n")
	fmt.Fprintf(w, "curl -sS %s/v1/dose-records -H \"Authorization: Bearer $UPLOADER\" -H 'Content-Type: application/json' \\\n"+
		"  -d '{\"person\":{\"id\":\"%s\",\"family_name\":\"Nguyễn\",\"given_name\":\"Văn Đức\",\"birth_date\":\"1990-04-12\"},"+
		"\"doses\":[{\"record_id\":\"HN-001-0001\",\"site\":\"%s\",\"product\":\"EU/1/20/1528\",\"manufacturer\":\"ORG-100030215\","+
		"\"lot\":\"FF2588\",\"dose_number\":1,\"series_doses\":2,\"date\":\"2021-08-15\",\"country\":\"VN\",\"status\":\"draft\"}]}'\n",
		base, examplePersonID, devUploaderSite)
	fmt.Fprintf(w, "curl -sS -X POST %s/v1/dose-records/%s/HN-001-0001/finalise -H \"Authorization: Bearer $FINALISER\"\n",
		base, devUploaderSite)
	fmt.Fprintf(w, "curl -sS %s/v1/persons/issue -H \"Authorization: Bearer $FINALISER\" -H 'Content-Type: application/json' \\\n"+
		"  -d '{\"national_id\":\"%s\"}'\n", base, examplePersonID)
	fmt.Fprintf(w, "curl -sS %s/v1/me/certificates -H \"Authorization: Bearer $CITIZEN\"\n", base)
	fmt.Fprintf(w, "vaxcert issue-all --server %s --token \"$FINALISER\"\n\n", base)
}

// scanConfig is the /scan page of the issuer service: it pins the CSCA of
// the key folder and verifies in the browser against the service's signed
// lists.
func scanConfig(keyDir string, stderr io.Writer) (*scanpage.Config, error) {
	root, err := os.ReadFile(filepath.Join(keyDir, keyfile.CSCACertFile))
	if err != nil {
		return nil, withHint(err, "the scan page pins the CSCA certificate of the key folder")
	}
	if err := scanpage.Check(); err != nil {
		fmt.Fprintln(stderr, "warning:", err)
	}
	return &scanpage.Config{Root: root, TrustList: "/v1/trust-list", Revocations: "/v1/revocations", RuleSet: "/v1/rule-set"}, nil
}

// publishRules configures GET /v1/rule-set from --rules (a rule folder,
// signed by pub, or a signed rule set file) and checks it once now.
func publishRules(pub *trustpub.Publisher, arg, vsDir string) error {
	st, err := os.Stat(arg)
	if err != nil {
		return withHint(err, "--rules takes a folder of rules or a signed rule set (vaxcert rules sign)",
			"--rules nhận một thư mục quy tắc hoặc một bộ quy tắc đã ký (vaxcert rules sign)")
	}
	if st.IsDir() {
		pub.PublishRules(func() (ruleJSON, vsJSON []json.RawMessage, err error) {
			if ruleJSON, err = readRuleFiles(arg); err != nil || vsDir == "" {
				return ruleJSON, nil, err
			}
			vsJSON, err = readValueSetFiles(vsDir)
			return ruleJSON, vsJSON, err
		})
	} else {
		pub.PublishSignedRuleSet(arg)
	}
	if _, _, err := pub.CurrentRuleSet(); err != nil {
		return withHint(err, `check the rules with "vaxcert rules test"; a signed rule set must chain to this key folder's CSCA and be unexpired`,
			`kiểm tra bộ quy tắc bằng "vaxcert rules test"; bộ quy tắc đã ký phải thuộc CSCA của thư mục khóa này và còn hạn`)
	}
	return nil
}
