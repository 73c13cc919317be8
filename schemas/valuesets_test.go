package schemas_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/schemas"
)

func TestDefaultValueSets(t *testing.T) {
	vs := schemas.DefaultValueSets()
	if vs != schemas.DefaultValueSets() {
		t.Error("DefaultValueSets() returned a different value on the second call")
	}
	tests := []struct {
		set, date string
		code      string // one listed code
	}{
		{schemas.SetDisease, "2021-04-27", "840539006"},
		{schemas.SetVaccineProphylaxis, "2023-01-25", "1119349007"},
		{schemas.SetVaccineProduct, "2022-11-30", "EU/1/22/1709"}, // Bimervax, release 2.12.0
		{schemas.SetVaccineMAH, "2022-01-26", "ORG-100036914"},    // Hipra, release 2.12.0
		{schemas.SetCountry, "2019-11-01", "VN"},
		{schemas.SetTestType, "2021-04-27", "LP6464-4"},
		{schemas.SetTestResult, "2021-04-27", "260415000"},
		{schemas.SetTestManf, "2021-06-30", "1232"},
		{schemas.SetVaccineEncoding, "2023-05-05", ""},
	}
	for _, tc := range tests {
		s := vs.Set(tc.set)
		if s == nil {
			t.Errorf("Set(%q) = nil", tc.set)
			continue
		}
		if s.ID() != tc.set || s.Date() != tc.date {
			t.Errorf("Set(%q) = {%q, %q}, want date %q", tc.set, s.ID(), s.Date(), tc.date)
		}
		if tc.code != "" && !vs.Active(tc.set, tc.code) {
			t.Errorf("Active(%q, %q) = false, want true", tc.set, tc.code)
		}
	}
}

func TestHasActiveDisplay(t *testing.T) {
	vs := schemas.DefaultValueSets()
	tests := []struct {
		set, code   string
		has, active bool
		display     string
	}{
		{schemas.SetVaccineProduct, "EU/1/20/1528", true, true, "Comirnaty"},
		{schemas.SetVaccineProduct, "Inactivated-SARS-CoV-2-Vero-Cell", true, false, "Inactivated SARS-CoV-2 (Vero Cell) (deprecated)"},
		{schemas.SetVaccineProphylaxis, "J07BX03", true, false, "covid-19 vaccines (deprecated)"},
		{schemas.SetTestManf, "1065", true, false, "Becton Dickinson, BD Veritor™ System for Rapid Detection of SARS CoV 2"},
		{schemas.SetCountry, "VN", true, true, "Viet Nam"},
		{schemas.SetCountry, "XK", true, true, "Kosovo, Republic of"},
		{schemas.SetCountry, "vn", false, false, ""},
		{schemas.SetVaccineProduct, "Nanocovax", false, false, ""},
		{"no-such-set", "VN", false, false, ""},
		{schemas.SetVaccineEncoding, "Comirnaty", false, false, ""},
	}
	for _, tc := range tests {
		if got := vs.Has(tc.set, tc.code); got != tc.has {
			t.Errorf("Has(%q, %q) = %v, want %v", tc.set, tc.code, got, tc.has)
		}
		if got := vs.Active(tc.set, tc.code); got != tc.active {
			t.Errorf("Active(%q, %q) = %v, want %v", tc.set, tc.code, got, tc.active)
		}
		if got := vs.Display(tc.set, tc.code); got != tc.display {
			t.Errorf("Display(%q, %q) = %q, want %q", tc.set, tc.code, got, tc.display)
		}
	}
}

