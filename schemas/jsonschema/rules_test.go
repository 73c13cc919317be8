package jsonschema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	sjs "github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/schemas/jsonschema"
)

// Fixed, schema-valid base documents (fictitious person).
const (
	vacDoc = `{"ver":"1.3.0","nam":{"fn":"Nguyễn","fnt":"NGUYEN","gn":"Văn An","gnt":"VAN<AN"},"dob":"1985-07-14",` +
		`"v":[{"tg":"840539006","vp":"1157024006","mp":"BBIBP-CorV","ma":"ORG-100020693","dn":2,"sd":2,"dt":"2021-09-15","co":"VN","is":"Ministry of Health of Viet Nam","ci":"URN:UVCI:01:VN:0001ABCD#Q"}]}`
	testDoc = `{"ver":"1.3.0","nam":{"fnt":"NGUYEN","gnt":"VAN<AN"},"dob":"1985",` +
		`"t":[{"tg":"840539006","tt":"LP217198-3","ma":"1232","sc":"2021-09-15T08:30:00+07:00","tr":"260415000","tc":"Bach Mai Hospital","co":"VN","is":"Ministry of Health of Viet Nam","ci":"URN:UVCI:01:VN:0002ABCD#R"}]}`
	recDoc = `{"ver":"1.3.0","nam":{"gnt":"AN"},"dob":"",` +
		`"r":[{"tg":"840539006","fr":"2021-08-01","co":"VN","is":"Ministry of Health of Viet Nam","df":"2021-08-12","du":"2022-01-28","ci":"URN:UVCI:01:VN:0003ABCD#S"}]}`
)

var seedDocs = []string{vacDoc, testDoc, recDoc}

func parse(t testing.TB, s string) map[string]any {
	t.Helper()
	doc, err := sjs.UnmarshalJSON(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return doc.(map[string]any)
}

func entry(doc map[string]any, group string) map[string]any {
	return doc[group].([]any)[0].(map[string]any)
}

// TestRules checks each schema rule on both validators: the oracle on the
// JSON document and the typed validator on its decoded value, which must
// report the same field and rule. Cases marked oracleOnly lose information
// when decoded (a missing member, a null, a wrong type); they check the
// oracle's report alone.
func TestRules(t *testing.T) {
	long := strings.Repeat("A", 81)
	tests := []struct {
		name       string
		base       string
		mutate     func(doc map[string]any)
		wantField  string
		wantRule   string // "" means valid
		oracleOnly bool
	}{
		{"vaccination", vacDoc, func(map[string]any) {}, "", "", false},
		{"test", testDoc, func(map[string]any) {}, "", "", false},
		{"recovery", recDoc, func(map[string]any) {}, "", "", false},
		{"unknown members", vacDoc, func(d map[string]any) { d["x"] = 1; entry(d, "v")["dr"] = "y" }, "", "", false},
		{"ver pattern", vacDoc, func(d map[string]any) { d["ver"] = "1.3" }, "ver", schemas.RulePattern, false},
		{"ver wildcard", vacDoc, func(d map[string]any) { d["ver"] = "1é3x0" }, "", "", false},
		{"nam anyOf", vacDoc, func(d map[string]any) { d["nam"] = map[string]any{"fn": "X"} }, "nam", schemas.RuleAnyOf, false},
		{"fnt pattern", vacDoc, func(d map[string]any) { d["nam"].(map[string]any)["fnt"] = "Nguyen" }, "nam.fnt", schemas.RulePattern, false},
		{"gn maxLength", vacDoc, func(d map[string]any) { d["nam"].(map[string]any)["gn"] = strings.Repeat("ă", 81) }, "nam.gn", schemas.RuleMaxLength, false},
		{"dob pattern", vacDoc, func(d map[string]any) { d["dob"] = "1885-01-01" }, "dob", schemas.RulePattern, false},
		{"oneOf none", vacDoc, func(d map[string]any) { delete(d, "v") }, "", schemas.RuleOneOf, false},
		{"oneOf two", vacDoc, func(d map[string]any) { d["r"] = parse(t, recDoc)["r"] }, "", schemas.RuleOneOf, false},
		{"maxItems", vacDoc, func(d map[string]any) { d["v"] = append(d["v"].([]any), entry(d, "v")) }, "v", schemas.RuleMaxItems, false},
		{"dn minimum", vacDoc, func(d map[string]any) { entry(d, "v")["dn"] = json.Number("0") }, "v[0].dn", schemas.RuleMinimum, false},
		{"dt format", vacDoc, func(d map[string]any) { entry(d, "v")["dt"] = "2021-02-29" }, "v[0].dt", schemas.RuleFormat, false},
		{"co pattern", vacDoc, func(d map[string]any) { entry(d, "v")["co"] = "vn" }, "v[0].co", schemas.RulePattern, false},
		{"co valueset", vacDoc, func(d map[string]any) { entry(d, "v")["co"] = "XY" }, "v[0].co", schemas.RuleValueSet, false},
		{"mp valueset", vacDoc, func(d map[string]any) { entry(d, "v")["mp"] = "Nanocovax" }, "v[0].mp", schemas.RuleValueSet, false},
		{"ma valueset", vacDoc, func(d map[string]any) { entry(d, "v")["ma"] = "ORG-99999999" }, "v[0].ma", schemas.RuleValueSet, false},
		{"ci maxLength", vacDoc, func(d map[string]any) { entry(d, "v")["ci"] = long }, "v[0].ci", schemas.RuleMaxLength, false},
		{"test ma valueset", testDoc, func(d map[string]any) { entry(d, "t")["ma"] = "9999" }, "t[0].ma", schemas.RuleValueSet, false},
		{"test sc format", testDoc, func(d map[string]any) { entry(d, "t")["sc"] = "2021-09-15 08:30:00" }, "t[0].sc", schemas.RuleFormat, false},
		{"test tr valueset", testDoc, func(d map[string]any) { entry(d, "t")["tr"] = "NEGATIVO" }, "t[0].tr", schemas.RuleValueSet, false},
		{"test tc optional", testDoc, func(d map[string]any) { delete(entry(d, "t"), "tc") }, "", "", false},
		{"recovery du format", recDoc, func(d map[string]any) { entry(d, "r")["du"] = "2022-01-28T00:00:00Z" }, "r[0].du", schemas.RuleFormat, false},
		{"recovery tg valueset", recDoc, func(d map[string]any) { entry(d, "r")["tg"] = "94558-4" }, "r[0].tg", schemas.RuleValueSet, false},

		{"missing ver", vacDoc, func(d map[string]any) { delete(d, "ver") }, "", schemas.RuleOneOf, true},
		{"missing is", vacDoc, func(d map[string]any) { delete(entry(d, "v"), "is") }, "v[0].is", schemas.RuleRequired, true},
		{"missing dob", recDoc, func(d map[string]any) { delete(d, "dob") }, "", schemas.RuleOneOf, true},
		{"empty fnt", vacDoc, func(d map[string]any) { d["nam"] = map[string]any{"fnt": ""} }, "", "", true},
		{"empty v", vacDoc, func(d map[string]any) { d["v"] = []any{} }, "v", schemas.RuleMinItems, true},
		{"null v", vacDoc, func(d map[string]any) { d["v"] = nil }, "v", schemas.RuleType, true},
		{"dn string", vacDoc, func(d map[string]any) { entry(d, "v")["dn"] = "1" }, "v[0].dn", schemas.RuleType, true},
		{"dn float", vacDoc, func(d map[string]any) { entry(d, "v")["dn"] = json.Number("1.5") }, "v[0].dn", schemas.RuleType, true},
		{"empty test ma", testDoc, func(d map[string]any) { entry(d, "t")["ma"] = "" }, "t[0].ma", schemas.RuleValueSet, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := parse(t, tc.base)
			tc.mutate(doc)
			check(t, "oracle", jsonschema.Validate(doc), tc.wantField, tc.wantRule)
			if tc.oracleOnly {
				return
			}
			data, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			d, err := decodeDCC(data)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !lossless(doc, d) {
				t.Fatal("case is not lossless; mark it oracleOnly")
			}
			check(t, "typed", d.Validate(nil), tc.wantField, tc.wantRule)
		})
	}
}

