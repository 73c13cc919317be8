package schemas_test

import (
	"errors"
	"testing"

	"github.com/vaxcert/vaxcert/schemas"
)

func TestCheckMembers(t *testing.T) {
	vacc := func() map[string]any {
		return map[string]any{"ver": "1.3.0", "nam": map[string]any{"fnt": "NGUYEN"}, "dob": "",
			"v": []any{map[string]any{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
				"dn": 1, "sd": 1, "dt": "2021-09-01", "co": "VN", "is": "", "ci": "URN:UVCI:01:VN:X"}}}
	}
	for _, tc := range []struct {
		name  string
		edit  func(m map[string]any)
		field string
	}{
		{"complete, empty dob and is are present", func(map[string]any) {}, ""},
		{"no dob", func(m map[string]any) { delete(m, "dob") }, "dob"},
		{"no v[0].is", func(m map[string]any) { delete(m["v"].([]any)[0].(map[string]any), "is") }, "v[0].is"},
		{"empty t[0].ma is a value-set matter", func(m map[string]any) {
			delete(m, "v")
			m["t"] = []any{map[string]any{"tg": "x", "tt": "x", "sc": "x", "tr": "x", "co": "x", "is": "x", "ci": "x", "ma": ""}}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := vacc()
			tc.edit(m)
			err := schemas.CheckMembers(m)
			var ve *schemas.ValidationError
			if tc.field == "" {
				if err != nil {
					t.Fatalf("got %v", err)
				}
				return
			}
			if !errors.As(err, &ve) || ve.Field != tc.field || !errors.Is(err, schemas.ErrSchema) {
				t.Fatalf("got %v, want an error on %s", err, tc.field)
			}
		})
	}
}

func TestMayMissMembers(t *testing.T) {
	d := &schemas.DCC{Ver: "1.3.0", Dob: "1990", V: []schemas.Vaccination{{TG: "a", VP: "a", MP: "a", MA: "a", DT: "a", CO: "a", IS: "a", CI: "a"}}}
	if d.MayMissMembers() {
		t.Fatal("complete DCC flagged")
	}
	d.V[0].IS = ""
	if !d.MayMissMembers() {
		t.Fatal("empty is not flagged")
	}
}

func TestValidateValueSetsGeneric(t *testing.T) {
	test := func(ma any) map[string]any {
		return map[string]any{"ver": "1.3.0", "nam": map[string]any{"fnt": "X"}, "dob": "",
			"t": []any{map[any]any{"tg": "840539006", "tt": "LP6464-4", "sc": "2021-09-01T10:00:00Z", "tr": "260415000",
				"co": "VN", "is": "x", "ci": "x", "ma": ma}}}
	}
	var ve *schemas.ValidationError
	if err := schemas.ValidateValueSetsGeneric(test(""), nil); !errors.As(err, &ve) || ve.Field != "t[0].ma" || ve.Rule != schemas.RuleValueSet {
		t.Errorf("empty ma: %v", err)
	}
	if err := schemas.ValidateValueSetsGeneric(test("1232"), nil); err != nil {
		t.Errorf("listed ma: %v", err)
	}
	twoDoses := map[string]any{"v": []any{
		map[string]any{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215", "co": "VN"},
		map[string]any{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/99/0000", "ma": "ORG-100030215", "co": "VN"}}}
	if err := schemas.ValidateValueSetsGeneric(twoDoses, nil); !errors.As(err, &ve) || ve.Field != "v[1].mp" {
		t.Errorf("second entry: %v", err)
	}
}