// TestVietnamProducts checks that every vaccine Viet Nam administered, and
// the other WHO EUL vaccines, can be encoded with the embedded value sets:
// an active product code, a listed manufacturer, and a prophylaxis code
// derived from Annex A.
func TestVietnamProducts(t *testing.T) {
	vs := schemas.DefaultValueSets()
	tests := []struct {
		name, mp, ma, vp string
	}{
		{"Vero Cell (Sinopharm BIBP)", "BBIBP-CorV", "ORG-100020693", "1157024006"},
		{"Abdala", "Abdala", "CIGB", "28531000087107"},
		{"Hayat-Vax", "Hayat-Vax", "ORG-100023050", "1157024006"},
		{"Sputnik V", "Sputnik-V", "Gamaleya-Research-Institute", "29061000087103"},
		{"Sputnik Light", "Sputnik-Light", "Gamaleya-Research-Institute", "29061000087103"},
		{"Covishield", "Covishield", "ORG-100001981", "29061000087103"},
		{"Comirnaty", "EU/1/20/1528", "ORG-100030215", "1119349007"},
		{"Spikevax", "EU/1/20/1507", "ORG-100031184", "1119349007"},
		{"Vaxzevria", "EU/1/21/1529", "ORG-100001699", "29061000087103"},
		{"Jcovden", "EU/1/20/1525", "ORG-100001417", "29061000087103"},
		{"CoronaVac", "CoronaVac", "Sinovac-Biotech", "1157024006"},
		{"Covaxin", "Covaxin", "Bharat-Biotech", "1157024006"},
		{"Covovax", "Covovax", "ORG-100001981", "1162643001"},
		{"Nuvaxovid", "EU/1/21/1618", "ORG-100032020", "1162643001"},
		{"Convidecia", "Convidecia", "ORG-100013793", "29061000087103"},
		{"WIBP-CorV (Sinopharm Wuhan)", "WIBP-CorV", "Sinopharm-WIBP", "1157024006"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !vs.Active(schemas.SetVaccineProduct, tc.mp) {
				t.Errorf("product %q is not an active code", tc.mp)
			}
			if !vs.Active(schemas.SetVaccineMAH, tc.ma) {
				t.Errorf("manufacturer %q is not an active code", tc.ma)
			}
			vp, ok := vs.VaccineProphylaxis(tc.mp)
			if !ok || vp != tc.vp {
				t.Errorf("VaccineProphylaxis(%q) = %q, %v, want %q, true", tc.mp, vp, ok, tc.vp)
			}
			if !vs.Active(schemas.SetVaccineProphylaxis, vp) {
				t.Errorf("prophylaxis %q is not an active code", vp)
			}
		})
	}
	if !vs.Active(schemas.SetCountry, "VN") {
		t.Error("country VN is not an active code")
	}
}

func TestVaccineProphylaxisUnknown(t *testing.T) {
	vs := schemas.DefaultValueSets()
	for _, mp := range []string{"", "Nanocovax", "NVX-CoV2373 (deprecated)", "Comirnaty"} {
		if vp, ok := vs.VaccineProphylaxis(mp); ok {
			t.Errorf("VaccineProphylaxis(%q) = %q, true, want false", mp, vp)
		}
	}
	// Retired products are found under their plain product code.
	if vp, ok := vs.VaccineProphylaxis("NVX-CoV2373"); !ok || vp != "1162643001" {
		t.Errorf("VaccineProphylaxis(NVX-CoV2373) = %q, %v, want 1162643001, true", vp, ok)
	}
}

// TestVaccineProphylaxisAcrossAnnexEditions loads an Annex A in the
// 2.11.0 form, where J07BX03 became 28531000087107 and is listed first, and
// checks that the derived codes do not change.
func TestVaccineProphylaxisAcrossAnnexEditions(t *testing.T) {
	annex, err := schemas.ParseValueSet([]byte(`{
  "valueSetId": "vaccines-covid-19-encoding-instructions",
  "valueSetDate": "2023-01-26",
  "valueSetValues": {
    "Vaxzevria": {"vaccine-code": "EU/1/21/1529", "vaccine-manufacturer": "ORG-100001699", "sct-codes": ["28531000087107", "29061000087103"]},
    "Abdala": {"vaccine-code": "Abdala", "vaccine-manufacturer": "CIGB", "sct-codes": ["28531000087107"], "note": "Also known as CIGB-66."},
    "Comirnaty": {"vaccine-code": "EU/1/20/1528", "vaccine-manufacturer": "ORG-100030215", "sct-codes": ["1119349007", "28531000087107"]}
  }
}`))
	if err != nil {
		t.Fatal(err)
	}
	old := schemas.DefaultValueSets()
	vs := old.With(annex)
	for _, mp := range []string{"EU/1/21/1529", "Abdala", "EU/1/20/1528"} {
		want, _ := old.VaccineProphylaxis(mp)
		if got, ok := vs.VaccineProphylaxis(mp); !ok || got != want {
			t.Errorf("VaccineProphylaxis(%q) = %q, %v with the 2.11 annex, want %q", mp, got, ok, want)
		}
	}
	if _, ok := vs.VaccineProphylaxis("BBIBP-CorV"); ok {
		t.Error("VaccineProphylaxis(BBIBP-CorV) found a product the replacing annex does not list")
	}
}

