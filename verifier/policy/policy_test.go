package policy_test

import (
	"errors"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier/policy"
)

// clock is the fixed verification instant of every table: 2022-03-01 09:00 UTC.
var clock = time.Date(2022, 3, 1, 9, 0, 0, 0, time.UTC)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func vacc(mp string, dn, sd int, dt string) *schemas.DCC {
	return &schemas.DCC{Ver: "1.3.0", Dob: "1990-01-01", V: []schemas.Vaccination{{
		TG: policy.DiseaseCOVID19, VP: "1119349007", MP: mp, MA: "ORG-100030215",
		DN: dn, SD: sd, DT: dt, CO: "VN", IS: "Ministry of Health of Viet Nam", CI: "URN:UVCI:01:VN:X",
	}}}
}

func TestVaccination(t *testing.T) {
	const (
		comirnaty = "EU/1/20/1528"
		jcovden   = "EU/1/20/1525"
	)
	p := policy.Default()
	tests := []struct {
		name       string
		dcc        *schemas.DCC
		want       policy.Decision
		reason     policy.Reason
		validFrom  string // date, "" = not checked
		validUntil string // date, "" = zero
	}{
		// primary series
		{"2/2 after 14 days", vacc(comirnaty, 2, 2, "2022-02-01"), policy.Full, "", "2022-02-15", "2022-10-29"},
		{"2/2 exactly 14 days", vacc(comirnaty, 2, 2, "2022-02-15"), policy.Full, "", "2022-03-01", "2022-11-12"},
		{"2/2 13 days ago", vacc(comirnaty, 2, 2, "2022-02-16"), policy.Partial, policy.ReasonTooRecent, "2022-03-02", "2022-11-13"},
		{"2/2 today", vacc(comirnaty, 2, 2, "2022-03-01"), policy.Partial, policy.ReasonTooRecent, "2022-03-15", "2022-11-26"},
		{"2/2 270 days ago expired", vacc(comirnaty, 2, 2, "2021-06-04"), policy.NotAccepted, policy.ReasonPrimaryExpired, "2021-06-18", "2022-03-01"},
		{"2/2 269 days ago", vacc(comirnaty, 2, 2, "2021-06-05"), policy.Full, "", "2021-06-19", "2022-03-02"},
		{"1/2 partial", vacc(comirnaty, 1, 2, "2021-12-01"), policy.Partial, policy.ReasonIncomplete, "2021-12-01", ""},
		{"1/3 partial", vacc("BBIBP-CorV", 1, 3, "2021-12-01"), policy.Partial, policy.ReasonIncomplete, "2021-12-01", ""},
		{"2/3 partial", vacc("CoronaVac", 2, 3, "2021-12-01"), policy.Partial, policy.ReasonIncomplete, "2021-12-01", ""},
		// one-dose vaccines
		{"1/1 Jcovden after 14 days", vacc(jcovden, 1, 1, "2022-01-01"), policy.Full, "", "2022-01-15", "2022-09-28"},
		{"1/1 Jcovden too recent", vacc(jcovden, 1, 1, "2022-02-20"), policy.Partial, policy.ReasonTooRecent, "2022-03-06", "2022-11-17"},
		{"1/1 Convidecia", vacc("Convidecia", 1, 1, "2022-01-01"), policy.Full, "", "2022-01-15", "2022-09-28"},
		{"1/1 Comirnaty after recovery", vacc(comirnaty, 1, 1, "2022-01-01"), policy.Full, "", "2022-01-15", "2022-09-28"},
		// booster encodings
		{"3/3 booster", vacc(comirnaty, 3, 3, "2022-02-28"), policy.Booster, "", "2022-02-28", ""},
		{"3/3 booster old, no max age", vacc(comirnaty, 3, 3, "2021-01-01"), policy.Booster, "", "2021-01-01", ""},
		{"3/2 booster dn > sd", vacc("EU/1/20/1507", 3, 2, "2022-02-01"), policy.Booster, "", "2022-02-01", ""},
		{"2/1 after a one-dose vaccine", vacc(comirnaty, 2, 1, "2022-03-01"), policy.Booster, "", "2022-03-01", ""},
		{"2/1 Jcovden", vacc(jcovden, 2, 1, "2022-02-01"), policy.Booster, "", "2022-02-01", ""},
		{"2/2 Jcovden (second Jcovden dose)", vacc(jcovden, 2, 2, "2022-02-01"), policy.Booster, "", "2022-02-01", ""},
		{"4/4 second booster", vacc(comirnaty, 4, 4, "2022-02-01"), policy.Booster, "", "2022-02-01", ""},
		{"4/3 second booster", vacc(comirnaty, 4, 3, "2022-02-01"), policy.Booster, "", "2022-02-01", ""},
		{"5/2", vacc(comirnaty, 5, 2, "2022-02-01"), policy.Booster, "", "2022-02-01", ""},
		// WHO EUL vaccines used in Viet Nam, accepted by default
		{"Covishield", vacc("Covishield", 2, 2, "2022-01-01"), policy.Full, "", "2022-01-15", "2022-09-28"},
		{"Vaxzevria", vacc("EU/1/21/1529", 2, 2, "2022-01-01"), policy.Full, "", "2022-01-15", "2022-09-28"},
		{"BBIBP-CorV", vacc("BBIBP-CorV", 2, 2, "2022-01-01"), policy.Full, "", "2022-01-15", "2022-09-28"},
		{"retired Vero Cell code", vacc("Inactivated-SARS-CoV-2-Vero-Cell", 2, 2, "2022-01-01"), policy.Full, "", "2022-01-15", "2022-09-28"},
		{"CoronaVac", vacc("CoronaVac", 2, 2, "2022-01-01"), policy.Full, "", "2022-01-15", "2022-09-28"},
		{"Sputnik-V", vacc("Sputnik-V", 2, 2, "2022-01-01"), policy.Full, "", "2022-01-15", "2022-09-28"},
		{"Hayat-Vax", vacc("Hayat-Vax", 2, 2, "2022-01-01"), policy.Full, "", "2022-01-15", "2022-09-28"},
		{"Abdala 3/3 primary reads as booster", vacc("Abdala", 3, 3, "2022-01-01"), policy.Booster, "", "2022-01-01", ""},
		{"Covaxin", vacc("Covaxin", 2, 2, "2022-01-01"), policy.Full, "", "2022-01-15", "2022-09-28"},
		{"Spikevax", vacc("EU/1/20/1507", 2, 2, "2022-01-01"), policy.Full, "", "2022-01-15", "2022-09-28"},
		// refusals
		{"unknown product", vacc("Made-Up-Vax", 2, 2, "2022-01-01"), policy.NotAccepted, policy.ReasonProduct, "", ""},
		{"dose in future", vacc(comirnaty, 2, 2, "2022-03-02"), policy.NotAccepted, policy.ReasonFuture, "", ""},
		{"bad date", vacc(comirnaty, 2, 2, "2022-02-30"), policy.NotAccepted, policy.ReasonMalformed, "", ""},
		{"date-time instead of date", vacc(comirnaty, 2, 2, "2022-02-01T00:00:00Z"), policy.NotAccepted, policy.ReasonMalformed, "", ""},
		{"dose 0", vacc(comirnaty, 0, 2, "2022-01-01"), policy.NotAccepted, policy.ReasonMalformed, "", ""},
		{"nil", nil, policy.NotAccepted, policy.ReasonMalformed, "", ""},
		{"no entry", &schemas.DCC{Ver: "1.3.0"}, policy.NotAccepted, policy.ReasonMalformed, "", ""},
		{"two entries", func() *schemas.DCC {
			d := vacc(comirnaty, 2, 2, "2022-01-01")
			d.V = append(d.V, d.V[0])
			return d
		}(), policy.NotAccepted, policy.ReasonMalformed, "", ""},
		{"other disease", func() *schemas.DCC {
			d := vacc(comirnaty, 2, 2, "2022-01-01")
			d.V[0].TG = "123"
			return d
		}(), policy.NotAccepted, policy.ReasonDisease, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := p.Decide(tc.dcc, clock)
			check(t, got, tc.want, tc.reason, tc.validFrom, tc.validUntil)
		})
	}
}

