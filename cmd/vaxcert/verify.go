package main

import (
	"github.com/vaxcert/vaxcert/schemas/jsonschema"

	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/timeparse"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/keyfile"
	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/policy"
	"github.com/vaxcert/vaxcert/verifier/rules"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

const verifyUsage = `Usage:
    vaxcert verify (--trust-cert CERT | --trust-dir D | --trust-list FILE|URL --root CSCA.pem | --gateway FILE)...
                   [--revocations FILE|URL] [--policy FILE] [--at TIME] [--skew DUR]
                   [--rules DIR|FILE --country CC [--region R] [--root CSCA]] [--json] [PAYLOAD|-]

Verify an HC1 text offline: prefix, Base45, zlib, COSE_Sign1, signature,
key usage, validity, schema (of the version the payload declares) and EU
value sets. PAYLOAD is the HC1 text; "-" or no argument reads it from
standard input (one trailing newline is ignored). Text from the
certificate is printed with non-printable characters escaped.

Flags (at least one trust source is required; --trust-cert and --trust-dir repeat):
    --trust-cert CERT  trust a DSC: a PEM or DER file, or, when no file has
                       that name, base64 DER text
    --trust-dir D      trust every certificate file in D (*.pem, *.crt, *.cer,
                       *.der), e.g. a folder written by "vaxcert keys init"
    --trust-list SRC   trust the DSCs of a signed trust list: a file written by
                       "vaxcert trust export", or the issuer's URL
                       http://HOST/v1/trust-list; it must verify against --root
                       and be unexpired at TIME
    --gateway FILE     trust the DSCs of an EU-gateway-style trust list file (a
                       JSON array of {kid, country, certificateType, rawData})
    --revocations SRC  refuse revoked certificates: a signed revocation list
                       file or http://HOST/v1/revocations (check "revocation")
    --policy FILE      the vaccination policy (JSON, verifier/policy); default:
                       the safe defaults. It gives "decision"
    --at TIME          verify at TIME instead of now: RFC 3339, or with a
                       zone of +hhmm, or none for UTC
    --value-sets DIR   newer EU value-set files (*.json) over the embedded ones
    --skew DUR         allow the clock to be off by DUR (default 0, max 24h)
    --rules DIR|FILE   business rules (CertLogic): a folder of
                       [<SET>/]<RuleId>/rule.json (e.g. the repo's rules/),
                       or a JSON file of one rule or an array of rules; the
                       rules of --country are checked after the technical
                       checks (check "rules")
    --country CC       the venue's country for --rules (e.g. VN)
    --region R         the venue's region, for rules that have one
    --root CSCA        the pinned CSCA certificate that --trust-list,
                       --revocations and a signed rule set (vaxcert rules
                       sign) must chain to; a signed rule set's value sets
                       then replace the embedded ones unless --value-sets
    --json             print one JSON object (format in the README)

The decision (full, partial, booster, recovered, tested, not_accepted for a
valid certificate; invalid or revoked otherwise) is the one the venue
verifier service gives; the exit status follows the technical checks.

Exit status: 0 valid, 1 invalid, 2 usage or input error.

Example:
    $ vaxcert verify --trust-dir keys "$(cat hc1.txt)"
    $ vaxcert verify --trust-cert dsc.pem --at 2021-06-01T00:00:00Z --json - < hc1.txt
    $ vaxcert verify --trust-list http://127.0.0.1:8080/v1/trust-list --root data/keys/csca.pem \
          --revocations http://127.0.0.1:8080/v1/revocations --json - < hc1.txt
`

// errNoTrust is returned when verify has no trust source.
var errNoTrust = errors.New("no trust source")

func runVerify(e *env, args []string) error {
	flags := newFlagSet("verify")
	var certs, dirs stringsFlag
	flags.Var(&certs, "trust-cert", "")
	flags.Var(&dirs, "trust-dir", "")
	at := flags.String("at", "", "")
	var skew durationFlag
	flags.Var(&skew, "skew", "")
	asJSON := flags.Bool("json", false, "")
	vsDir := flags.String("value-sets", "", "")
	rulesArg := flags.String("rules", "", "")
	country := flags.String("country", "", "")
	region := flags.String("region", "", "")
	trustListSrc := flags.String("trust-list", "", "")
	rootPath := flags.String("root", "", "")
	gatewayPath := flags.String("gateway", "", "")
	revSrc := flags.String("revocations", "", "")
	policyPath := flags.String("policy", "", "")
	pos, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return commandUsageError("verify", errors.New("at most one PAYLOAD argument"))
	}
	if skew.d > verifier.MaxClockSkew {
		return commandUsageError("verify", fmt.Errorf("--skew %v exceeds %v", skew.d, verifier.MaxClockSkew))
	}
	if len(certs) == 0 && len(dirs) == 0 && *trustListSrc == "" && *gatewayPath == "" {
		return withHint(errNoTrust, "pass --trust-cert CERT or --trust-dir D (the folder of \"vaxcert keys init\" works)",
			"or --trust-list FILE|URL --root CSCA.pem")
	}
	if (*trustListSrc != "" || *revSrc != "") && *rootPath == "" {
		return commandUsageError("verify", errors.New("--trust-list and --revocations need --root CSCA.pem"))
	}
	when := now()
	if *at != "" {
		if when, err = timeparse.Parse(*at); err != nil {
			return commandUsageError("verify", err)
		}
	}

	var trust lists.Stores
	if len(certs) > 0 || len(dirs) > 0 {
		t, err := loadTrust(certs, dirs)
		if err != nil {
			return err
		}
		trust = append(trust, t)
	}
	var root *x509.Certificate
	if *rootPath != "" {
		if root, err = loadRoot(*rootPath); err != nil {
			return err
		}
	}
	signed, err := loadSignedLists(*trustListSrc, *revSrc, root, *gatewayPath, when)
	if err != nil {
		return err
	}
	trust = append(trust, signed.stores...)
	pol, err := loadPolicy(*policyPath)
	if err != nil {
		return err
	}
	vs, err := loadValueSets(*vsDir)
	if err != nil {
		return err
	}
	opts := []verifier.Option{verifier.WithClockSkew(skew.d)}
	if signed.revocations != nil {
		opts = append(opts, verifier.WithCheck(lists.RevocationCheck{List: signed.revocations}))
	}
	if *rulesArg != "" || *country != "" || *region != "" {
		check, signedVS, err := loadRulesCheck(rulesOptions{arg: *rulesArg, country: *country, region: *region, root: root, at: when}, vs)
		if err != nil {
			return err
		}
		if signedVS != nil && *vsDir == "" {
			vs = signedVS // the value sets that travelled with the signed rules
		}
		opts = append(opts, verifier.WithCheck(check))
	}
	v, err := newVerifier(trust, vs, opts...)
	if err != nil {
		return err
	}

	name := "-"
	if len(pos) == 1 {
		name = pos[0]
	}
	var qr []byte
	if name == "-" {
		// Read a little past the limit, so that an oversized text reaches
		// the verifier and fails as too_large.
		qr, err = io.ReadAll(io.LimitReader(e.stdin, limits.MaxQRText+3))
		if err != nil {
			return withHint(err)
		}
		qr = trimNewline(qr)
	} else {
		qr = []byte(name)
	}

	res, verr := v.Verify(qr, when)
	decision := decide(res, pol, when)
	if *asJSON {
		err = writeJSON(e.stdout, res, *country, decision)
	} else {
		err = writeHuman(e.stdout, res)
		if err == nil {
			_, err = fmt.Fprintf(e.stdout, "decision: %s\n", decision)
		}
	}
	if err != nil {
		return err
	}
	if verr != nil {
		return &cliError{err: verr, code: exitInvalid, hints: reasonHints(res.Reason())}
	}
	return nil
}

