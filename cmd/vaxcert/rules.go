package main

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/ruletest"
	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/keys/keyfile"
	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/rules"
)

const rulesUsage = `Usage:
    vaxcert rules test DIR [--json]
    vaxcert rules sign --keys D --rules DIR [--value-sets DIR] [--sequence N] [--validity 48h] --out FILE

Test business rules the way a rule author does: every
DIR/<SET>/<RuleId>/rule.json is validated (the gateway's rule schema, then
CertLogic), then evaluated on each of its tests/*.json
({"name", "payload", "external", "expected"}); a test passes when the
result's CertLogic truthiness equals expected's. One line per failing test,
then "N passed, M failed". Exit status 0 only when every test passes, 1 when
one fails, 2 on a usage or input error.

Flags:
    --json    print {"rules": n, "tests": n, "passed": n,
              "failed": [{"rule", "test", "expected", "got", "error"}]}

"rules sign" publishes a rule set for venues: every [<SET>/]<RuleId>/rule.json
of --rules (validated first) and the value-set files (*.json) of
--value-sets, signed with the key folder's list-signing key (lists.pem,
created from the CSCA key when absent, as for the trust list). Venues check
it with "vaxcert verify --rules FILE --root csca.pem": signature, chain to the
CSCA, expiry, and no rollback to a lower --sequence.

Flags of rules sign:
    --keys D          the key folder of "vaxcert keys init"
    --rules DIR       the rules
    --value-sets DIR  value-set files the rules are to see (optional)
    --sequence N      the rule set's sequence (default: the current Unix time)
    --validity DUR    how long venues accept it (default 48h)
    --out FILE        where to write the signed rule set

Example:
    $ vaxcert rules test rules
    11 passed, 0 failed
    $ vaxcert rules test ../shared/testdata/rules --json
    $ vaxcert rules sign --keys keys --rules rules --out rules.jws
`

func runRules(e *env, args []string) error {
	if len(args) == 0 {
		return commandUsageError("rules", errors.New("missing subcommand (want: rules test or rules sign)"))
	}
	switch args[0] {
	case "test":
		return rulesTest(e, args[1:])
	case "sign":
		return rulesSign(e, args[1:])
	case "-h", "-help", "--help":
		return flag.ErrHelp
	}
	return commandUsageError("rules", fmt.Errorf("unknown subcommand %q (want: rules test or rules sign)", args[0]))
}

// errRulesFailed: at least one rule test failed (exit status 1, no hint).
var errRulesFailed = &cliError{err: errors.New("some rule tests failed"), code: exitInvalid}