func check(t *testing.T, got policy.Outcome, want policy.Decision, reason policy.Reason, from, until string) {
	t.Helper()
	if got.Decision != want || got.Reason != reason {
		t.Fatalf("got %s (%q), want %s (%q)", got.Decision, got.Reason, want, reason)
	}
	if from != "" && !got.ValidFrom.Equal(date(from)) {
		t.Errorf("ValidFrom = %v, want %s", got.ValidFrom, from)
	}
	switch {
	case until == "" && !got.ValidUntil.IsZero():
		t.Errorf("ValidUntil = %v, want none", got.ValidUntil)
	case until != "" && !got.ValidUntil.Equal(date(until)):
		t.Errorf("ValidUntil = %v, want %s", got.ValidUntil, until)
	}
}

func testCert(tt, tr, sc string) *schemas.DCC {
	return &schemas.DCC{Ver: "1.3.0", Dob: "1990-01-01", T: []schemas.Test{{
		TG: policy.DiseaseCOVID19, TT: tt, SC: sc, TR: tr, TC: "Lab", CO: "VN", IS: "MoH", CI: "URN:UVCI:01:VN:T",
	}}}
}

func TestTest(t *testing.T) {
	p := policy.Default()
	tests := []struct {
		name   string
		dcc    *schemas.DCC
		want   policy.Decision
		reason policy.Reason
		until  time.Time
	}{
		{"NAAT 71h", testCert(policy.TestNAAT, policy.ResultNegative, "2022-02-26T10:00:00Z"), policy.Tested, "", time.Date(2022, 3, 1, 10, 0, 0, 0, time.UTC)},
		{"NAAT exactly 72h", testCert(policy.TestNAAT, policy.ResultNegative, "2022-02-26T09:00:00Z"), policy.NotAccepted, policy.ReasonTestExpired, time.Date(2022, 3, 1, 9, 0, 0, 0, time.UTC)},
		{"NAAT with offset", testCert(policy.TestNAAT, policy.ResultNegative, "2022-03-01T15:30:00+07:00"), policy.Tested, "", time.Date(2022, 3, 4, 8, 30, 0, 0, time.UTC)},
		{"RAT 23h", testCert(policy.TestRAT, policy.ResultNegative, "2022-02-28T10:00:00Z"), policy.Tested, "", time.Date(2022, 3, 1, 10, 0, 0, 0, time.UTC)},
		{"RAT 25h", testCert(policy.TestRAT, policy.ResultNegative, "2022-02-28T08:00:00Z"), policy.NotAccepted, policy.ReasonTestExpired, time.Date(2022, 3, 1, 8, 0, 0, 0, time.UTC)},
		{"positive", testCert(policy.TestNAAT, "260373001", "2022-03-01T08:00:00Z"), policy.NotAccepted, policy.ReasonTestPositive, time.Time{}},
		{"unknown type", testCert("LP0000-0", policy.ResultNegative, "2022-03-01T08:00:00Z"), policy.NotAccepted, policy.ReasonTestType, time.Time{}},
		{"sample in future", testCert(policy.TestNAAT, policy.ResultNegative, "2022-03-01T09:00:01Z"), policy.NotAccepted, policy.ReasonFuture, time.Time{}},
		{"bad sc", testCert(policy.TestNAAT, policy.ResultNegative, "2022-03-01"), policy.NotAccepted, policy.ReasonMalformed, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := p.Decide(tc.dcc, clock)
			if got.Decision != tc.want || got.Reason != tc.reason {
				t.Fatalf("got %s (%q), want %s (%q)", got.Decision, got.Reason, tc.want, tc.reason)
			}
			if !got.ValidUntil.Equal(tc.until) {
				t.Errorf("ValidUntil = %v, want %v", got.ValidUntil, tc.until)
			}
		})
	}
}

