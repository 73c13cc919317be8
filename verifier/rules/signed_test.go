package rules_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/rules"
)

// vnRuleJSON returns the VN rules as raw JSON, as a publisher signs them.
func vnRuleJSON(t *testing.T) []json.RawMessage {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(vnRules, "VN", "*", "rule.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no VN rules: %v", err)
	}
	var out []json.RawMessage
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// newProductValueSet is the embedded vaccine value set with one product
// added, as a newer EU release would.
func newProductValueSet(t *testing.T, code string) json.RawMessage {
	t.Helper()
	b, err := schemas.FS.ReadFile("valuesets/vaccine-medicinal-product.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs map[string]any
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	vs["valueSetDate"] = "2027-01-01"
	vs["valueSetValues"].(map[string]any)[code] = map[string]any{"display": code, "lang": "en", "active": true,
		"version": "", "system": "https://ec.europa.eu/temp/vaccineproductname"}
	out, err := json.Marshal(vs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSignedRuleSet: a signed rule set opens against the pinned CSCA and
// carries its value sets to the venue; a tampered, expired, rolled-back,
// wrong-kind or wrong-root one is refused with its own reason.
func TestSignedRuleSet(t *testing.T) {
	pki := testkit.NewPKI(t)
	signer := pki.ListSigner(t)
	iat := testkit.Now.Add(-time.Hour)
	const product = "New-Vax-2027"
	data, err := signer.RuleSet(testkit.ListClaims(5, iat), vnRuleJSON(t), []json.RawMessage{newProductValueSet(t, product)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := rules.OpenSigned(data, pki.CSCA.Cert, testkit.Now, lists.Version{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Set.Rules) != 14 || got.Signed.Sequence != 5 || got.Version().Issuer != "VN" || got.ValueSets == nil ||
		!got.ValueSets.Has(schemas.SetVaccineProduct, product) || !got.ValueSets.Has(schemas.SetCountry, "VN") {
		t.Fatalf("opened %+v", got)
	}

	// The rules see the value sets the venue holds: with the signed ones a
	// certificate for the new product passes VR-VN-0002, with the embedded
	// ones it does not.
	d := &schemas.DCC{Ver: "1.3.0", Dob: "1990", V: []schemas.Vaccination{{TG: "840539006", VP: "1119349007", MP: product,
		MA: "ORG-100030215", DN: 3, SD: 3, DT: "2026-05-01", CO: "VN", IS: "MoH", CI: "URN:UVCI:01:VN:X"}}}
	for _, tc := range []struct {
		vs   *schemas.ValueSets
		pass bool
	}{{got.ValueSets, true}, {schemas.DefaultValueSets(), false}} {
		check, err := rules.NewCheck(got.Set, "VN", rules.WithValueSets(tc.vs))
		if err != nil {
			t.Fatal(err)
		}
		err = check.Check(&verifier.Certificate{DCC: d, Type: schemas.TypeVaccination, Issuer: "VN", CheckedAt: testkit.Now})
		if (err == nil) != tc.pass {
			t.Errorf("value sets with the product %v: %v", tc.pass, err)
		}
	}

	// a check made from it stops at the rule set's expiry
	check, err := rules.NewCheck(got.Set, "VN", rules.WithValueSets(got.ValueSets), rules.WithExpiry(got.Signed.ExpiresAt))
	if err != nil {
		t.Fatal(err)
	}
	var verr *verifier.Error
	cert := &verifier.Certificate{DCC: d, Type: schemas.TypeVaccination, Issuer: "VN", CheckedAt: got.Signed.ExpiresAt}
	if err := check.Check(cert); !errors.As(err, &verr) || verr.Reason != rules.ReasonRulesExpired {
		t.Errorf("at expiry: %v", err)
	}
	cert.CheckedAt = got.Signed.ExpiresAt.Add(-time.Second)
	if err := check.Check(cert); err != nil {
		t.Errorf("before expiry: %v", err)
	}

	reason := func(err error) lists.Reason {
		var le *lists.Error
		if errors.As(err, &le) {
			return le.Reason
		}
		return ""
	}
	// rollback: an older sequence after 5 is refused
	older, err := signer.RuleSet(testkit.ListClaims(4, iat), vnRuleJSON(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rules.OpenSigned(older, pki.CSCA.Cert, testkit.Now, got.Version()); reason(err) != lists.ReasonRollback {
		t.Errorf("rollback: %v", err)
	}
	// expired: past exp (48 h)
	if _, err := rules.OpenSigned(data, pki.CSCA.Cert, iat.Add(49*time.Hour), lists.Version{}); reason(err) != lists.ReasonExpired {
		t.Errorf("expired: %v", err)
	}
	// wrong root
	other := testkit.NewPKI(t)
	if _, err := rules.OpenSigned(data, other.CSCA.Cert, testkit.Now, lists.Version{}); reason(err) == "" {
		t.Errorf("wrong root: %v", err)
	}
	// a trust list is not a rule set
	tl, err := signer.TrustList(testkit.ListClaims(1, iat), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rules.OpenSigned(tl, pki.CSCA.Cert, testkit.Now, lists.Version{}); reason(err) != lists.ReasonWrongKind {
		t.Errorf("trust list as rule set: %v", err)
	}
	// tampered payload
	parts := strings.Split(string(data), ".")
	parts[1] = parts[1][:len(parts[1])-4] + "AAAA"
	if _, err := rules.OpenSigned([]byte(strings.Join(parts, ".")), pki.CSCA.Cert, testkit.Now, lists.Version{}); reason(err) == "" {
		t.Errorf("tampered: %v", err)
	}
	// a malformed rule inside a correctly signed set refuses the whole set
	bad, err := signer.RuleSet(testkit.ListClaims(6, iat), append(vnRuleJSON(t), json.RawMessage(`{"Identifier": "VR-VN-9999"}`)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rules.OpenSigned(bad, pki.CSCA.Cert, testkit.Now, lists.Version{}); !errors.Is(err, rules.ErrRule) {
		t.Errorf("malformed rule: %v", err)
	}
	empty, err := signer.RuleSet(testkit.ListClaims(7, iat), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rules.OpenSigned(empty, pki.CSCA.Cert, testkit.Now, lists.Version{}); !errors.Is(err, rules.ErrRule) {
		t.Errorf("no rules: %v", err)
	}
}