const validSet = `{"valueSetId":"covid-19-lab-result","valueSetDate":"2024-05-01","valueSetValues":{"260373001":{"display":"Detected","lang":"en","active":true,"version":"x","system":"http://snomed.info/sct"},"999":{"display":"New","lang":"en","active":false,"version":"x","system":"urn:x","validUntil":"2025-01-01"}}}`

func TestParseValueSet(t *testing.T) {
	s, err := schemas.ParseValueSet([]byte(validSet))
	if err != nil {
		t.Fatalf("ParseValueSet(valid) = %v", err)
	}
	if s.ID() != schemas.SetTestResult || s.Date() != "2024-05-01" {
		t.Errorf("ParseValueSet(valid) = {%q, %q}", s.ID(), s.Date())
	}

	entry := `"display":"D","lang":"en","active":true,"version":"","system":"urn:x"`
	tests := []struct {
		name string
		data string
	}{
		{"empty", ``},
		{"not an object", `[]`},
		{"syntax error", `{"valueSetId":`},
		{"trailing data", validSet + `{}`},
		{"unknown member", `{"valueSetId":"a","valueSetDate":"2024-01-01","valueSetValues":{"x":{` + entry + `}},"extra":1}`},
		{"unknown entry member", `{"valueSetId":"a","valueSetDate":"2024-01-01","valueSetValues":{"x":{` + entry + `,"colour":"red"}}}`},
		{"missing id", `{"valueSetDate":"2024-01-01","valueSetValues":{"x":{` + entry + `}}}`},
		{"empty id", `{"valueSetId":"","valueSetDate":"2024-01-01","valueSetValues":{"x":{` + entry + `}}}`},
		{"bad date", `{"valueSetId":"a","valueSetDate":"2024-13-01","valueSetValues":{"x":{` + entry + `}}}`},
		{"missing date", `{"valueSetId":"a","valueSetValues":{"x":{` + entry + `}}}`},
		{"missing values", `{"valueSetId":"a","valueSetDate":"2024-01-01"}`},
		{"no values", `{"valueSetId":"a","valueSetDate":"2024-01-01","valueSetValues":{}}`},
		{"values not an object", `{"valueSetId":"a","valueSetDate":"2024-01-01","valueSetValues":[]}`},
		{"empty code", `{"valueSetId":"a","valueSetDate":"2024-01-01","valueSetValues":{"":{` + entry + `}}}`},
		{"missing active", `{"valueSetId":"a","valueSetDate":"2024-01-01","valueSetValues":{"x":{"display":"D","lang":"en","version":"","system":"urn:x"}}}`},
		{"active not a bool", `{"valueSetId":"a","valueSetDate":"2024-01-01","valueSetValues":{"x":{"display":"D","lang":"en","active":"yes","version":"","system":"urn:x"}}}`},
		{"missing display", `{"valueSetId":"a","valueSetDate":"2024-01-01","valueSetValues":{"x":{"lang":"en","active":true,"version":"","system":"urn:x"}}}`},
		{"annex without sct-codes", `{"valueSetId":"vaccines-covid-19-encoding-instructions","valueSetDate":"2024-01-01","valueSetValues":{"P":{"vaccine-code":"P","vaccine-manufacturer":"M","sct-codes":[]}}}`},
		{"annex unknown member", `{"valueSetId":"vaccines-covid-19-encoding-instructions","valueSetDate":"2024-01-01","valueSetValues":{"P":{"vaccine-code":"P","vaccine-manufacturer":"M","sct-codes":["1"],"x":1}}}`},
		{"annex duplicate product", `{"valueSetId":"vaccines-covid-19-encoding-instructions","valueSetDate":"2024-01-01","valueSetValues":{"P":{"vaccine-code":"P","vaccine-manufacturer":"M","sct-codes":["1"]},"Q":{"vaccine-code":"P (deprecated)","vaccine-manufacturer":"M","sct-codes":["1"]}}}`},
		{"oversized", `{"valueSetId":"a","valueSetDate":"2024-01-01","valueSetValues":{"x":{` + entry + `}}}` + strings.Repeat(" ", limits.MaxValueSet)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := schemas.ParseValueSet([]byte(tc.data))
			if s != nil || !errors.Is(err, schemas.ErrValueSet) {
				t.Errorf("ParseValueSet() = %v, %v, want an error matching ErrValueSet", s, err)
			}
		})
	}
}