func recovery(fr, df, du string) *schemas.DCC {
	return &schemas.DCC{Ver: "1.3.0", Dob: "1990-01-01", R: []schemas.Recovery{{
		TG: policy.DiseaseCOVID19, FR: fr, DF: df, DU: du, CO: "VN", IS: "MoH", CI: "URN:UVCI:01:VN:R",
	}}}
}

func TestRecovery(t *testing.T) {
	p := policy.Default()
	tests := []struct {
		name        string
		dcc         *schemas.DCC
		want        policy.Decision
		reason      policy.Reason
		from, until string
	}{
		{"inside", recovery("2022-01-01", "2022-01-12", "2022-06-30"), policy.Recovered, "", "2022-01-12", "2022-06-30"},
		{"du before 180 days", recovery("2022-01-01", "2022-01-12", "2022-03-01"), policy.Recovered, "", "2022-01-12", "2022-03-02"},
		{"du passed", recovery("2022-01-01", "2022-01-12", "2022-02-28"), policy.NotAccepted, policy.ReasonRecoveryExpired, "2022-01-12", "2022-03-01"},
		{"df in future", recovery("2022-02-20", "2022-03-02", "2022-08-01"), policy.NotAccepted, policy.ReasonRecoveryNotYet, "2022-03-02", "2022-08-02"},
		{"180 days from fr", recovery("2021-09-02", "2021-09-13", "2022-12-31"), policy.NotAccepted, policy.ReasonRecoveryExpired, "2021-09-13", "2022-03-01"},
		{"179 days from fr", recovery("2021-09-03", "2021-09-14", "2022-12-31"), policy.Recovered, "", "2021-09-14", "2022-03-02"},
		{"fr in future", recovery("2022-03-02", "2022-03-13", "2022-08-01"), policy.NotAccepted, policy.ReasonFuture, "", ""},
		{"du before df", recovery("2022-01-01", "2022-02-12", "2022-02-01"), policy.NotAccepted, policy.ReasonMalformed, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check(t, p.Decide(tc.dcc, clock), tc.want, tc.reason, tc.from, tc.until)
		})
	}
}

