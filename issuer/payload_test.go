package issuer

import (
	"encoding/json"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/vaxcert/vaxcert/schemas"
)

var testValueSets = schemas.DefaultValueSets()

func testOptions() PayloadOptions {
	return PayloadOptions{
		Country:    "VN",
		Issuer:     "Ministry of Health of Viet Nam",
		UVCISecret: []byte("vaxcert test uvci secret 32bytes"),
		ValueSets:  testValueSets,
		IssuedAt:   uvciTime,
	}
}

// testRecord is a person with two finalised Comirnaty doses and a draft.
func testRecord() Record {
	return Record{
		Person: Person{ID: "079090001234", FamilyName: "Nguyễn", GivenName: "Văn Đức", BirthDate: "1990-04-12"},
		Doses: []Dose{
			{RecordID: "r-1", Site: "HN-001", Product: "EU/1/20/1528", Manufacturer: "ORG-100030215", Lot: "FF0680",
				DoseNumber: 1, SeriesDoses: 2, Date: "2021-07-01", Country: "VN", Status: StatusFinalised},
			{RecordID: "r-2", Site: "HN-001", Product: "EU/1/20/1528", Manufacturer: "ORG-100030215", Lot: "FF2593",
				DoseNumber: 2, SeriesDoses: 2, Date: "2021-08-01", Country: "VN", Status: StatusFinalised},
			{RecordID: "r-3", Site: "HN-002", Product: "EU/1/20/1507", Manufacturer: "ORG-100031184",
				DoseNumber: 3, SeriesDoses: 2, Date: "2022-01-05", Country: "VN", Status: StatusDraft},
		},
	}
}

// testUVCI is the UVCI of testRecord's finalised doses under testOptions
// (issued at uvciTime, second "0Z5OGF"), cross-checked with an independent
// Python HMAC-SHA-256 + base 36 + Luhn mod 38 computation over the same
// dose key. It is pinned: a change to the derivation or to the canonical
// dose key would change every UVCI issued from then on.
const testUVCI = "URN:UVCI:01:VN:0Z5OGFIJBJXI5H55#S"