func rulesTest(e *env, args []string) error {
	flags := newFlagSet("rules")
	asJSON := flags.Bool("json", false, "")
	pos, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return commandUsageError("rules", errors.New("rules test takes exactly one DIR"))
	}
	dir := pos[0]
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return withHint(fmt.Errorf("%s is not a folder", dir),
			"give the folder that holds <SET>/<RuleId>/rule.json",
			"chỉ định thư mục chứa <SET>/<RuleId>/rule.json")
	}
	rep, err := ruletest.Run(os.DirFS(dir))
	if errors.Is(err, ruletest.ErrNoRules) {
		return withHint(fmt.Errorf("no rules in %s", dir),
			"rules are read from DIR/<SET>/<RuleId>/rule.json, tests from DIR/<SET>/<RuleId>/tests/*.json",
			"quy tắc được đọc từ DIR/<SET>/<RuleId>/rule.json, bài kiểm tra từ DIR/<SET>/<RuleId>/tests/*.json")
	}
	if err != nil {
		return withHint(err, "check that the folder is readable", "kiểm tra quyền đọc thư mục")
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		for _, f := range rep.Failed {
			switch {
			case f.Error != "":
				fmt.Fprintf(e.stdout, "FAIL %s %s: %s\n", f.Rule, f.Test, f.Error)
			default:
				fmt.Fprintf(e.stdout, "FAIL %s %s: expected %s, got %v\n", f.Rule, f.Test, jsonText(f.Expected), f.Got)
			}
		}
		fmt.Fprintf(e.stdout, "%d passed, %d failed\n", rep.Passed, len(rep.Failed))
	}
	if len(rep.Failed) > 0 {
		return errRulesFailed
	}
	return nil
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func rulesSign(e *env, args []string) error {
	flags := newFlagSet("rules")
	keyDir := flags.String("keys", "", "")
	ruleDir := flags.String("rules", "", "")
	vsDir := flags.String("value-sets", "", "")
	seq := flags.Uint64("sequence", 0, "")
	validity := durationFlag{d: trustpub.DefaultValidity}
	flags.Var(&validity, "validity", "")
	out := flags.String("out", "", "")
	pos, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *keyDir == "" || *ruleDir == "" || *out == "" {
		return commandUsageError("rules", errors.New("rules sign needs --keys, --rules and --out, and no arguments"))
	}
	ruleJSON, err := readRuleFiles(*ruleDir)
	if err != nil {
		return err
	}
	var vsJSON []json.RawMessage
	if *vsDir != "" {
		if vsJSON, err = readValueSetFiles(*vsDir); err != nil {
			return err
		}
	}
	pub, err := trustpub.New(trustpub.Config{KeyDir: *keyDir, Validity: validity.d, Clock: now})
	if err != nil {
		return withHint(err, "--keys takes the folder of \"vaxcert keys init\" (csca.pem, and csca.key to create lists.pem)",
			"--keys nhận thư mục tạo bởi \"vaxcert keys init\"")
	}
	if *seq == 0 {
		*seq = uint64(now().Unix())
	}
	signed, err := pub.RuleSet(*seq, ruleJSON, vsJSON)
	if err != nil {
		return withHint(err)
	}
	if err := writeFileAtomic(*out, signed, 0o644); err != nil {
		return withHint(err)
	}
	fmt.Fprintf(e.stdout, "signed %d rules, %d value sets, sequence %d: wrote %s\n", len(ruleJSON), len(vsJSON), *seq, *out)
	return nil
}

// readRuleFiles reads and validates every [<SET>/]<RuleId>/rule.json of
// dir, returning the files as they are.
func readRuleFiles(dir string) ([]json.RawMessage, error) {
	fsys := os.DirFS(dir)
	var names []string
	for _, pattern := range []string{"*/rule.json", "*/*/rule.json"} {
		m, err := fs.Glob(fsys, pattern)
		if err != nil {
			return nil, withHint(err)
		}
		names = append(names, m...)
	}
	if len(names) == 0 {
		return nil, withHint(fmt.Errorf("no rules in %s", dir), "rules are read from [<SET>/]<RuleId>/rule.json",
			"quy tắc được đọc từ [<SET>/]<RuleId>/rule.json")
	}
	slices.Sort(names)
	out := make([]json.RawMessage, 0, len(names))
	for _, name := range names {
		data, err := rules.ReadFileLimited(fsys, name, limits.MaxRuleFile)
		if err == nil {
			err = ruletest.ValidateSchema(data)
		}
		if err == nil {
			_, err = rules.Parse(data)
		}
		if err != nil {
			return nil, withHint(fmt.Errorf("%s: %w", name, err), `check the rules with "vaxcert rules test"`,
				`kiểm tra bộ quy tắc bằng "vaxcert rules test"`)
		}
		out = append(out, data)
	}
	return out, nil
}

// readValueSetFiles reads and validates the *.json value-set files of dir.
func readValueSetFiles(dir string) ([]json.RawMessage, error) {
	fsys := os.DirFS(dir)
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, withHint(err)
	}
	if len(names) == 0 {
		return nil, withHint(fmt.Errorf("no value sets (*.json) in %s", dir))
	}
	slices.Sort(names)
	var out []json.RawMessage
	for _, name := range names {
		data, err := rules.ReadFileLimited(fsys, name, limits.MaxValueSet)
		if err == nil {
			_, err = schemas.ParseValueSet(data)
		}
		if err != nil {
			return nil, withHint(fmt.Errorf("%s: %w", name, err), "value sets have the JSON shape of ehn-dcc-development/eu-dcc-valuesets",
				"value set phải có dạng JSON của eu-dcc-valuesets")
		}
		out = append(out, data)
	}
	return out, nil
}

// rulesOptions are verify's --rules, --country, --region and --root.
type rulesOptions struct {
	arg, country, region string
	root                 *x509.Certificate // nil without --root
	at                   time.Time
}

