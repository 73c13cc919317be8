package ruletest_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/internal/ruletest"
	"github.com/vaxcert/vaxcert/verifier/certlogic"
	"github.com/vaxcert/vaxcert/verifier/rules"
)

const rulesDir = "../../../shared/testdata/rules"

// TestSchemaCopy pins the one deviation of the embedded rule schema from the
// published one: the Identifier pattern, which rejects every real rule.
func TestSchemaCopy(t *testing.T) {
	published, err := os.ReadFile(filepath.Join(rulesDir, "validation-rule-schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	const oldPattern = `^(GR|VR|TR|RR|IR)-[A-Z]{2}-[1-9]\\d*$`
	const newPattern = `^(GR|VR|TR|RR|IR)-[A-Z]{2}-\\d{4}$`
	if got := strings.Replace(string(published), oldPattern, newPattern, 1); got != string(rules.Schema) {
		t.Error("the embedded schema differs from the published one in more than the Identifier pattern")
	}
}

// mutations of a valid rule, each applied to a decoded copy.
var mutations = map[string]func(m map[string]any){
	"none":                func(map[string]any) {},
	"no Identifier":       func(m map[string]any) { delete(m, "Identifier") },
	"bad Identifier":      func(m map[string]any) { m["Identifier"] = "XR-EU-0001" },
	"long Identifier":     func(m map[string]any) { m["Identifier"] = "VR-EU-00001" },
	"Identifier number":   func(m map[string]any) { m["Identifier"] = 5.0 },
	"bad Type":            func(m map[string]any) { m["Type"] = "Rejection" },
	"lower Country":       func(m map[string]any) { m["Country"] = "de" },
	"Version suffix ok":   func(m map[string]any) { m["Version"] = "1.2.3-beta" },
	"bad Version":         func(m map[string]any) { m["Version"] = "1.2" },
	"no SchemaVersion":    func(m map[string]any) { delete(m, "SchemaVersion") },
	"Engine number":       func(m map[string]any) { m["Engine"] = 1.0 },
	"bad EngineVersion":   func(m map[string]any) { m["EngineVersion"] = "v1" },
	"bad CertificateType": func(m map[string]any) { m["CertificateType"] = "vaccination" },
	"empty Description":   func(m map[string]any) { m["Description"] = []any{} },
	"no en Description": func(m map[string]any) {
		m["Description"] = []any{map[string]any{"lang": "de", "desc": "Eine ausreichend lange Beschreibung."}}
	},
	"short en desc": func(m map[string]any) { m["Description"] = []any{map[string]any{"lang": "en", "desc": "too short"}} },
	"bad lang": func(m map[string]any) {
		m["Description"] = []any{map[string]any{"lang": "EN", "desc": "A description long enough."}}
	},
	"desc not string":      func(m map[string]any) { m["Description"] = []any{map[string]any{"lang": "en", "desc": 5.0}} },
	"Description object":   func(m map[string]any) { m["Description"] = map[string]any{"lang": "en"} },
	"ValidFrom with ms":    func(m map[string]any) { m["ValidFrom"] = "2021-06-01T00:00:00.000Z" },
	"ValidTo offset":       func(m map[string]any) { m["ValidTo"] = "2030-06-01T00:00:00+02:00" },
	"ValidTo no zone":      func(m map[string]any) { m["ValidTo"] = "2030-06-01T00:00:00" },
	"AffectedFields num":   func(m map[string]any) { m["AffectedFields"] = []any{1.0} },
	"AffectedFields empty": func(m map[string]any) { m["AffectedFields"] = []any{} },
	"Logic empty":          func(m map[string]any) { m["Logic"] = map[string]any{} },
	"Logic array":          func(m map[string]any) { m["Logic"] = []any{true} },
	"extra member":         func(m map[string]any) { m["Comment"] = "allowed" },
	"Region":               func(m map[string]any) { m["Region"] = "BY" },
}

// TestTypedChecksAgreeWithJSONSchema: the library's typed envelope checks
// (rules.CheckSchema) and the JSON Schema validator reach the same verdict
// on every real rule and on each mutation of it.
func TestTypedChecksAgreeWithJSONSchema(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(rulesDir, "*", "*", "rule.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rules: %v", err)
	}
	invalid := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for name, mutate := range mutations {
			v, err := certlogic.FromJSON(raw)
			if err != nil {
				t.Fatal(err)
			}
			mutate(v.(map[string]any))
			text, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			jsErr := ruletest.ValidateSchema(text)
			typedErr := rules.CheckSchema(v)
			if (jsErr == nil) != (typedErr == nil) {
				t.Errorf("%s, %s: JSON Schema says %v, typed check says %v", file, name, jsErr, typedErr)
			}
			if typedErr != nil {
				invalid++
				if !errors.Is(typedErr, rules.ErrRule) {
					t.Errorf("%s, %s: %v does not match ErrRule", file, name, typedErr)
				}
			}
		}
	}
	if invalid == 0 {
		t.Error("no mutation was invalid")
	}
}