// newVerifier is the verifier set-up of every command that verifies
// (verify, serve): the trust list, the value sets, and the JSON Schema
// validator for payloads that do not fit the schema's Go types (a phone
// app may leave it out).
func newVerifier(trust verifier.TrustStore, vs *schemas.ValueSets, opts ...verifier.Option) (*verifier.Verifier, error) {
	v, err := verifier.New(trust, append(verifierOptions(vs), opts...)...)
	if err != nil {
		return nil, withHint(err)
	}
	return v, nil
}

// verifierOptions are the options of every verifier the commands build:
// the value sets and the JSON Schema for odd payloads.
func verifierOptions(vs *schemas.ValueSets) []verifier.Option {
	return []verifier.Option{verifier.WithValueSets(vs), verifier.WithGenericValidator(jsonschema.Generic{})}
}

// trimNewline removes one trailing "\n" or "\r\n".
func trimNewline(b []byte) []byte {
	b, _ = bytes.CutSuffix(b, []byte("\n"))
	b, _ = bytes.CutSuffix(b, []byte("\r"))
	return b
}

// loadTrust builds the trust list from --trust-cert and --trust-dir values.
func loadTrust(certArgs, dirs []string) (*keys.TrustList, error) {
	var all []*x509.Certificate
	for i, arg := range certArgs {
		certs, err := readTrustCert(arg)
		if err != nil {
			return nil, withHint(fmt.Errorf("--trust-cert #%d: %w", i+1, err),
				"--trust-cert takes a PEM or DER file, or base64 DER text")
		}
		all = append(all, certs...)
	}
	for _, dir := range dirs {
		certs, err := keyfile.ReadTrustDir(dir)
		if err != nil {
			return nil, withHint(err)
		}
		all = append(all, certs...)
	}
	trust, err := keys.NewTrustList(all...)
	if errors.Is(err, keys.ErrNotSigner) {
		return nil, withHint(err, "trust document signer certificates (dsc.pem), not the CSCA")
	}
	if err != nil {
		return nil, withHint(err)
	}
	return trust, nil
}