func TestBuildPayload(t *testing.T) {
	got, err := BuildPayload(testRecord(), testOptions())
	if err != nil {
		t.Fatalf("BuildPayload: %v", err)
	}
	want := &schemas.DCC{
		Ver: "1.3.0",
		Nam: schemas.Name{FN: "Nguyễn", FNT: "NGUYEN", GN: "Văn Đức", GNT: "VAN<DUC"},
		Dob: "1990-04-12",
		V: []schemas.Vaccination{{
			TG: "840539006", VP: "1119349007", MP: "EU/1/20/1528", MA: "ORG-100030215",
			DN: 2, SD: 2, DT: "2021-08-01", CO: "VN", IS: "Ministry of Health of Viet Nam", CI: testUVCI,
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("BuildPayload =\n%+v\nwant\n%+v", got, want)
	}
	if ci := got.V[0].CI; !uvciFormat.MatchString(ci) || !ValidUVCIChecksum(ci) {
		t.Errorf("ci %q: bad format or checksum", ci)
	}
	if got.Type() != schemas.TypeVaccination {
		t.Errorf("Type() = %q, want vaccination", got.Type())
	}
}

func TestBuildPayloadCases(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*Record)
		check  func(*testing.T, *schemas.DCC)
		sameCI bool // the UVCI stays testUVCI
	}{
		{
			name:   "vietnamese people",
			edit:   func(r *Record) { r.Person.FamilyName, r.Person.GivenName = "Trần", "Thị Hồng Nhung" },
			check:  wantNames("Trần", "TRAN", "Thị Hồng Nhung", "THI<HONG<NHUNG"),
			sameCI: true,
		},
		{
			name: "names trimmed and NFC",
			edit: func(r *Record) {
				r.Person.FamilyName, r.Person.GivenName = "  Phạm ", norm.NFD.String("Quỳnh Anh\t")
			},
			check:  wantNames("Phạm", "PHAM", "Quỳnh Anh", "QUYNH<ANH"),
			sameCI: true,
		},
		{
			name:   "family name only",
			edit:   func(r *Record) { r.Person.FamilyName, r.Person.GivenName = "Lê Hoàng Việt", "" },
			check:  wantNames("Lê Hoàng Việt", "LE<HOANG<VIET", "", ""),
			sameCI: true,
		},
		{
			name:   "given name only",
			edit:   func(r *Record) { r.Person.FamilyName, r.Person.GivenName = "", "Anh" },
			check:  wantNames("", "", "Anh", "ANH"),
			sameCI: true,
		},
		{
			name:   "80-character name",
			edit:   func(r *Record) { r.Person.FamilyName = strings.Repeat("Đ", 80) },
			check:  wantNames(strings.Repeat("Đ", 80), strings.Repeat("D", 80), "Văn Đức", "VAN<DUC"),
			sameCI: true,
		},
		{
			name:   "partial birth dates",
			edit:   func(r *Record) { r.Person.BirthDate = "1990-04" },
			check:  func(t *testing.T, d *schemas.DCC) { wantEqual(t, "dob", d.Dob, "1990-04") },
			sameCI: true,
		},
		{
			name:   "birth year only",
			edit:   func(r *Record) { r.Person.BirthDate = "1990" },
			check:  func(t *testing.T, d *schemas.DCC) { wantEqual(t, "dob", d.Dob, "1990") },
			sameCI: true,
		},
		{
			name:   "leap day",
			edit:   func(r *Record) { r.Person.BirthDate = "2000-02-29" },
			check:  func(t *testing.T, d *schemas.DCC) { wantEqual(t, "dob", d.Dob, "2000-02-29") },
			sameCI: true,
		},
		{
			name: "booster dn greater than sd",
			edit: func(r *Record) { r.Doses[2].Status = StatusFinalised },
			check: func(t *testing.T, d *schemas.DCC) {
				v := d.V[0]
				wantEqual(t, "dn/sd/dt/mp/ma/vp", []any{v.DN, v.SD, v.DT, v.MP, v.MA, v.VP},
					[]any{3, 2, "2022-01-05", "EU/1/20/1507", "ORG-100031184", "1119349007"})
			},
		},
		{
			name: "dose abroad keeps its country",
			edit: func(r *Record) { r.Doses[1].Country = "JP" },
			check: func(t *testing.T, d *schemas.DCC) {
				wantEqual(t, "co", d.V[0].CO, "JP")
				wantEqual(t, "ci country", d.V[0].CI[:15], "URN:UVCI:01:VN:")
			},
		},
		{
			name:   "same shot synced from another site is merged",
			edit:   func(r *Record) { r.Doses = append(r.Doses, withSite(r.Doses[1], "HCM-9", "x-77")) },
			check:  func(t *testing.T, d *schemas.DCC) { wantEqual(t, "dn", d.V[0].DN, 2) },
			sameCI: true,
		},
		{
			name:   "exact duplicate record is merged",
			edit:   func(r *Record) { r.Doses = append(r.Doses, r.Doses[0]) },
			check:  func(t *testing.T, d *schemas.DCC) { wantEqual(t, "dn", d.V[0].DN, 2) },
			sameCI: true,
		},
		{
			name:   "drafts are not validated",
			edit:   func(r *Record) { r.Doses = append(r.Doses, Dose{DoseNumber: -4, Date: "never", Status: StatusDraft}) },
			check:  func(t *testing.T, d *schemas.DCC) { wantEqual(t, "dn", d.V[0].DN, 2) },
			sameCI: true,
		},
		{
			name: "latest is the highest dose number, not the last listed",
			edit: func(r *Record) { r.Doses[0], r.Doses[1] = r.Doses[1], r.Doses[0] },
			check: func(t *testing.T, d *schemas.DCC) {
				wantEqual(t, "dn/dt", []any{d.V[0].DN, d.V[0].DT}, []any{2, "2021-08-01"})
			},
			// Order does not matter.
			sameCI: true,
		},
		{
			name: "single dose",
			edit: func(r *Record) { r.Doses = r.Doses[:1] },
			check: func(t *testing.T, d *schemas.DCC) {
				wantEqual(t, "dn/dt", []any{d.V[0].DN, d.V[0].DT}, []any{1, "2021-07-01"})
			},
		},
		{
			name: "lot is optional",
			edit: func(r *Record) { r.Doses[0].Lot, r.Doses[1].Lot = "", "" },
		},
		{
			name:   "dose on the birth date",
			edit:   func(r *Record) { r.Person.BirthDate = "2021-07-01" },
			check:  func(t *testing.T, d *schemas.DCC) { wantEqual(t, "dob", d.Dob, "2021-07-01") },
			sameCI: true, // the doses are the same; the birth date differs

		},
	}
	base, err := BuildPayload(testRecord(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := testRecord()
			tc.edit(&rec)
			d, err := BuildPayload(rec, testOptions())
			if err != nil {
				t.Fatalf("BuildPayload: %v", err)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
			// The UVCI changes with the doses and with the holder fields the
			// certificate shows (name as written, birth date).
			sameHolder := d.Nam.FN == base.Nam.FN && d.Nam.GN == base.Nam.GN && d.Dob == base.Dob
			if ci := d.V[0].CI; (ci == testUVCI) != (tc.sameCI && sameHolder) {
				t.Errorf("ci = %q; same as base: %v, want %v", ci, ci == testUVCI, tc.sameCI && sameHolder)
			}
		})
	}
}

