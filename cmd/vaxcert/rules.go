package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/ruletest"
	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier/rules"
)

const rulesUsage = `Usage:
    vaxcert rules test DIR [--json]

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

Example:
    $ vaxcert rules test rules
    11 passed, 0 failed
    $ vaxcert rules test ../shared/testdata/rules --json
`

func runRules(e *env, args []string) error {
	if len(args) == 0 {
		return commandUsageError("rules", errors.New("missing subcommand (want: rules test)"))
	}
	switch args[0] {
	case "test":
		return rulesTest(e, args[1:])
	case "-h", "-help", "--help":
		return flag.ErrHelp
	}
	return commandUsageError("rules", fmt.Errorf("unknown subcommand %q (want: rules test)", args[0]))
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

// loadRulesCheck builds the verifier's rules check from --rules DIR|FILE,
// --country and --region.
func loadRulesCheck(arg, country, region string, vs *schemas.ValueSets) (*rules.Check, error) {
	if arg == "" || country == "" {
		return nil, commandUsageError("verify", errors.New("--rules and --country go together"))
	}
	set, err := loadRuleSet(arg)
	if err != nil {
		return nil, err
	}
	check, err := rules.NewCheck(set, country, rules.WithRegion(region), rules.WithValueSets(vs))
	if err != nil {
		return nil, withHint(err, "--country takes an upper-case ISO 3166-1 alpha-2 code, e.g. VN",
			"--country nhận mã quốc gia ISO 3166-1 alpha-2 viết hoa, ví dụ VN")
	}
	return check, nil
}

// loadRuleSet reads --rules: a folder of [<SET>/]<RuleId>/rule.json, or a
// file holding one rule or a JSON array of rules.
func loadRuleSet(arg string) (*rules.Set, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return nil, withHint(err, "--rules takes a folder of rules or a rule-set file",
			"--rules nhận một thư mục quy tắc hoặc một tệp bộ quy tắc")
	}
	var set *rules.Set
	if st.IsDir() {
		set, err = rules.LoadDir(os.DirFS(arg))
	} else {
		var data []byte
		data, err = rules.ReadFileLimited(os.DirFS(filepath.Dir(arg)), filepath.Base(arg), limits.MaxRuleSet)
		if err == nil {
			set, err = rules.ParseSet(data)
		}
	}
	if err != nil {
		return nil, withHint(err, `check the rules with "vaxcert rules test"`,
			`kiểm tra bộ quy tắc bằng "vaxcert rules test"`)
	}
	if len(set.Rules) == 0 {
		return nil, withHint(fmt.Errorf("no rules in %s", arg),
			"rules are read from [<SET>/]<RuleId>/rule.json", "quy tắc được đọc từ [<SET>/]<RuleId>/rule.json")
	}
	return set, nil
}
