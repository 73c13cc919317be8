package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/issuer"
)

const (
	exampleRecord  = "../../examples/record.json"
	exampleBooster = "../../examples/record-booster.json"
)

// issue runs "issue" and returns the HC1 text.
func issue(t *testing.T, dir, record string, extra ...string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, "", append([]string{"issue", "--keys", dir, "--record", record}, extra...)...)
	if code != exitOK || stderr != "" {
		t.Fatalf("issue: exit status %d, stderr:\n%s", code, stderr)
	}
	hc1, ok := strings.CutSuffix(stdout, "\n")
	if !ok || !strings.HasPrefix(hc1, "HC1:") || strings.Contains(hc1, "\n") {
		t.Fatalf("issue: stdout is not one HC1 line: %q", stdout)
	}
	return hc1
}

func TestIssue(t *testing.T) {
	dir := initKeys(t)
	record, err := os.ReadFile(exampleRecord)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		record   string // file, or "-" for record on stdin
		extra    []string
		wantDose [2]int // dn, sd
		wantMP   string
		wantExp  string
	}{
		{"example record", exampleRecord, nil, [2]int{2, 2}, "EU/1/20/1528", "2027-06-01T12:00:00Z"},
		{"record on stdin", "-", nil, [2]int{2, 2}, "EU/1/20/1528", "2027-06-01T12:00:00Z"},
		{"booster, mixed products", exampleBooster, nil, [2]int{3, 3}, "EU/1/20/1528", "2027-06-01T12:00:00Z"},
		{"validity 30d", exampleRecord, []string{"--validity", "30d"}, [2]int{2, 2}, "EU/1/20/1528", "2026-07-01T12:00:00Z"},
		{"validity 36h", exampleRecord, []string{"--validity", "36h"}, [2]int{2, 2}, "EU/1/20/1528", "2026-06-03T00:00:00Z"},
		// The DSC is valid for 2 years from now: exp is capped there.
		{"validity beyond the DSC", exampleRecord, []string{"--validity", "1000d"}, [2]int{2, 2}, "EU/1/20/1528", "2028-05-31T12:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"issue", "--keys", dir, "--record", tc.record}, tc.extra...)
			code, stdout, stderr := runCLI(t, string(record), args...)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit status %d, stderr:\n%s", code, stderr)
			}
			res := verifyJSONOut(t, exitOK, stdout, "verify", "--trust-dir", dir, "--json")
			v := res.dcc(t).V[0]
			if [2]int{v.DN, v.SD} != tc.wantDose || v.MP != tc.wantMP || v.CO != "VN" {
				t.Errorf("v[0] = %d/%d %s %s, want %v %s VN", v.DN, v.SD, v.MP, v.CO, tc.wantDose, tc.wantMP)
			}
			if res.IssuedAt != "2026-06-01T12:00:00Z" || res.ExpiresAt != tc.wantExp {
				t.Errorf("issued_at %s, expires_at %s; want 2026-06-01T12:00:00Z, %s", res.IssuedAt, res.ExpiresAt, tc.wantExp)
			}
		})
	}
}

