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
		{"empty t[0].ma", func(m map[string]any) {
			delete(m, "v")
			m["t"] = []any{map[string]any{"tg": "x", "tt": "x", "sc": "x", "tr": "x", "co": "x", "is": "x", "ci": "x", "ma": ""}}
		}, "t[0].ma"},
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