func withSite(d Dose, site, recordID string) Dose {
	d.Site, d.RecordID = site, recordID
	return d
}

func wantNames(fn, fnt, gn, gnt string) func(*testing.T, *schemas.DCC) {
	return func(t *testing.T, d *schemas.DCC) {
		wantEqual(t, "nam", d.Nam, schemas.Name{FN: fn, FNT: fnt, GN: gn, GNT: gnt})
	}
}

func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestBuildPayloadErrors(t *testing.T) {
	type edit = func(*Record, *PayloadOptions)
	dose := func(i int, f func(*Dose)) edit {
		return func(r *Record, _ *PayloadOptions) { f(&r.Doses[i]) }
	}
	person := func(f func(*Person)) edit {
		return func(r *Record, _ *PayloadOptions) { f(&r.Person) }
	}
	tests := []struct {
		name    string
		edit    edit
		field   string
		wantErr error
	}{
		// Options.
		{"no country", func(_ *Record, o *PayloadOptions) { o.Country = "" }, "options.country", ErrMissing},
		{"lower-case country", func(_ *Record, o *PayloadOptions) { o.Country = "vn" }, "options.country", ErrInvalid},
		{"alpha-3 country", func(_ *Record, o *PayloadOptions) { o.Country = "VNM" }, "options.country", ErrInvalid},
		{"unknown country", func(_ *Record, o *PayloadOptions) { o.Country = "XX" }, "options.country", ErrValueSet},
		{"no issuer", func(_ *Record, o *PayloadOptions) { o.Issuer = "" }, "options.issuer", ErrMissing},
		{"issuer too long", func(_ *Record, o *PayloadOptions) { o.Issuer = strings.Repeat("ệ", 81) }, "options.issuer", ErrInvalid},
		{"issuer control char", func(_ *Record, o *PayloadOptions) { o.Issuer = "MoH\nVN" }, "options.issuer", ErrInvalid},
		{"no secret", func(_ *Record, o *PayloadOptions) { o.UVCISecret = nil }, "options.uvci_secret", ErrMissing},
		{"short secret", func(_ *Record, o *PayloadOptions) { o.UVCISecret = make([]byte, 15) }, "options.uvci_secret", ErrInvalid},

		// Person.
		{"no id", person(func(p *Person) { p.ID = "" }), "person.id", ErrMissing},
		{"blank id", person(func(p *Person) { p.ID = " \t" }), "person.id", ErrMissing},
		{"id too long", person(func(p *Person) { p.ID = strings.Repeat("1", 65) }), "person.id", ErrInvalid},
		{"id control char", person(func(p *Person) { p.ID = "0790\x0090001234" }), "person.id", ErrInvalid},
		{"no name", person(func(p *Person) { p.FamilyName, p.GivenName = "", " " }), "person.family_name", ErrMissing},
		{"family name too long", person(func(p *Person) { p.FamilyName = strings.Repeat("Đ", 81) }), "person.family_name", ErrInvalid},
		{"family name control char", person(func(p *Person) { p.FamilyName = "Nguy\x1bễn" }), "person.family_name", ErrInvalid},
		{"family name invalid utf8", person(func(p *Person) { p.FamilyName = "Nguy\xffn" }), "person.family_name", ErrInvalid},
		{"family name not transliterable", person(func(p *Person) { p.FamilyName = "阮" }), "person.family_name", ErrInvalid},
		{"given name digits only", person(func(p *Person) { p.GivenName = "123" }), "person.given_name", ErrInvalid},
		{"no birth date", person(func(p *Person) { p.BirthDate = "" }), "person.birth_date", ErrMissing},
		{"birth date Feb 30", person(func(p *Person) { p.BirthDate = "1990-02-30" }), "person.birth_date", ErrInvalid},
		{"birth date Feb 29 non-leap", person(func(p *Person) { p.BirthDate = "1990-02-29" }), "person.birth_date", ErrInvalid},
		{"birth date Apr 31", person(func(p *Person) { p.BirthDate = "1990-04-31" }), "person.birth_date", ErrInvalid},
		{"birth month 13", person(func(p *Person) { p.BirthDate = "1990-13" }), "person.birth_date", ErrInvalid},
		{"birth month 00", person(func(p *Person) { p.BirthDate = "1990-00-10" }), "person.birth_date", ErrInvalid},
		{"birth day 00", person(func(p *Person) { p.BirthDate = "1990-04-00" }), "person.birth_date", ErrInvalid},
		{"birth year 1899", person(func(p *Person) { p.BirthDate = "1899" }), "person.birth_date", ErrInvalid},
		{"birth year 2100", person(func(p *Person) { p.BirthDate = "2100-01-01" }), "person.birth_date", ErrInvalid},
		{"birth date two-digit year", person(func(p *Person) { p.BirthDate = "90-04-12" }), "person.birth_date", ErrInvalid},
		{"birth date slashes", person(func(p *Person) { p.BirthDate = "1990/04/12" }), "person.birth_date", ErrInvalid},
		{"birth date one-digit month", person(func(p *Person) { p.BirthDate = "1990-4-12" }), "person.birth_date", ErrInvalid},
		{"birth date with time", person(func(p *Person) { p.BirthDate = "1990-04-12T00:00:00Z" }), "person.birth_date", ErrInvalid},
		{"birth date signed digits", person(func(p *Person) { p.BirthDate = "1990-+4-12" }), "person.birth_date", ErrInvalid},

		// The dose list.
		{"no doses", func(r *Record, _ *PayloadOptions) { r.Doses = nil }, "doses", ErrNotFinalised},
		{"drafts only", func(r *Record, _ *PayloadOptions) {
			r.Doses[0].Status, r.Doses[1].Status = StatusDraft, StatusDraft
		}, "doses", ErrNotFinalised},
		{"too many doses", func(r *Record, _ *PayloadOptions) {
			for len(r.Doses) <= 32 {
				r.Doses = append(r.Doses, r.Doses[0])
			}
		}, "doses", ErrInvalid},
		{"no status", dose(1, func(d *Dose) { d.Status = "" }), "doses[1].status", ErrMissing},
		{"unknown status", dose(1, func(d *Dose) { d.Status = "Finalised" }), "doses[1].status", ErrInvalid},

		// One finalised dose.
		{"no record id", dose(1, func(d *Dose) { d.RecordID = "" }), "doses[1].record_id", ErrMissing},
		{"blank site", dose(0, func(d *Dose) { d.Site = " " }), "doses[0].site", ErrMissing},
		{"no product", dose(1, func(d *Dose) { d.Product = "" }), "doses[1].product", ErrMissing},
		{"no manufacturer", dose(1, func(d *Dose) { d.Manufacturer = "" }), "doses[1].manufacturer", ErrMissing},
		{"no date", dose(1, func(d *Dose) { d.Date = "" }), "doses[1].date", ErrMissing},
		{"no country", dose(1, func(d *Dose) { d.Country = "" }), "doses[1].country", ErrMissing},
		{"no dose number", dose(1, func(d *Dose) { d.DoseNumber = 0 }), "doses[1].dose_number", ErrMissing},
		{"negative dose number", dose(1, func(d *Dose) { d.DoseNumber = -1 }), "doses[1].dose_number", ErrInvalid},
		{"no series doses", dose(1, func(d *Dose) { d.SeriesDoses = 0 }), "doses[1].series_doses", ErrMissing},
		{"negative series doses", dose(0, func(d *Dose) { d.SeriesDoses = -2 }), "doses[0].series_doses", ErrInvalid},
		{"partial dose date", dose(1, func(d *Dose) { d.Date = "2021-08" }), "doses[1].date", ErrInvalid},
		{"dose date Feb 29 non-leap", dose(1, func(d *Dose) { d.Date = "2021-02-29" }), "doses[1].date", ErrInvalid},
		{"dose date with time", dose(1, func(d *Dose) { d.Date = "2021-08-01T10:00" }), "doses[1].date", ErrInvalid},
		{"lower-case dose country", dose(1, func(d *Dose) { d.Country = "vn" }), "doses[1].country", ErrInvalid},
		{"unknown dose country", dose(1, func(d *Dose) { d.Country = "XX" }), "doses[1].country", ErrValueSet},
		{"unknown product", dose(1, func(d *Dose) { d.Product = "EU/1/20/9999" }), "doses[1].product", ErrValueSet},
		{"product with space", dose(1, func(d *Dose) { d.Product = "EU/1/20/1528 " }), "doses[1].product", ErrValueSet},
		{"inactive product", dose(1, func(d *Dose) { d.Product = "NVX-CoV2373" }), "doses[1].product", ErrInactive},
		{"unknown manufacturer", dose(0, func(d *Dose) { d.Manufacturer = "ORG-99999999" }), "doses[0].manufacturer", ErrValueSet},
		{"dose before birth", person(func(p *Person) { p.BirthDate = "2021-07-02" }), "doses[0].date", ErrContradictory},
		{"dose before birth year", person(func(p *Person) { p.BirthDate = "2022" }), "doses[0].date", ErrContradictory},

		// Finalised doses that disagree.
		{"same dose number, other lot", dose(1, func(d *Dose) { d.DoseNumber = 1 }), "doses[1].dose_number", ErrContradictory},
		{"same dose number, other date", func(r *Record, _ *PayloadOptions) {
			r.Doses = append(r.Doses, r.Doses[1])
			r.Doses[3].Date = "2021-08-02"
		}, "doses[3].dose_number", ErrContradictory},
		{"same dose number, other series", func(r *Record, _ *PayloadOptions) {
			r.Doses = append(r.Doses, withSite(r.Doses[1], "HCM-9", "x-1"))
			r.Doses[3].SeriesDoses = 3
		}, "doses[3].dose_number", ErrContradictory},
		{"same record id, other shot", func(r *Record, _ *PayloadOptions) {
			r.Doses[2] = withSite(r.Doses[0], "HN-001", "r-1")
			r.Doses[2].DoseNumber, r.Doses[2].Date, r.Doses[2].Status = 3, "2022-01-05", StatusFinalised
		}, "doses[2].record_id", ErrContradictory},
		{"dose 2 before dose 1", dose(1, func(d *Dose) { d.Date = "2021-06-30" }), "doses[1].date", ErrContradictory},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, opts := testRecord(), testOptions()
			tc.edit(&rec, &opts)
			d, err := BuildPayload(rec, opts)
			if d != nil {
				t.Errorf("BuildPayload returned a payload with error %v", err)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("BuildPayload error = %v, want %v", err, tc.wantErr)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("BuildPayload error %T is not a *FieldError", err)
			}
			if fe.Field != tc.field {
				t.Errorf("Field = %q, want %q", fe.Field, tc.field)
			}
			for _, pii := range []string{rec.Person.ID, rec.Person.FamilyName, rec.Person.GivenName, rec.Person.BirthDate} {
				if len(strings.TrimSpace(pii)) > 2 && strings.Contains(err.Error(), pii) {
					t.Errorf("error message contains personal data %q", pii)
				}
			}
		})
	}
}