// loadRulesCheck builds the verifier's rules check. A signed rule set
// (from "vaxcert rules sign") is checked against --root at the
// verification time; its value sets, when it carries any, are returned to
// replace vs. The CLI keeps no state between runs, so it cannot refuse a
// rollback; a venue service remembers rules.SignedSet.Version.
func loadRulesCheck(o rulesOptions, vs *schemas.ValueSets) (*rules.Check, *schemas.ValueSets, error) {
	if o.arg == "" || o.country == "" {
		return nil, nil, commandUsageError("verify", errors.New("--rules and --country go together"))
	}
	set, signedVS, expires, err := loadRuleSet(o)
	if err != nil {
		return nil, nil, err
	}
	if signedVS != nil {
		vs = signedVS
	}
	check, err := rules.NewCheck(set, o.country, rules.WithRegion(o.region), rules.WithValueSets(vs), rules.WithExpiry(expires))
	if err != nil {
		return nil, nil, withHint(err, "--country takes an upper-case ISO 3166-1 alpha-2 code, e.g. VN",
			"--country nhận mã quốc gia ISO 3166-1 alpha-2 viết hoa, ví dụ VN")
	}
	return check, signedVS, nil
}

// isJWS reports whether data looks like a signed document (a JWS in
// compact form: base64url of `{"`); rules.OpenSigned then decides.
func isJWS(data []byte) bool { return bytes.HasPrefix(bytes.TrimSpace(data), []byte("eyJ")) }

// loadRuleSet reads --rules: a folder of [<SET>/]<RuleId>/rule.json, a
// file holding one rule or a JSON array of rules, or a signed rule set
// (then with its value sets, if any, and its expiry).
func loadRuleSet(o rulesOptions) (set *rules.Set, vs *schemas.ValueSets, expires time.Time, err error) {
	st, err := os.Stat(o.arg)
	if err != nil {
		return nil, nil, time.Time{}, withHint(err, "--rules takes a folder of rules, a rule-set file or a signed rule set",
			"--rules nhận một thư mục quy tắc, một tệp bộ quy tắc hoặc một bộ quy tắc đã ký")
	}
	if st.IsDir() {
		set, err = rules.LoadDir(os.DirFS(o.arg))
	} else {
		var data []byte
		data, err = rules.ReadFileLimited(os.DirFS(filepath.Dir(o.arg)), filepath.Base(o.arg), limits.MaxRuleSet)
		switch {
		case err != nil:
		case isJWS(data):
			if o.root == nil {
				return nil, nil, time.Time{}, withHint(errors.New("--rules is a signed rule set and --root is missing"),
					"pass --root csca.pem, the CSCA certificate of the rule set's publisher",
					"thêm --root csca.pem, chứng chỉ CSCA của đơn vị phát hành bộ quy tắc")
			}
			var signed *rules.SignedSet
			if signed, err = rules.OpenSigned(data, o.root, o.at, lists.Version{}); err == nil {
				set, vs, expires = signed.Set, signed.ValueSets, signed.Signed.ExpiresAt
			}
		default:
			set, err = rules.ParseSet(data)
		}
	}
	if err != nil {
		return nil, nil, time.Time{}, withHint(err, `check the rules with "vaxcert rules test"; a signed rule set must chain to --root and be unexpired`,
			`kiểm tra bộ quy tắc bằng "vaxcert rules test"; bộ quy tắc đã ký phải thuộc --root và còn hạn`)
	}
	if len(set.Rules) == 0 {
		return nil, nil, time.Time{}, withHint(fmt.Errorf("no rules in %s", o.arg),
			"rules are read from [<SET>/]<RuleId>/rule.json", "quy tắc được đọc từ [<SET>/]<RuleId>/rule.json")
	}
	return set, vs, expires, nil
}

// loadRoot reads --root, the pinned CSCA certificate.
func loadRoot(path string) (*x509.Certificate, error) {
	certs, err := keyfile.ReadCertFile(path)
	if err == nil && (len(certs) != 1 || !certs[0].IsCA) {
		err = errors.New("not one CA certificate")
	}
	if err != nil {
		return nil, withHint(fmt.Errorf("--root: %w", err), "--root takes the CSCA certificate (csca.pem of \"vaxcert keys init\")",
			"--root nhận chứng chỉ CSCA (csca.pem)")
	}
	return certs[0], nil
}