func TestWithDoesNotModifyReceiver(t *testing.T) {
	s, err := schemas.ParseValueSet([]byte(validSet))
	if err != nil {
		t.Fatal(err)
	}
	base := schemas.DefaultValueSets()
	vs := base.With(s, nil)
	if !vs.Has(schemas.SetTestResult, "999") || vs.Has(schemas.SetTestResult, "260415000") {
		t.Error("With() did not replace the test-result set")
	}
	if vs.Active(schemas.SetTestResult, "999") {
		t.Error("Active() = true for an inactive code")
	}
	if base.Has(schemas.SetTestResult, "999") || !base.Has(schemas.SetTestResult, "260415000") {
		t.Error("With() modified its receiver")
	}
	if !vs.Has(schemas.SetCountry, "VN") {
		t.Error("With() lost an unrelated set")
	}
}

func TestLoadValueSetsDir(t *testing.T) {
	countries := `{"valueSetId":"country-2-codes","valueSetDate":"2024-02-01","valueSetValues":{"VN":{"display":"Viet Nam","lang":"en","active":true,"version":"","system":"urn:iso:std:iso:3166"}}}`
	good := fstest.MapFS{
		"countries.json":           {Data: []byte(countries)},
		"test-result.json":         {Data: []byte(validSet)},
		"README.txt":               {Data: []byte("not a value set")},
		"old/country-2-codes.json": {Data: []byte("{broken")},
	}
	vs, err := schemas.LoadValueSetsDir(good)
	if err != nil {
		t.Fatalf("LoadValueSetsDir(good) = %v", err)
	}
	if got := vs.Set(schemas.SetCountry).Date(); got != "2024-02-01" {
		t.Errorf("country set date = %q, want the loaded 2024-02-01", got)
	}
	if vs.Has(schemas.SetCountry, "DE") || !vs.Has(schemas.SetCountry, "VN") {
		t.Error("the loaded country set did not replace the default one")
	}
	if !vs.Has(schemas.SetTestResult, "999") || !vs.Has(schemas.SetVaccineProduct, "EU/1/20/1528") {
		t.Error("loaded or default sets missing")
	}

	tests := []struct {
		name string
		fsys fstest.MapFS
	}{
		{"one malformed file", fstest.MapFS{
			"a-countries.json": {Data: []byte(countries)},
			"b-broken.json":    {Data: []byte(`{"valueSetId":"x"}`)},
		}},
		{"duplicate valueSetId", fstest.MapFS{
			"a.json": {Data: []byte(countries)},
			"b.json": {Data: []byte(countries)},
		}},
		{"oversized file", fstest.MapFS{
			"a.json": {Data: []byte(countries + strings.Repeat(" ", limits.MaxValueSet))},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs, err := schemas.LoadValueSetsDir(tc.fsys)
			if vs != nil || !errors.Is(err, schemas.ErrValueSet) {
				t.Errorf("LoadValueSetsDir() = %v, %v, want nil and an error matching ErrValueSet", vs, err)
			}
		})
	}
}