func TestConfigured(t *testing.T) {
	c := policy.DefaultConfig()
	c.AcceptedProducts = []string{"EU/1/20/1528"}
	c.PrimaryWaitDays = 0
	c.PrimaryMaxAgeDays = 0
	c.BoosterWaitDays = 7
	c.BoosterMaxAgeDays = 30
	p, err := policy.New(c)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		dcc    *schemas.DCC
		want   policy.Decision
		reason policy.Reason
	}{
		{"accepted product counted at once", vacc("EU/1/20/1528", 2, 2, "2022-03-01"), policy.Full, ""},
		{"no max age", vacc("EU/1/20/1528", 2, 2, "2020-12-30"), policy.Full, ""},
		{"other product refused", vacc("Covishield", 2, 2, "2022-01-01"), policy.NotAccepted, policy.ReasonProduct},
		{"booster inside its wait", vacc("EU/1/20/1528", 3, 3, "2022-02-23"), policy.Partial, policy.ReasonTooRecent},
		{"booster counted", vacc("EU/1/20/1528", 3, 3, "2022-02-22"), policy.Booster, ""},
		{"booster expired", vacc("EU/1/20/1528", 3, 3, "2022-01-30"), policy.NotAccepted, policy.ReasonBoosterExpired},
		{"RAT still accepted", testCert(policy.TestRAT, policy.ResultNegative, "2022-03-01T08:00:00Z"), policy.Tested, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := p.Decide(tc.dcc, clock)
			if got.Decision != tc.want || got.Reason != tc.reason {
				t.Fatalf("got %s (%q), want %s (%q)", got.Decision, got.Reason, tc.want, tc.reason)
			}
		})
	}
	// the policy keeps its own copy of the configuration
	c.AcceptedProducts[0] = "Covishield"
	if got := p.Decide(vacc("EU/1/20/1528", 2, 2, "2022-01-01"), clock); got.Decision != policy.Full {
		t.Errorf("policy changed with its caller's slice: %s", got.Decision)
	}
}

func TestParseConfig(t *testing.T) {
	c, err := policy.ParseConfig([]byte(`{"primary_wait_days": 21, "test_max_age_hours": {"LP6464-4": 48}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.PrimaryWaitDays != 21 || c.PrimaryMaxAgeDays != policy.DefaultPrimaryMaxAgeDays || len(c.TestMaxAgeHours) != 1 {
		t.Errorf("got %+v", c)
	}
	p, err := policy.New(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Decide(testCert(policy.TestRAT, policy.ResultNegative, "2022-03-01T08:00:00Z"), clock); got.Reason != policy.ReasonTestType {
		t.Errorf("RAT after a config without it: %+v", got)
	}
	bad := []string{
		`{"primary_wait_days": -1}`,
		`{"primary_wait_days": 300}`, // exceeds primary_max_age_days 270
		`{"booster_wait_days": 10, "booster_max_age_days": 5}`,
		`{"test_max_age_hours": {"LP6464-4": 0}}`,
		`{"accepted_products": []}`,
		`{"unknown": 1}`,
		`{} {}`,
		`[`,
		`{"recovery_max_age_days": 100000}`,
	}
	for _, b := range bad {
		if _, err := policy.ParseConfig([]byte(b)); !errors.Is(err, policy.ErrConfig) {
			t.Errorf("ParseConfig(%s) = %v, want ErrConfig", b, err)
		}
	}
}

func TestDefault(t *testing.T) {
	if _, err := policy.New(policy.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	if _, err := policy.New(policy.DefaultConfig(), policy.WithValueSets(nil)); !errors.Is(err, policy.ErrConfig) {
		t.Errorf("nil value sets: %v", err)
	}
}

func TestDecisionAccepted(t *testing.T) {
	for d, want := range map[policy.Decision]bool{
		policy.Full: true, policy.Booster: true, policy.Recovered: true, policy.Tested: true,
		policy.Partial: false, policy.NotAccepted: false,
	} {
		if d.Accepted() != want {
			t.Errorf("%s.Accepted() = %v", d, !want)
		}
	}
}

func TestMessages(t *testing.T) {
	for _, r := range []policy.Reason{policy.ReasonNone, policy.ReasonMalformed, policy.ReasonDisease, policy.ReasonProduct,
		policy.ReasonFuture, policy.ReasonIncomplete, policy.ReasonTooRecent, policy.ReasonPrimaryExpired,
		policy.ReasonBoosterExpired, policy.ReasonTestType, policy.ReasonTestPositive, policy.ReasonTestExpired,
		policy.ReasonRecoveryNotYet, policy.ReasonRecoveryExpired, policy.ReasonRulesFailed, policy.ReasonNoRules,
		policy.ReasonRulesExpired, "other"} {
		m := r.Message()
		if m.VI == "" || m.EN == "" || m.VI == m.EN {
			t.Errorf("%q: message %+v", r, m)
		}
	}
}
