package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/vaxcert/vaxcert/schemas"
)

// writeProductsWithout writes a copy of the embedded product value set
// without one code, as a "newer release" folder.
func writeProductsWithout(t *testing.T, code string) string {
	t.Helper()
	b, err := schemas.FS.ReadFile(schemas.ValueSetsDir + "/vaccine-medicinal-product.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc["valueSetValues"].(map[string]any), code)
	out, _ := json.Marshal(doc)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vaccine-medicinal-product.json"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestValueSetsFlag(t *testing.T) {
	keys := initKeys(t)
	hc1 := issue(t, keys, exampleRecord)
	newer := writeProductsWithout(t, "EU/1/20/1528")

	code, stdout, _ := runCLI(t, "", "verify", "--trust-dir", keys, "--json", hc1)
	if code != exitOK {
		t.Fatalf("with the embedded value sets: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = runCLI(t, "", "verify", "--trust-dir", keys, "--value-sets", newer, "--json", hc1)
	var res struct {
		Valid  bool   `json:"valid"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || code != exitInvalid || res.Valid || res.Reason != "value_set" {
		t.Fatalf("with a release lacking the product: exit %d, %+v (%v)", code, res, err)
	}
	// The issuer refuses the product too, naming the field.
	code, _, stderr := runCLI(t, "", "issue", "--keys", keys, "--record", exampleRecord, "--value-sets", newer)
	if code != exitError || stderr == "" {
		t.Fatalf("issue with the newer release: exit %d", code)
	}
	// A folder that is not a value-set release is an input error.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "x.json"), []byte("{"), 0o644)
	if code, _, _ := runCLI(t, "", "verify", "--trust-dir", keys, "--value-sets", bad, hc1); code != exitError {
		t.Fatalf("malformed release: exit %d, want %d", code, exitError)
	}
}
