package textcheck

import (
	"encoding/json"
	"testing"
)

func TestValid(t *testing.T) {
	tests := []struct {
		s                string
		valid, multiline bool
	}{
		{"", true, true},
		{"Nguyễn Văn Đức", true, true},
		{"URN:UVCI:01:VN:ABC#M", true, true},
		{"a\x00b", false, false},
		{"\x01", false, false},
		{"a\x1b[2J", false, false},
		{"a\x7f", false, false},
		{"a\u0085b", false, false}, // C1 NEL
		{"a\u009fb", false, false},
		{"a\xffb", false, false},         // invalid UTF-8
		{"a\xc2", false, false},          // truncated sequence
		{"line\nnext", false, true},      // line breaks only in free text
		{"a\tb\r\n", false, true},        //
		{"a\u00a0b", true, true},         // NBSP is not a control character
		{"a\u202eb", true, true},         // bidi override: Cf, not Cc
		{"\u2028", true, true},           // line separator: Zl
		{"ok\x00\n", false, false},       // NUL never
		{"\n\x0b", false, false},         // vertical tab is not a line break here
		{"đ\u0080", false, false},        // C1 after a multi-byte rune
		{"\U0001F600 emoji", true, true}, //
	}
	for _, tt := range tests {
		if got := Valid(tt.s); got != tt.valid {
			t.Errorf("Valid(%q) = %v, want %v", tt.s, got, tt.valid)
		}
		if got := ValidBytes([]byte(tt.s)); got != tt.valid {
			t.Errorf("ValidBytes(%q) = %v, want %v", tt.s, got, tt.valid)
		}
		if got := ValidMultiline(tt.s); got != tt.multiline {
			t.Errorf("ValidMultiline(%q) = %v, want %v", tt.s, got, tt.multiline)
		}
	}
}

func TestJSON(t *testing.T) {
	free := func(k string) bool { return k == "reason" }
	tests := []struct {
		body  string
		field string
		bad   bool
	}{
		{`{"person":{"family_name":"Nguyễn"}}`, "", false},
		{`{"person":{"family_name":"Ng\u0000"}}`, "person.family_name", true},
		{`{"person":{"id":"1","family_name":"x\u0001"}}`, "person.family_name", true},
		{`{"doses":[{"lot":"a"},{"lot":"b\u001b"}]}`, "doses[1].lot", true},
		{`{"doses":[{"lot":"a","n":[1,2,{"x":"y"}]},{"site":"S","lot":"\u007f"}]}`, "doses[1].lot", true},
		{`{"doses":[[],{"lot":"\u0085"}]}`, "doses[1].lot", true},
		{"{\"lot\":\"a\u0085\"}", "lot", true}, // raw C1 bytes
		{"{\"lot\":\"a\x7f\"}", "lot", true},   // raw DEL
		{`{"reason":"first line\nsecond"}`, "", false},
		{`{"reason":"nul\u0000"}`, "reason", true},
		{`{"other":"line\n"}`, "other", true},
		{`{"a":{"b\u0000":"x"}}`, "a", true},
		{`{"k\u0000":1}`, "", true},
		{`"top\u0000"`, "", true},
		{`["ok","\u0002"]`, "[1]", true},
		{`{"a":"\\u0000 is text"}`, "", false}, // an escaped backslash, not a NUL
		{`{"a":"x"} trailing`, "", false},
		{`{"a":"\u0000`, "", false}, // an unterminated string: the strict decoder refuses it
		{`{"a":"b\"`, "", false},    // syntax error, nothing read
		{`{"a":1,"b":true,"c":null,"d":"\t"}`, "d", true},
	}
	for _, tt := range tests {
		field, bad := JSON([]byte(tt.body), free)
		if field != tt.field || bad != tt.bad {
			t.Errorf("JSON(%s) = %q, %v; want %q, %v", tt.body, field, bad, tt.field, tt.bad)
		}
	}
}

// FuzzJSON checks JSON against decoding the document with encoding/json:
// when the decoded document has a bad string, JSON reports one. (JSON may
// also report a bad string that decoding drops: the earlier value of a
// duplicated key.)
func FuzzJSON(f *testing.F) {
	for _, s := range []string{
		`{"person":{"id":"001090012345","family_name":"Nguyễn","given_name":"Văn Đức","birth_date":"1990-04-12"},` +
			`"doses":[{"record_id":"HN-001-0001","site":"HN-001","product":"EU/1/20/1528","lot":"FF2588","dose_number":1}]}`,
		`{"doses":[{"lot":"\u0000"}]}`, `{"reason":"a\nb"}`, `["\u0085"]`, `{"a\u0001":1}`, `"\\u0000"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, bad := JSON(body, nil)
		var v any
		if json.Unmarshal(body, &v) != nil {
			return
		}
		if want := hasBad(v); want && !bad {
			t.Fatalf("JSON(%q) bad = %v, decoded document has a bad string: %v", body, bad, want)
		}
	})
}

func hasBad(v any) bool {
	switch v := v.(type) {
	case string:
		return !Valid(v)
	case []any:
		for _, e := range v {
			if hasBad(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if !Valid(k) || hasBad(e) {
				return true
			}
		}
	}
	return false
}
