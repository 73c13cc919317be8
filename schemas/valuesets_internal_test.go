package schemas

import (
	"encoding/json"
	"io/fs"
	"path"
	"testing"
)

// TestEmbeddedValueSetsConsistent checks the embedded files against each
// other: every product has an Annex A entry that yields a prophylaxis code,
// and every Annex A manufacturer is a listed holder.
func TestEmbeddedValueSetsConsistent(t *testing.T) {
	vs := DefaultValueSets()
	for mp := range vs.sets[SetVaccineProduct].values {
		if _, ok := vs.VaccineProphylaxis(mp); !ok {
			t.Errorf("product %q has no prophylaxis code from Annex A", mp)
		}
	}
	// The manufacturers are not kept after parsing; read them from the file.
	data, err := FS.ReadFile(path.Join(ValueSetsDir, "vaccine-encoding-instructions.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Values map[string]annexFile `json:"valueSetValues"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	for name, e := range f.Values {
		if !vs.Has(SetVaccineMAH, e.Manufacturer) {
			t.Errorf("Annex A product %q: manufacturer %q is not in %s", name, e.Manufacturer, SetVaccineMAH)
		}
	}
}

// TestEmbeddedFilesAreJSON checks that every embedded file parses.
func TestEmbeddedFilesAreJSON(t *testing.T) {
	n := 0
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := FS.ReadFile(p)
		if err != nil {
			return err
		}
		if !json.Valid(data) {
			t.Errorf("%s is not valid JSON", p)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 12 {
		t.Errorf("embedded %d files, want 12 (the schemas 1.0, 1.2, 1.3 and 9 value sets)", n)
	}
}
