package rules_test

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier/certlogic"
	"github.com/vaxcert/vaxcert/verifier/rules"
)

func rule(id, typ, country, version, certType, from, to, logic string, extra ...string) string {
	m := map[string]any{
		"Identifier": id, "Type": typ, "Country": country, "Version": version, "SchemaVersion": "1.3.0",
		"Engine": "CERTLOGIC", "EngineVersion": "1.3.3", "CertificateType": certType,
		"Description": []any{map[string]any{"lang": "en", "desc": "A description of twenty characters or more."}},
		"ValidFrom":   from, "ValidTo": to, "AffectedFields": []any{"v.0"},
		"Logic": json.RawMessage(logic),
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

const (
	from = "2021-06-01T00:00:00Z"
	to   = "2030-06-01T00:00:00Z"
)

var at = time.Date(2022, 3, 1, 0, 0, 0, 0, time.UTC)

func TestSelect(t *testing.T) {
	set, err := rules.ParseSet([]byte("[" + strings.Join([]string{
		rule("VR-VN-0001", rules.Acceptance, "VN", "1.0.0", rules.TypeVaccination, from, to, `{"===": [1, 1]}`),
		rule("VR-VN-0001", rules.Acceptance, "VN", "1.10.0", rules.TypeVaccination, from, to, `{"===": [1, 1]}`),
		rule("VR-VN-0001", rules.Acceptance, "VN", "1.9.0", rules.TypeVaccination, from, to, `{"===": [1, 1]}`),
		rule("VR-VN-0001", rules.Acceptance, "VN", "2.0.0", rules.TypeVaccination, "2023-01-01T00:00:00Z", to, `{"===": [1, 1]}`), // not yet valid
		rule("GR-VN-0001", rules.Acceptance, "VN", "1.0.0", rules.TypeGeneral, from, to, `{"===": [1, 1]}`),
		rule("TR-VN-0001", rules.Acceptance, "VN", "1.0.0", rules.TypeTest, from, to, `{"===": [1, 1]}`),
		rule("VR-VN-0002", rules.Acceptance, "VN", "1.0.0", rules.TypeVaccination, from, "2022-02-28T23:59:59Z", `{"===": [1, 1]}`), // expired
		rule("VR-VN-0003", rules.Acceptance, "VN", "1.0.0", rules.TypeVaccination, from, to, `{"===": [1, 1]}`, "Region", "HN"),
		rule("VR-VN-0004", rules.Acceptance, "VN", "1.0.0", rules.TypeVaccination, from, to, `{"===": [1, 1]}`, "Region", "SG"),
		rule("VR-DE-0001", rules.Acceptance, "DE", "1.0.0", rules.TypeVaccination, from, to, `{"===": [1, 1]}`),
		rule("IR-DE-0001", rules.Invalidation, "DE", "1.0.0", rules.TypeVaccination, from, to, `{"===": [1, 1]}`),
		rule("IR-VN-0001", rules.Invalidation, "VN", "1.0.0", rules.TypeGeneral, from, to, `{"===": [1, 1]}`),
	}, ",") + "]"))
	if err != nil {
		t.Fatal(err)
	}
	sel := set.Select(rules.Selection{Country: "VN", IssuerCountry: "DE", Region: "HN", CertType: rules.TypeVaccination, At: at})
	var got []string
	for _, r := range sel {
		got = append(got, r.Identifier+"@"+r.Version)
	}
	want := []string{"GR-VN-0001@1.0.0", "IR-DE-0001@1.0.0", "VR-VN-0001@1.10.0", "VR-VN-0003@1.0.0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("selected %v, want %v", got, want)
	}
	// at ValidTo exactly, a rule still applies; a second later it does not
	sel = set.Select(rules.Selection{Country: "VN", CertType: rules.TypeVaccination, At: time.Date(2022, 2, 28, 23, 59, 59, 0, time.UTC)})
	if !hasRule(sel, "VR-VN-0002") {
		t.Error("rule not selected at its ValidTo")
	}
	if len(set.Select(rules.Selection{Country: "FR", CertType: rules.TypeVaccination, At: at})) != 0 {
		t.Error("rules selected for a country without rules")
	}
}

func hasRule(sel rules.Selected, id string) bool {
	for _, r := range sel {
		if r.Identifier == id {
			return true
		}
	}
	return false
}

func TestEvaluate(t *testing.T) {
	set, err := rules.ParseSet([]byte("[" + strings.Join([]string{
		rule("VR-VN-0001", rules.Acceptance, "VN", "1.0.0", rules.TypeVaccination, from, to, `{">=": [{"var": "payload.v.0.dn"}, 2]}`),
		rule("VR-VN-0002", rules.Acceptance, "VN", "1.0.0", rules.TypeVaccination, from, to, `{"<": [{"var": "payload.v.0.dt"}, 2]}`),
		rule("VR-VN-0003", rules.Acceptance, "VN", "1.0.0", rules.TypeVaccination, from, to, `{"plusTime": [{"var": "external.validationClock"}, 0, "day"]}`),
		rule("VR-VN-0004", rules.Acceptance, "VN", "1.0.0", rules.TypeVaccination, from, to, `{"in": [{"var": "payload.v.0.mp"}, {"var": "external.valueSets.vaccines-covid-19-names"}]}`),
	}, ",") + "]"))
	if err != nil {
		t.Fatal(err)
	}
	sel := set.Select(rules.Selection{Country: "VN", CertType: rules.TypeVaccination, At: at})
	payload := map[string]any{"v": []any{map[string]any{"dn": 1.0, "dt": "2021-09-05", "mp": "EU/1/20/1528"}}}
	data := rules.Data(payload, rules.External{
		ValueSets: rules.ValueSetsData(schemas.DefaultValueSets()), ValidationClock: at, CountryCode: "VN",
	})
	rep := sel.Evaluate(data)
	want := map[string]rules.Outcome{"VR-VN-0001": rules.Fail, "VR-VN-0002": rules.Open, "VR-VN-0003": rules.Open, "VR-VN-0004": rules.Pass}
	for _, r := range rep.Results {
		if r.Outcome != want[r.Rule.Identifier] {
			t.Errorf("%s: %s, want %s (err %v)", r.Rule.Identifier, r.Outcome, want[r.Rule.Identifier], r.Err)
		}
	}
	if rep.Passed() || len(rep.Failed()) != 3 {
		t.Errorf("Passed %v, failed %d", rep.Passed(), len(rep.Failed()))
	}
	if (&rules.Report{}).Passed() {
		t.Error("an empty report passed")
	}
	if !errors.Is(rep.Results[1].Err, certlogic.ErrEval) {
		t.Errorf("open rule error %v", rep.Results[1].Err)
	}
}

func TestParseErrors(t *testing.T) {
	good := rule("VR-VN-0001", rules.Acceptance, "VN", "1.0.0", rules.TypeVaccination, from, to, `{"===": [1, 1]}`)
	for name, text := range map[string]string{
		"not JSON":         `{`,
		"not an object":    `[1]`,
		"bad logic":        rule("VR-VN-0001", rules.Acceptance, "VN", "1.0.0", rules.TypeVaccination, from, to, `{"all": [1]}`),
		"other engine":     strings.Replace(good, `"CERTLOGIC"`, `"JSONLOGIC"`, 1),
		"ValidTo first":    rule("VR-VN-0001", rules.Acceptance, "VN", "1.0.0", rules.TypeVaccination, to, from, `{"===": [1, 1]}`),
		"impossible date":  rule("VR-VN-0001", rules.Acceptance, "VN", "1.0.0", rules.TypeVaccination, "2021-02-30T00:00:00Z", to, `{"===": [1, 1]}`),
		"one bad in a set": "[" + good + `, {"Identifier": "x"}]`,
		"trailing":         good + "x",
		"missing Logic":    strings.Replace(good, `"Logic"`, `"Logik"`, 1),
	} {
		if _, err := rules.ParseSet([]byte(text)); !errors.Is(err, rules.ErrRule) {
			t.Errorf("%s: %v, want ErrRule", name, err)
		}
	}
	_, err := rules.Parse([]byte(rule("VR-VN-0001", rules.Acceptance, "VN", "1.0.0", rules.TypeVaccination, from, to, `{"if": [1]}`)))
	var re *rules.RuleError
	if !errors.As(err, &re) || re.Field != "Logic" || re.Identifier != "VR-VN-0001" || !errors.Is(err, certlogic.ErrInvalid) {
		t.Errorf("bad logic: %v", err)
	}
	if _, err := rules.Parse(make([]byte, 70<<10)); !errors.Is(err, rules.ErrRule) {
		t.Errorf("oversized rule: %v", err)
	}
}

func TestLoadDir(t *testing.T) {
	set, err := rules.LoadDir(os.DirFS("../../../shared/testdata/rules"))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Rules) != 55 {
		t.Fatalf("%d rules, want 55", len(set.Rules))
	}
	r := set.Select(rules.Selection{Country: "DE", CertType: rules.TypeTest, At: time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)})
	if len(r) == 0 || r[0].Describe("en") == "" || r[0].Describe("xx") != "" {
		t.Errorf("DE test rules: %d", len(r))
	}
}