func TestIssuePNG(t *testing.T) {
	dir := initKeys(t)
	out := t.TempDir()
	pngPath := filepath.Join(out, "qr.png")
	hc1 := issue(t, dir, exampleRecord, "--png", pngPath)

	data, err := os.ReadFile(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != b.Dy() || b.Dx() < 200 {
		t.Errorf("QR image is %v, want a square of at least 200 px", b)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("output folder holds %d files, want only qr.png (no temporary files)", len(entries))
	}

	t.Run("zbarimg", func(t *testing.T) {
		zbar, err := exec.LookPath("zbarimg")
		if err != nil {
			t.Skip("zbarimg not installed (apt-get install zbar-tools); QR content not checked")
		}
		got, err := exec.Command(zbar, "--raw", "-q", pngPath).Output()
		if err != nil {
			t.Fatalf("zbarimg: %v", err)
		}
		if strings.TrimSuffix(string(got), "\n") != hc1 {
			t.Errorf("QR decodes to %q, want the HC1 text %q", got, hc1)
		}
	})
}

// person data of examples/record.json that must never reach stderr.
var personalData = []string{"001090012345", "Nguyễn", "Văn Đức", "NGUYEN", "1990-04-12", "FF2588"}

func TestIssueRefusedRecords(t *testing.T) {
	dir := initKeys(t)
	example, err := os.ReadFile(exampleRecord)
	if err != nil {
		t.Fatal(err)
	}
	// edit returns the example record with one change applied.
	edit := func(change func(r *issuer.Record)) string {
		var r issuer.Record
		if err := json.Unmarshal(example, &r); err != nil {
			t.Fatal(err)
		}
		change(&r)
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name   string
		record string
		field  string // the field the hint must name, or "" for a JSON error
	}{
		{"empty", "", ""},
		{"not JSON", "person: 001090012345", ""},
		{"syntax error inside a value", `{"person": {"id": 001090012345}}`, ""},
		{"unknown field", strings.Replace(string(example), `"lot"`, `"lot_no"`, 1), ""},
		{"wrong type", strings.Replace(string(example), `"dose_number": 1`, `"dose_number": "1"`, 1), ""},
		{"two JSON values", string(example) + string(example), ""},
		{"trailing garbage", string(example) + "x", ""},
		{"truncated", string(example[:len(example)/2]), ""},
		{"too large", string(example) + strings.Repeat(" ", limits.MaxRecordFile), ""},
		{"only drafts", edit(func(r *issuer.Record) {
			for i := range r.Doses {
				r.Doses[i].Status = issuer.StatusDraft
			}
		}), "doses"},
		{"birth date not a date", edit(func(r *issuer.Record) { r.Person.BirthDate = "1990-02-30" }), "person.birth_date"},
		{"product not in value set", edit(func(r *issuer.Record) { r.Doses[1].Product = "EU/1/99/9999" }), "doses[1].product"},
		{"missing id", edit(func(r *issuer.Record) { r.Person.ID = "" }), "person.id"},
		{"unknown status", edit(func(r *issuer.Record) { r.Doses[0].Status = "pending" }), "doses[0].status"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pngPath := filepath.Join(t.TempDir(), "qr.png")
			code, stdout, stderr := runCLI(t, tc.record, "issue", "--keys", dir, "--record", "-", "--png", pngPath)
			wantError(t, code, stdout, stderr, exitError)
			if tc.field != "" && !strings.Contains(stderr, "vaxcert: hint: fix "+tc.field+" ") {
				t.Errorf("hint does not name field %s:\n%s", tc.field, stderr)
			}
			for _, pd := range personalData {
				if strings.Contains(stderr, pd) {
					t.Errorf("stderr leaks personal data %q:\n%s", pd, stderr)
				}
			}
			if _, err := os.Stat(pngPath); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("PNG written for a refused record (stat: %v)", err)
			}
		})
	}
}

func TestIssueKeyErrors(t *testing.T) {
	t.Run("no key folder", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "", "issue", "--keys", filepath.Join(t.TempDir(), "none"), "--record", exampleRecord)
		wantError(t, code, stdout, stderr, exitError)
	})
	t.Run("group-readable key", func(t *testing.T) {
		dir := initKeys(t)
		if err := os.Chmod(filepath.Join(dir, "dsc.key"), 0o640); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI(t, "", "issue", "--keys", dir, "--record", exampleRecord)
		wantError(t, code, stdout, stderr, exitError)
	})
	t.Run("world-readable uvci.key", func(t *testing.T) {
		dir := initKeys(t)
		if err := os.Chmod(filepath.Join(dir, "uvci.key"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI(t, "", "issue", "--keys", dir, "--record", exampleRecord)
		wantError(t, code, stdout, stderr, exitError)
	})
	t.Run("missing record file", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "", "issue", "--keys", initKeys(t), "--record", filepath.Join(t.TempDir(), "none.json"))
		wantError(t, code, stdout, stderr, exitError)
	})
}

func TestDecodeRecord(t *testing.T) {
	example, err := os.ReadFile(exampleRecord)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := decodeRecord(example)
	if err != nil {
		t.Fatalf("example record: %v", err)
	}
	p := rec.Person
	if p.FamilyName != "Nguyễn" || p.GivenName != "Văn Đức" || p.BirthDate != "1990-04-12" || len(rec.Doses) != 3 {
		t.Errorf("example record decoded as %+v", rec)
	}
	if d := rec.Doses[2]; d.Status != issuer.StatusDraft || d.DoseNumber != 3 {
		t.Errorf("third dose = %+v, want the draft dose 3", d)
	}

	for _, in := range []string{
		"",
		"{",
		"[]",
		"null x",
		`{"person": {}, "doses": [], "extra": 1}`,
		`{"person": {"id": 1}}`,
		`{"doses": {}}`,
		`{} {}`,
		`{}]`,
	} {
		if _, err := decodeRecord([]byte(in)); !errors.Is(err, errRecordJSON) {
			t.Errorf("decodeRecord(%q) error = %v, want errRecordJSON", in, err)
		}
	}
}