// editedValueSets returns the default value sets with the values of the
// embedded value-set file name changed by edit.
func editedValueSets(t *testing.T, name string, edit func(values map[string]any)) *schemas.ValueSets {
	t.Helper()
	data, err := fs.ReadFile(schemas.FS, schemas.ValueSetsDir+"/"+name)
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	edit(file["valueSetValues"].(map[string]any))
	if data, err = json.Marshal(file); err != nil {
		t.Fatal(err)
	}
	set, err := schemas.ParseValueSet(data)
	if err != nil {
		t.Fatal(err)
	}
	return schemas.DefaultValueSets().With(set)
}

// TestBuildPayloadValueSetGaps covers value sets that disagree with each
// other: a product without encoding instructions, and a disease code missing
// from its set, which only the final schema check catches (nothing failing
// the schema is returned).
func TestBuildPayloadValueSetGaps(t *testing.T) {
	t.Run("product without prophylaxis", func(t *testing.T) {
		opts := testOptions()
		opts.ValueSets = editedValueSets(t, "vaccine-encoding-instructions.json", func(v map[string]any) {
			delete(v, "Comirnaty")
		})
		_, err := BuildPayload(testRecord(), opts)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "doses[1].product" || !errors.Is(err, ErrValueSet) {
			t.Fatalf("BuildPayload error = %v, want doses[1].product ErrValueSet", err)
		}
	})
	t.Run("schema rejects the payload", func(t *testing.T) {
		opts := testOptions()
		opts.ValueSets = editedValueSets(t, "disease-agent-targeted.json", func(v map[string]any) {
			v["000000000"] = v["840539006"]
			delete(v, "840539006")
		})
		d, err := BuildPayload(testRecord(), opts)
		var fe *FieldError
		var ve *schemas.ValidationError
		if d != nil || !errors.As(err, &fe) || fe.Field != "payload" || !errors.Is(err, schemas.ErrSchema) {
			t.Fatalf("BuildPayload = %v, %v; want nil and a payload schema error", d, err)
		}
		if !errors.As(err, &ve) || ve.Field != "v[0].tg" || ve.Rule != schemas.RuleValueSet {
			t.Errorf("schema error = %+v, want v[0].tg %s", ve, schemas.RuleValueSet)
		}
	})
}

