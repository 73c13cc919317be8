package schemas_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/schemas"
)

// Fixed, schema-valid base documents. The names are fictitious.
func baseVaccination() *schemas.DCC {
	return &schemas.DCC{
		Ver: "1.3.0",
		Nam: schemas.Name{FN: "Nguyễn", FNT: "NGUYEN", GN: "Văn An", GNT: "VAN<AN"},
		Dob: "1985-07-14",
		V: []schemas.Vaccination{{
			TG: "840539006", VP: "1157024006", MP: "BBIBP-CorV", MA: "ORG-100020693",
			DN: 2, SD: 2, DT: "2021-09-15", CO: "VN",
			IS: "Ministry of Health of Viet Nam", CI: "URN:UVCI:01:VN:0001ABCD#Q",
		}},
	}
}

func baseTest() *schemas.DCC {
	d := baseVaccination()
	d.V = nil
	d.T = []schemas.Test{{
		TG: "840539006", TT: "LP217198-3", MA: "1232", SC: "2021-09-15T08:30:00+07:00",
		TR: "260415000", TC: "Bach Mai Hospital", CO: "VN",
		IS: "Ministry of Health of Viet Nam", CI: "URN:UVCI:01:VN:0002ABCD#R",
	}}
	return d
}

func baseRecovery() *schemas.DCC {
	d := baseVaccination()
	d.V = nil
	d.R = []schemas.Recovery{{
		TG: "840539006", FR: "2021-08-01", CO: "VN", IS: "Ministry of Health of Viet Nam",
		DF: "2021-08-12", DU: "2022-01-28", CI: "URN:UVCI:01:VN:0003ABCD#S",
	}}
	return d
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("A", 81)
	tests := []struct {
		name      string
		base      func() *schemas.DCC
		mutate    func(d *schemas.DCC)
		wantField string
		wantRule  string // "" means valid
	}{
		{"vaccination", baseVaccination, func(*schemas.DCC) {}, "", ""},
		{"rapid test", baseTest, func(*schemas.DCC) {}, "", ""},
		{"NAA test without ma", baseTest, func(d *schemas.DCC) { d.T[0].TT, d.T[0].MA, d.T[0].NM = "LP6464-4", "", "PCR" }, "", ""},
		{"recovery", baseRecovery, func(*schemas.DCC) {}, "", ""},
		{"only fnt", baseVaccination, func(d *schemas.DCC) { d.Nam.GN, d.Nam.GNT = "", "" }, "", ""},
		{"only gnt", baseVaccination, func(d *schemas.DCC) { d.Nam.FN, d.Nam.FNT = "", "" }, "", ""},
		{"empty dob", baseVaccination, func(d *schemas.DCC) { d.Dob = "" }, "", ""},
		{"dob year", baseVaccination, func(d *schemas.DCC) { d.Dob = "1985" }, "", ""},
		{"dob year-month", baseVaccination, func(d *schemas.DCC) { d.Dob = "2001-02" }, "", ""},
		{"dob month not range-checked", baseVaccination, func(d *schemas.DCC) { d.Dob = "1985-99-99" }, "", ""},
		{"fn 80 code points", baseVaccination, func(d *schemas.DCC) { d.Nam.FN = strings.Repeat("ễ", 80) }, "", ""},
		{"ver wildcard", baseVaccination, func(d *schemas.DCC) { d.Ver = "1x3é0" }, "", ""},
		{"ver digits only", baseVaccination, func(d *schemas.DCC) { d.Ver = "12345" }, "", ""},
		{"deprecated vp still verifiable", baseVaccination, func(d *schemas.DCC) { d.V[0].VP = "J07BX03" }, "", ""},
		{"deprecated mp still verifiable", baseVaccination, func(d *schemas.DCC) { d.V[0].MP = "Inactivated-SARS-CoV-2-Vero-Cell" }, "", ""},
		{"dose beyond series", baseVaccination, func(d *schemas.DCC) { d.V[0].DN, d.V[0].SD = 3, 2 }, "", ""},
		{"Kosovo", baseVaccination, func(d *schemas.DCC) { d.V[0].CO = "XK" }, "", ""},
		{"empty issuer and UVCI", baseVaccination, func(d *schemas.DCC) { d.V[0].IS, d.V[0].CI = "", "" }, "", ""},
		{"leap second", baseTest, func(d *schemas.DCC) { d.T[0].SC = "2016-12-31T23:59:60Z" }, "", ""},

		{"ver empty", baseVaccination, func(d *schemas.DCC) { d.Ver = "" }, "ver", schemas.RulePattern},
		{"ver two parts", baseVaccination, func(d *schemas.DCC) { d.Ver = "1.3" }, "ver", schemas.RulePattern},
		{"ver trailing newline", baseVaccination, func(d *schemas.DCC) { d.Ver = "1.3.0\n" }, "ver", schemas.RulePattern},
		{"ver newline wildcard", baseVaccination, func(d *schemas.DCC) { d.Ver = "1\n3.0" }, "ver", schemas.RulePattern},
		{"ver letter part", baseVaccination, func(d *schemas.DCC) { d.Ver = "1.3.x" }, "ver", schemas.RulePattern},
		{"no standardised name", baseVaccination, func(d *schemas.DCC) { d.Nam.FNT, d.Nam.GNT = "", "" }, "nam", schemas.RuleAnyOf},
		{"fn too long", baseVaccination, func(d *schemas.DCC) { d.Nam.FN = strings.Repeat("ễ", 81) }, "nam.fn", schemas.RuleMaxLength},
		{"fnt too long", baseVaccination, func(d *schemas.DCC) { d.Nam.FNT = long }, "nam.fnt", schemas.RuleMaxLength},
		{"fnt lower case", baseVaccination, func(d *schemas.DCC) { d.Nam.FNT = "Nguyen" }, "nam.fnt", schemas.RulePattern},
		{"fnt space", baseVaccination, func(d *schemas.DCC) { d.Nam.FNT = "NGUYEN VAN" }, "nam.fnt", schemas.RulePattern},
		{"gn too long", baseVaccination, func(d *schemas.DCC) { d.Nam.GN = long }, "nam.gn", schemas.RuleMaxLength},
		{"gnt too long", baseVaccination, func(d *schemas.DCC) { d.Nam.GNT = long }, "nam.gnt", schemas.RuleMaxLength},
		{"gnt diacritic", baseVaccination, func(d *schemas.DCC) { d.Nam.GNT = "VĂN" }, "nam.gnt", schemas.RulePattern},
		{"dob before 1900", baseVaccination, func(d *schemas.DCC) { d.Dob = "1899-12-31" }, "dob", schemas.RulePattern},
		{"dob compact", baseVaccination, func(d *schemas.DCC) { d.Dob = "19850714" }, "dob", schemas.RulePattern},
		{"dob single-digit month", baseVaccination, func(d *schemas.DCC) { d.Dob = "1985-7-14" }, "dob", schemas.RulePattern},
		{"no entry", baseVaccination, func(d *schemas.DCC) { d.V = nil }, "", schemas.RuleOneOf},
		{"vaccination and test", baseVaccination, func(d *schemas.DCC) { d.T = baseTest().T }, "", schemas.RuleOneOf},
		{"empty v", baseVaccination, func(d *schemas.DCC) { d.V = []schemas.Vaccination{} }, "v", schemas.RuleMinItems},
		{"two vaccinations", baseVaccination, func(d *schemas.DCC) { d.V = append(d.V, d.V[0]) }, "v", schemas.RuleMaxItems},
		{"empty t", baseTest, func(d *schemas.DCC) { d.T = []schemas.Test{} }, "t", schemas.RuleMinItems},
		{"two recoveries", baseRecovery, func(d *schemas.DCC) { d.R = append(d.R, d.R[0]) }, "r", schemas.RuleMaxItems},

		{"v tg", baseVaccination, func(d *schemas.DCC) { d.V[0].TG = "729999" }, "v[0].tg", schemas.RuleValueSet},
		{"v vp", baseVaccination, func(d *schemas.DCC) { d.V[0].VP = "" }, "v[0].vp", schemas.RuleValueSet},
		{"v mp", baseVaccination, func(d *schemas.DCC) { d.V[0].MP = "Nanocovax" }, "v[0].mp", schemas.RuleValueSet},
		{"v ma", baseVaccination, func(d *schemas.DCC) { d.V[0].MA = "ORG-99999999" }, "v[0].ma", schemas.RuleValueSet},
		{"v dn", baseVaccination, func(d *schemas.DCC) { d.V[0].DN = 0 }, "v[0].dn", schemas.RuleMinimum},
		{"v sd", baseVaccination, func(d *schemas.DCC) { d.V[0].SD = -1 }, "v[0].sd", schemas.RuleMinimum},
		{"v dt not a day", baseVaccination, func(d *schemas.DCC) { d.V[0].DT = "2021-02-29" }, "v[0].dt", schemas.RuleFormat},
		{"v dt date-time", baseVaccination, func(d *schemas.DCC) { d.V[0].DT = "2021-09-15T00:00:00Z" }, "v[0].dt", schemas.RuleFormat},
		{"v dt empty", baseVaccination, func(d *schemas.DCC) { d.V[0].DT = "" }, "v[0].dt", schemas.RuleFormat},
		{"v co lower case", baseVaccination, func(d *schemas.DCC) { d.V[0].CO = "vn" }, "v[0].co", schemas.RulePattern},
		{"v co unknown", baseVaccination, func(d *schemas.DCC) { d.V[0].CO = "XY" }, "v[0].co", schemas.RuleValueSet},
		{"v co alpha-3", baseVaccination, func(d *schemas.DCC) { d.V[0].CO = "VNM" }, "v[0].co", schemas.RuleValueSet},
		{"v is", baseVaccination, func(d *schemas.DCC) { d.V[0].IS = long }, "v[0].is", schemas.RuleMaxLength},
		{"v ci", baseVaccination, func(d *schemas.DCC) { d.V[0].CI = long }, "v[0].ci", schemas.RuleMaxLength},

		{"t tg", baseTest, func(d *schemas.DCC) { d.T[0].TG = "94558-4" }, "t[0].tg", schemas.RuleValueSet},
		{"t tt", baseTest, func(d *schemas.DCC) { d.T[0].TT = "PCR" }, "t[0].tt", schemas.RuleValueSet},
		{"t nm", baseTest, func(d *schemas.DCC) { d.T[0].NM = long }, "t[0].nm", schemas.RuleMaxLength},
		{"t ma", baseTest, func(d *schemas.DCC) { d.T[0].MA = "9999" }, "t[0].ma", schemas.RuleValueSet},
		{"t sc without offset", baseTest, func(d *schemas.DCC) { d.T[0].SC = "2021-09-15T08:30:00" }, "t[0].sc", schemas.RuleFormat},
		{"t sc date only", baseTest, func(d *schemas.DCC) { d.T[0].SC = "2021-09-15" }, "t[0].sc", schemas.RuleFormat},
		{"t tr", baseTest, func(d *schemas.DCC) { d.T[0].TR = "NEGATIVO" }, "t[0].tr", schemas.RuleValueSet},
		{"t tc", baseTest, func(d *schemas.DCC) { d.T[0].TC = long }, "t[0].tc", schemas.RuleMaxLength},
		{"t co", baseTest, func(d *schemas.DCC) { d.T[0].CO = "" }, "t[0].co", schemas.RulePattern},
		{"t is", baseTest, func(d *schemas.DCC) { d.T[0].IS = long }, "t[0].is", schemas.RuleMaxLength},
		{"t ci", baseTest, func(d *schemas.DCC) { d.T[0].CI = long }, "t[0].ci", schemas.RuleMaxLength},

		{"r tg", baseRecovery, func(d *schemas.DCC) { d.R[0].TG = "" }, "r[0].tg", schemas.RuleValueSet},
		{"r fr", baseRecovery, func(d *schemas.DCC) { d.R[0].FR = "2021-8-01" }, "r[0].fr", schemas.RuleFormat},
		{"r co", baseRecovery, func(d *schemas.DCC) { d.R[0].CO = "ZZ" }, "r[0].co", schemas.RuleValueSet},
		{"r is", baseRecovery, func(d *schemas.DCC) { d.R[0].IS = long }, "r[0].is", schemas.RuleMaxLength},
		{"r df", baseRecovery, func(d *schemas.DCC) { d.R[0].DF = "" }, "r[0].df", schemas.RuleFormat},
		{"r du", baseRecovery, func(d *schemas.DCC) { d.R[0].DU = "2022-02-30" }, "r[0].du", schemas.RuleFormat},
		{"r ci", baseRecovery, func(d *schemas.DCC) { d.R[0].CI = long }, "r[0].ci", schemas.RuleMaxLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.base()
			tc.mutate(d)
			err := d.Validate(nil)
			if tc.wantRule == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, schemas.ErrSchema) {
				t.Fatalf("Validate() = %v, want an error matching ErrSchema", err)
			}
			var ve *schemas.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %T, want *ValidationError", err)
			}
			if ve.Field != tc.wantField || ve.Rule != tc.wantRule {
				t.Errorf("Validate() = {Field: %q, Rule: %q}, want {%q, %q}", ve.Field, ve.Rule, tc.wantField, tc.wantRule)
			}
		})
	}
}