func check(t *testing.T, who string, err error, wantField, wantRule string) {
	t.Helper()
	if wantRule == "" {
		if err != nil {
			t.Errorf("%s: got %v, want valid", who, err)
		}
		return
	}
	var ve *schemas.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, schemas.ErrSchema) {
		t.Fatalf("%s: got %v, want a *schemas.ValidationError matching ErrSchema", who, err)
	}
	if ve.Field != wantField || ve.Rule != wantRule {
		t.Errorf("%s: got {Field: %q, Rule: %q}, want {%q, %q}", who, ve.Field, ve.Rule, wantField, wantRule)
	}
}

func TestValidateNotJSON(t *testing.T) {
	for _, doc := range []any{nil, 42, []byte("{}"), map[string]any{"ver": []byte("1.3.0")}} {
		var ve *schemas.ValidationError
		if err := jsonschema.Validate(doc); !errors.As(err, &ve) || ve.Rule != schemas.RuleType {
			t.Errorf("Validate(%T) = %v, want a type violation", doc, err)
		}
	}
}

func TestValidateWithValueSets(t *testing.T) {
	countries, err := schemas.ParseValueSet([]byte(`{"valueSetId":"country-2-codes","valueSetDate":"2024-01-01","valueSetValues":{"XY":{"display":"Test","lang":"en","active":true,"version":"","system":"urn:test"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	doc := parse(t, vacDoc)
	entry(doc, "v")["co"] = "XY"
	if err := jsonschema.ValidateWith(doc, schemas.DefaultValueSets().With(countries)); err != nil {
		t.Errorf("ValidateWith(custom) = %v, want nil", err)
	}
	if err := jsonschema.ValidateWith(doc, nil); err == nil {
		t.Error("ValidateWith(nil) = nil, want a value-set violation")
	}
}

func TestErrorHasNoPersonalData(t *testing.T) {
	doc := parse(t, vacDoc)
	doc["nam"].(map[string]any)["fnt"] = "NGUYEN van"
	doc["dob"] = "1985-07-14x"
	err := jsonschema.Validate(doc)
	if err == nil {
		t.Fatal("Validate() = nil, want an error")
	}
	for _, personal := range []string{"NGUYEN", "van", "1985"} {
		if strings.Contains(err.Error(), personal) {
			t.Errorf("error message carries payload data %q", personal)
		}
	}
}

func BenchmarkOracleValidate(b *testing.B) {
	doc, err := sjs.UnmarshalJSON(bytes.NewReader([]byte(vacDoc)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := jsonschema.Validate(doc); err != nil {
			b.Fatal(err)
		}
	}
}