// TestBuildPayloadDeterministic checks that every order of the doses, with
// drafts and duplicates added or removed, gives an identical payload.
func TestBuildPayloadDeterministic(t *testing.T) {
	base := testRecord()
	want, err := BuildPayload(base, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	extra := []Dose{
		withSite(base.Doses[0], "HCM-9", "x-1"), // a duplicate shot
		{RecordID: "d-9", Site: "HN-001", Status: StatusDraft},
	}
	pool := append(append([]Dose{}, base.Doses...), extra...)
	n := 0
	for _, subset := range [][]int{{0, 1}, {0, 1, 2}, {0, 1, 3}, {0, 1, 4}, {0, 1, 2, 3, 4}} {
		permute(subset, func(order []int) {
			rec := Record{Person: base.Person}
			for _, i := range order {
				rec.Doses = append(rec.Doses, pool[i])
			}
			got, err := BuildPayload(rec, testOptions())
			if err != nil {
				t.Fatalf("order %v: %v", order, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("order %v: payload differs:\n%+v\nwant\n%+v", order, got, want)
			}
			n++
		})
	}
	if n != 2+6+6+6+120 {
		t.Errorf("ran %d orders, want 140", n)
	}
}

// permute calls f with every permutation of s.
func permute(s []int, f func([]int)) {
	var rec func(k int)
	rec = func(k int) {
		if k == len(s) {
			f(s)
			return
		}
		for i := k; i < len(s); i++ {
			s[k], s[i] = s[i], s[k]
			rec(k + 1)
			s[k], s[i] = s[i], s[k]
		}
	}
	rec(0)
}

// TestBuildPayloadUVCI checks what the UVCI depends on.
func TestBuildPayloadUVCI(t *testing.T) {
	ci := func(edit func(*Record, *PayloadOptions)) string {
		t.Helper()
		rec, opts := testRecord(), testOptions()
		edit(&rec, &opts)
		d, err := BuildPayload(rec, opts)
		if err != nil {
			t.Fatal(err)
		}
		return d.V[0].CI
	}
	changes := map[string]func(*Record, *PayloadOptions){
		"person id":      func(r *Record, _ *PayloadOptions) { r.Person.ID = "079090001235" },
		"secret":         func(_ *Record, o *PayloadOptions) { o.UVCISecret = []byte("another secret, 32 bytes long!!!") },
		"earlier lot":    func(r *Record, _ *PayloadOptions) { r.Doses[0].Lot = "FF0681" },
		"earlier date":   func(r *Record, _ *PayloadOptions) { r.Doses[0].Date = "2021-07-02" },
		"finalised more": func(r *Record, _ *PayloadOptions) { r.Doses[2].Status = StatusFinalised },
		"issuer text":    func(_ *Record, o *PayloadOptions) { o.Issuer = "Bộ Y tế" },
		"family name":    func(r *Record, _ *PayloadOptions) { r.Person.FamilyName = "Trần" },
		"birth date":     func(r *Record, _ *PayloadOptions) { r.Person.BirthDate = "1990-04-13" },
	}
	for name, edit := range changes {
		if got := ci(edit); got == testUVCI {
			t.Errorf("%s: UVCI unchanged", name)
		}
	}
	same := map[string]func(*Record, *PayloadOptions){
		"id whitespace": func(r *Record, _ *PayloadOptions) { r.Person.ID = " 079090001234 " },
		"site":          func(r *Record, _ *PayloadOptions) { r.Doses[0] = withSite(r.Doses[0], "DN-5", "z-9") },
	}
	for name, edit := range same {
		if got := ci(edit); got != testUVCI {
			t.Errorf("%s: UVCI changed to %q", name, got)
		}
	}
}

func TestFieldError(t *testing.T) {
	err := error(&FieldError{Field: "doses[1].product", Err: ErrValueSet})
	if !errors.Is(err, ErrValueSet) || errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is does not follow Err")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "issuer: ") || strings.Count(msg, "issuer:") != 1 || !strings.Contains(msg, "doses[1].product") {
		t.Errorf("message %q: want one issuer prefix and the field", msg)
	}
}

func BenchmarkBuildPayload(b *testing.B) {
	rec, opts := testRecord(), testOptions()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildPayload(rec, opts); err != nil {
			b.Fatal(err)
		}
	}
}