// TestPayloadFromDCC: the direct builder gives the same JSON value as the
// DCC's own JSON encoding.
func TestPayloadFromDCC(t *testing.T) {
	for _, d := range []*schemas.DCC{
		{Ver: "1.3.0", Nam: schemas.Name{FN: "Nguyễn", FNT: "NGUYEN", GNT: "VAN<DUC"}, Dob: "1990-04-12",
			V: []schemas.Vaccination{{TG: "840539006", VP: "1119349007", MP: "EU/1/20/1528", MA: "ORG-100030215", DN: 2, SD: 2, DT: "2021-09-05", CO: "VN", IS: "MoH", CI: "URN:UVCI:01:VN:X"}}},
		{Ver: "1.3.0", Dob: "1990", T: []schemas.Test{{TG: "840539006", TT: "LP217198-3", MA: "1232", SC: "2022-03-01T08:00:00Z", TR: "260415000", CO: "VN", IS: "MoH", CI: "X"}}},
		{Ver: "1.3.0", Dob: "1990-04", R: []schemas.Recovery{{TG: "840539006", FR: "2022-01-01", CO: "VN", IS: "MoH", DF: "2022-01-12", DU: "2022-06-30", CI: "X"}}},
	} {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		want, err := certlogic.FromJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		pj, err := json.Marshal(rules.PayloadFromDCC(d))
		if err != nil {
			t.Fatal(err)
		}
		got, err := certlogic.FromJSON(pj)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("PayloadFromDCC = %v\nJSON round trip = %v", got, want)
		}
	}
}

func TestValueSetsData(t *testing.T) {
	m := rules.ValueSetsData(schemas.DefaultValueSets())
	names, ok := m[schemas.SetVaccineProduct].([]any)
	if !ok || len(names) < 30 {
		t.Fatalf("vaccine names: %v", m[schemas.SetVaccineProduct])
	}
	found := false
	for _, n := range names {
		found = found || n == "Inactivated-SARS-CoV-2-Vero-Cell" // retired codes included
	}
	if !found {
		t.Error("retired product code missing")
	}
	if _, ok := m[schemas.SetVaccineEncoding]; ok {
		t.Error("Annex A listed as a value set")
	}
}