// TestValidationErrorHasNoPersonalData checks that messages name the field
// but never carry the payload's values.
func TestValidationErrorHasNoPersonalData(t *testing.T) {
	d := baseVaccination()
	d.Nam.FNT = "NGUYEN<van" // violates the pattern
	err := d.Validate(nil)
	if err == nil {
		t.Fatal("Validate() = nil, want an error")
	}
	for _, personal := range []string{"NGUYEN", "van", "Nguyễn", "1985"} {
		if strings.Contains(err.Error(), personal) {
			t.Errorf("error message carries payload data %q", personal)
		}
	}
}

func TestValidateUsesGivenValueSets(t *testing.T) {
	countries, err := schemas.ParseValueSet([]byte(`{"valueSetId":"country-2-codes","valueSetDate":"2024-01-01","valueSetValues":{"XY":{"display":"Test","lang":"en","active":true,"version":"","system":"urn:test"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	vs := schemas.DefaultValueSets().With(countries)
	d := baseVaccination()
	d.V[0].CO = "XY"
	if err := d.Validate(vs); err != nil {
		t.Errorf("Validate(custom) = %v, want nil", err)
	}
	var ve *schemas.ValidationError
	if err := d.Validate(nil); !errors.As(err, &ve) || ve.Field != "v[0].co" || ve.Rule != schemas.RuleValueSet {
		t.Errorf("Validate(nil) = %v, want v[0].co valueset", err)
	}
}

func TestValidateDoesNotAllocate(t *testing.T) {
	vs := schemas.DefaultValueSets()
	for _, base := range []func() *schemas.DCC{baseVaccination, baseTest, baseRecovery} {
		d := base()
		allocs := testing.AllocsPerRun(100, func() {
			if err := d.Validate(vs); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("Validate allocated %v times per run, want 0", allocs)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	vs := schemas.DefaultValueSets()
	d := baseVaccination()
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Validate(vs); err != nil {
			b.Fatal(err)
		}
	}
}