// readTrustCert reads the certificates of one --trust-cert value: the file
// of that name if there is one, otherwise the value as base64 DER text.
func readTrustCert(arg string) ([]*x509.Certificate, error) {
	fi, err := os.Stat(arg)
	if err != nil {
		certs, perr := keys.ParseCertificates([]byte(arg))
		if perr != nil {
			// The value may be long base64 text: do not echo it.
			return nil, fmt.Errorf("no such file, and not base64 DER text: %w", perr)
		}
		return certs, nil
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	f, err := os.Open(arg)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// ParseCertificates enforces limits.MaxTrustList on what it is given.
	data, err := io.ReadAll(io.LimitReader(f, limits.MaxTrustList+1))
	if err != nil {
		return nil, err
	}
	return keys.ParseCertificates(data)
}

// reasonHints gives advice for some reasons a certificate is invalid.
func reasonHints(r verifier.Reason) []string {
	switch r {
	case verifier.ReasonUnknownKID:
		return []string{"no trusted DSC has the certificate's kid: check --trust-cert and --trust-dir"}
	case verifier.ReasonExpired, verifier.ReasonNotYetValid:
		return []string{"the result depends on the verification time: see --at and --skew"}
	case rules.ReasonRulesFailed:
		return []string{"the certificate is authentic but does not meet the rules listed; the holder needs another certificate",
			"chứng nhận là thật nhưng không đáp ứng các quy tắc nêu trên; người dân cần chứng nhận khác"}
	case rules.ReasonRulesExpired:
		return []string{"the signed rule set has expired: fetch the current one (vaxcert rules sign publishes it)",
			"bộ quy tắc đã ký đã hết hạn: tải bộ quy tắc mới"}
	case rules.ReasonNoRules:
		return []string{"no rule of --country applies to this type of certificate now: check --rules and --country",
			"không có quy tắc nào của --country áp dụng cho loại chứng nhận này: kiểm tra --rules và --country"}
	case verifier.ReasonBadPrefix:
		return []string{`the text must start with "HC1:"; pass the whole QR text`}
	}
	return nil
}

// writeJSON prints the verify --json output, verifier.Report: a public
// contract documented in the README.
func writeJSON(w io.Writer, r *verifier.Result, country, decision string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	out := verifyJSON{Report: r.Report(), Decision: decision}
	if _, ok := r.Outcome(verifier.CheckRules); ok {
		out.Rules = &rulesJSON{Country: country, Failed: rules.FailedRules(r)}
		if out.Rules.Failed == nil {
			out.Rules.Failed = []rules.FailedRule{}
		}
	}
	return enc.Encode(out)
}

// verifyJSON is verifier.Report plus, when --rules is given, the rules
// that failed.
type verifyJSON struct {
	verifier.Report
	Decision string     `json:"decision"`
	Rules    *rulesJSON `json:"rules,omitempty"`
}

type rulesJSON struct {
	Country string             `json:"country"`
	Failed  []rules.FailedRule `json:"failed"`
}

// writeHuman prints one line per check, the verdict and, for a valid
// certificate, a summary of its content. Every string from the certificate
// goes through [printable]: a signed certificate may still carry escape
// sequences, bidi overrides or newlines in its names.
func writeHuman(w io.Writer, r *verifier.Result) error {
	var b strings.Builder
	for _, c := range r.Checks() {
		fmt.Fprintf(&b, "%-11s %s", c.Check, c.Status)
		if c.Reason != verifier.ReasonNone {
			fmt.Fprintf(&b, " (%s)", c.Reason)
		}
		b.WriteByte('\n')
	}
	if !r.Valid() {
		fmt.Fprintf(&b, "\nINVALID: %s\n", r.Reason())
		for _, f := range rules.FailedRules(r) {
			fmt.Fprintf(&b, "  rule %s (%s)\n", printable(f.Identifier), f.Outcome)
			for _, d := range []string{f.Description.EN, f.Description.VI} {
				if d != "" {
					fmt.Fprintf(&b, "    %s\n", printable(d))
				}
			}
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "\nVALID %s certificate\n", r.Type())
	row := func(k, format string, args ...any) {
		fmt.Fprintf(&b, "  %-10s %s\n", k, printable(fmt.Sprintf(format, args...)))
	}
	if d := r.DCC(); d != nil {
		row("holder", "%s", holderName(d.Nam))
		row("born", "%s", orDash(d.Dob))
		vs := schemas.DefaultValueSets()
		switch {
		case len(d.V) == 1:
			v := d.V[0]
			row("dose", "%d/%d on %s in %s", v.DN, v.SD, v.DT, v.CO)
			row("vaccine", "%s", withDisplay(vs, schemas.SetVaccineProduct, v.MP))
			row("by", "%s", withDisplay(vs, schemas.SetVaccineMAH, v.MA))
			row("issuer", "%s", v.IS)
			row("uvci", "%s", v.CI)
		case len(d.T) == 1:
			t := d.T[0]
			row("test", "%s, sampled %s in %s", withDisplay(vs, schemas.SetTestType, t.TT), t.SC, t.CO)
			row("result", "%s", withDisplay(vs, schemas.SetTestResult, t.TR))
			row("issuer", "%s", t.IS)
			row("uvci", "%s", t.CI)
		case len(d.R) == 1:
			rc := d.R[0]
			row("recovery", "first positive %s in %s, valid %s to %s", rc.FR, rc.CO, rc.DF, rc.DU)
			row("issuer", "%s", rc.IS)
			row("uvci", "%s", rc.CI)
		}
	}
	row("signed by", "%s, kid %s (%s)", orDash(r.Issuer()), keys.KIDString(r.KID()), r.Alg())
	row("issued", "%s", r.IssuedAt().UTC().Format(time.RFC3339))
	row("expires", "%s", r.ExpiresAt().UTC().Format(time.RFC3339))
	for _, w := range r.Warnings() {
		row("warning", "%s: %s", w.Code, w.Detail)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// printable makes text from a certificate safe to print on a terminal:
// every character that is not graphic (control characters such as ESC,
// CR and LF, C1 controls, DEL, format characters such as the bidi
// overrides U+202A-U+202E and isolates U+2066-U+2069, line and paragraph
// separators) is written as a \uXXXX escape, and bytes that are not UTF-8
// as \xNN. Letters of every script, marks, digits, punctuation, symbols and
// spaces are kept, so Vietnamese names print as written.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsGraphic(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case !unicode.IsGraphic(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// holderName formats a name as written, with the standardised form.
func holderName(n schemas.Name) string {
	written := strings.TrimSpace(n.FN + " " + n.GN)
	std := strings.Trim(n.FNT+"<<"+n.GNT, "<")
	switch {
	case written == "":
		return orDash(std)
	case std == "":
		return written
	}
	return written + " (" + std + ")"
}

// withDisplay formats a code with its value-set display name, if known.
func withDisplay(vs *schemas.ValueSets, set, code string) string {
	if d := vs.Display(set, code); d != "" && d != code {
		return code + " (" + d + ")"
	}
	return code
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// decide is the venue decision for a verification: the policy's decision
// for a valid certificate, "revoked" for one on the revocation list,
// "not_accepted" for one the venue's rules (--rules) refuse, "invalid" for
// any other failure.
func decide(r *verifier.Result, pol *policy.Policy, at time.Time) string {
	if r.Reason() == lists.ReasonRevoked {
		return venue.DecisionRevoked
	}
	if out, ok := rules.Refused(r); ok { // authentic, but the venue's rules refuse it
		return string(out.Decision)
	}
	if !r.Valid() {
		return venue.DecisionInvalid
	}
	return string(pol.Decide(r.DCC(), at).Decision)
}

// signedLists are the trust sources and revocations from signed lists.
type signedLists struct {
	stores      lists.Stores
	revocations *lists.Revocations
}

// loadSignedLists reads --trust-list, --revocations (checked against
// --root at the verification time) and --gateway.
func loadSignedLists(trustSrc, revSrc string, root *x509.Certificate, gatewayPath string, at time.Time) (signedLists, error) {
	var out signedLists
	hint := "fetch a current list from the issuer, and check that --root is its csca.pem / tải danh sách mới từ đơn vị cấp và kiểm tra --root là csca.pem của đơn vị đó"
	if trustSrc != "" || revSrc != "" {
		if trustSrc != "" {
			b, err := readSource("trust-list", trustSrc, limits.MaxTrustList)
			if err != nil {
				return out, err
			}
			l, err := lists.ParseTrustList(b, root, at)
			if err != nil {
				return out, withHint(fmt.Errorf("--trust-list: %w", err), hint)
			}
			out.stores = append(out.stores, l)
		}
		if revSrc != "" {
			b, err := readSource("revocations", revSrc, lists.MaxRevocationList)
			if err != nil {
				return out, err
			}
			if out.revocations, err = lists.ParseRevocations(b, root, at); err != nil {
				return out, withHint(fmt.Errorf("--revocations: %w", err), hint)
			}
		}
	}
	if gatewayPath != "" {
		b, err := readSource("gateway", gatewayPath, limits.MaxGatewayFile)
		if err != nil {
			return out, err
		}
		l, err := lists.ParseGateway(b)
		if err != nil {
			return out, withHint(fmt.Errorf("--gateway: %w", err), "the file must be a JSON array of {kid, country, certificateType, rawData}",
				"tệp phải là mảng JSON các phần tử {kid, country, certificateType, rawData}")
		}
		out.stores = append(out.stores, l)
	}
	return out, nil
}
