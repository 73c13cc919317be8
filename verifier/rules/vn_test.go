package rules_test

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier"
	"github.com/vaxcert/vaxcert/verifier/policy"
	"github.com/vaxcert/vaxcert/verifier/rules"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

// vnRules is Viet Nam's venue policy as a CertLogic rule set.
const vnRules = "sets"

func loadVN(t testing.TB) *rules.Set {
	t.Helper()
	set, err := rules.LoadDir(os.DirFS(vnRules))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Rules) == 0 {
		t.Fatal("no VN rules")
	}
	return set
}

// generated returns certificates around the clock at: every product of the
// value set (and an unknown one) with every dose encoding, dates around the
// policy's boundaries; tests of each type and result around their windows;
// recoveries around theirs.
func generated(at time.Time) []*schemas.DCC {
	day := func(n int) string { return at.AddDate(0, 0, n).Format(time.DateOnly) }
	var out []*schemas.DCC
	products := append(schemas.DefaultValueSets().Set(schemas.SetVaccineProduct).Codes(), "Made-Up-Vax")
	offsets := []int{-400, -271, -270, -269, -268, -100, -15, -14, -13, -1, 0, 1, 30}
	for _, mp := range products {
		for dn := 1; dn <= 4; dn++ {
			for sd := 1; sd <= 3; sd++ {
				for _, off := range offsets {
					for _, tg := range []string{policy.DiseaseCOVID19, "1234"} {
						if tg != policy.DiseaseCOVID19 && (dn != 2 || sd != 2) {
							continue
						}
						out = append(out, &schemas.DCC{Ver: "1.3.0", Dob: "1990-04-12", V: []schemas.Vaccination{{
							TG: tg, VP: "1119349007", MP: mp, MA: "ORG-100030215", DN: dn, SD: sd, DT: day(off),
							CO: "VN", IS: "MoH", CI: "URN:UVCI:01:VN:G"}}})
					}
				}
			}
		}
	}
	for _, tt := range []string{policy.TestNAAT, policy.TestRAT, "LP0000-0"} {
		for _, tr := range []string{policy.ResultNegative, "260373001"} {
			for _, h := range []float64{-100, -72.001, -72, -71.999, -48, -24.5, -24, -23.9, -1, 0, 0.001, 5} {
				sc := at.Add(time.Duration(h * float64(time.Hour))).Truncate(time.Second)
				for _, zone := range []*time.Location{time.UTC, time.FixedZone("ICT", 7*3600)} {
					out = append(out, &schemas.DCC{Ver: "1.3.0", Dob: "1990", T: []schemas.Test{{
						TG: policy.DiseaseCOVID19, TT: tt, SC: sc.In(zone).Format(time.RFC3339), TR: tr, TC: "Lab",
						CO: "VN", IS: "MoH", CI: "URN:UVCI:01:VN:T"}}})
				}
			}
		}
	}
	for _, fr := range []int{-200, -181, -180, -179, -100, -12, -11, -10, 0, 1} {
		for _, dfOff := range []int{0, 11} {
			for _, duOff := range []int{-1, 0, 10, 150, 179, 180, 365} {
				for _, tg := range []string{policy.DiseaseCOVID19, "1234"} {
					out = append(out, &schemas.DCC{Ver: "1.3.0", Dob: "1990-04", R: []schemas.Recovery{{
						TG: tg, FR: day(fr), DF: day(fr + dfOff), DU: day(fr + duOff), CO: "VN", IS: "MoH", CI: "URN:UVCI:01:VN:R"}}})
				}
			}
		}
	}
	return out
}

// TestVNRulesEqualPolicy holds the native policy (verifier/policy with its
// defaults) and the VN rule set equal: a certificate is accepted (full,
// booster, recovered or tested) exactly when every selected VN rule passes,
// on generated certificates at several clocks, boundaries included.
func TestVNRulesEqualPolicy(t *testing.T) {
	set := loadVN(t)
	p := policy.Default()
	vs := rules.ValueSetsData(schemas.DefaultValueSets())
	clocks := []time.Time{
		time.Date(2022, 3, 1, 9, 0, 0, 0, time.UTC),
		time.Date(2022, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2022, 2, 28, 23, 59, 59, 999_000_000, time.UTC),
		time.Date(2024, 2, 29, 17, 30, 0, 0, time.UTC),
	}
	n, accepted := 0, 0
	for _, at := range clocks {
		for _, d := range generated(at) {
			n++
			want := p.Decide(d, at)
			sel := set.Select(rules.Selection{Country: "VN", CertType: rules.CertType(d.Type()), At: at})
			rep := sel.Evaluate(rules.Data(rules.PayloadFromDCC(d), rules.External{ValueSets: vs, ValidationClock: at, CountryCode: "VN"}))
			if len(sel) == 0 {
				t.Fatalf("no VN rule for %s", d.Type())
			}
			if rep.Passed() != want.Decision.Accepted() {
				var failed []string
				for _, f := range rep.Failed() {
					failed = append(failed, fmt.Sprintf("%s(%s %v)", f.Rule.Identifier, f.Outcome, f.Err))
				}
				t.Errorf("at %s, %+v %+v %+v: policy %s (%s), rules passed %v, failed %v",
					at.Format(time.RFC3339Nano), d.V, d.T, d.R, want.Decision, want.Reason, rep.Passed(), failed)
				if t.Failed() && n > 20 {
					t.FailNow()
				}
			}
			if want.Decision.Accepted() {
				accepted++
			}
		}
	}
	if accepted == 0 || accepted == n {
		t.Errorf("%d of %d accepted: the generator does not cover both outcomes", accepted, n)
	}
	t.Logf("%d generated certificates, %d accepted, policy and VN rules agree on all", n, accepted)
}

// TestRulesCheck runs the VN rules as the verifier's rules check on issued
// certificates: an old primary series fails VR-VN-0004 with its
// descriptions, a recent booster passes.
func TestRulesCheck(t *testing.T) {
	pki := testkit.NewPKI(t)
	iss := pki.Issuer(t)
	check, err := rules.NewCheck(loadVN(t), "VN")
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(pki.Trust, verifier.WithCheck(check))
	if err != nil {
		t.Fatal(err)
	}

	old, err := iss.Issue(testkit.Record()) // 2/2 in 2021, verified in 2026
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify([]byte(old.HC1), testkit.Now)
	var verr *verifier.Error
	if !errors.As(err, &verr) || verr.Check != verifier.CheckRules || verr.Reason != rules.ReasonRulesFailed {
		t.Fatalf("old series: %v", err)
	}
	failed := rules.FailedRules(res)
	if len(failed) != 1 || failed[0].Identifier != "VR-VN-0004" || failed[0].Outcome != rules.Fail ||
		failed[0].Description.VI == "" || failed[0].Description.EN == "" {
		t.Errorf("failed rules %+v", failed)
	}
	if res.Report().Checks["rules"] != "fail" || res.Valid() {
		t.Errorf("report %+v", res.Report())
	}

	rec := testkit.Record()
	rec.Doses = append(rec.Doses, issuer.Dose{RecordID: "r3", Site: "HN-001", Product: "EU/1/20/1528", Manufacturer: "ORG-100030215",
		Lot: "FF9999", DoseNumber: 3, SeriesDoses: 3, Date: "2026-05-01", Country: "VN", Status: issuer.StatusFinalised})
	booster, err := iss.Issue(rec)
	if err != nil {
		t.Fatal(err)
	}
	res, err = v.Verify([]byte(booster.HC1), testkit.Now)
	if err != nil || !res.Valid() || res.Status(verifier.CheckRules) != verifier.StatusPass || rules.FailedRules(res) != nil {
		t.Fatalf("booster: %v, %+v", err, res.Report())
	}

	// a country without rules fails closed
	de, err := rules.NewCheck(loadVN(t), "DE")
	if err != nil {
		t.Fatal(err)
	}
	v, _ = verifier.New(pki.Trust, verifier.WithCheck(de))
	if _, err := v.Verify([]byte(booster.HC1), testkit.Now); !errors.As(err, &verr) || verr.Reason != rules.ReasonNoRules {
		t.Errorf("no rules for DE: %v", err)
	}
	for _, c := range []string{"", "vn", "VNM"} {
		if _, err := rules.NewCheck(loadVN(t), c); err == nil {
			t.Errorf("country %q accepted", c)
		}
	}
	if _, err := rules.NewCheck(&rules.Set{}, "VN"); err == nil {
		t.Error("empty set accepted")
	}
}

// TestCheckConcurrent: one Check serves concurrent verifications (run
// with -race).
func TestCheckConcurrent(t *testing.T) {
	check, err := rules.NewCheck(loadVN(t), "VN")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2022, 3, 1, 9, 0, 0, 0, time.UTC)
	certs := generated(at)[:400]
	want := make([]bool, len(certs))
	for i, d := range certs {
		want[i] = check.Check(&verifier.Certificate{DCC: d, Type: d.Type(), Issuer: "VN", CheckedAt: at}) == nil
	}
	done := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for i, d := range certs {
				if got := check.Check(&verifier.Certificate{DCC: d, Type: d.Type(), Issuer: "VN", CheckedAt: at}) == nil; got != want[i] {
					done <- fmt.Errorf("certificate %d: %v, want %v", i, got, want[i])
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestVenueAnswer: with the VN rules as the verifier's rules check, the
// venue answer for a certificate the rules refuse is not_accepted (it is
// authentic), with the rules' reason and message; a recent booster is
// accepted.
func TestVenueAnswer(t *testing.T) {
	pki := testkit.NewPKI(t)
	check, err := rules.NewCheck(loadVN(t), "VN")
	if err != nil {
		t.Fatal(err)
	}
	c, err := venue.NewChecker(nil, 0, verifier.WithCheck(check))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetState(pki.State(t, pki.ListSigner(t), testkit.Now.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	iss := pki.Issuer(t)
	old, err := iss.Issue(testkit.Record()) // last dose 2021: VR-VN-0004 fails in 2026
	if err != nil {
		t.Fatal(err)
	}
	a, _ := c.Check([]byte(old.HC1), testkit.Now)
	if a.Decision != string(policy.NotAccepted) || a.Reason != string(rules.ReasonRulesFailed) || a.Valid ||
		a.Message.EN != policy.ReasonRulesFailed.Message().EN {
		t.Errorf("old series: %+v", a)
	}
	rec := testkit.Record()
	rec.Doses = append(rec.Doses, issuer.Dose{RecordID: "r3", Site: "HN-001", Product: "EU/1/20/1528", Manufacturer: "ORG-100030215",
		Lot: "FF9999", DoseNumber: 3, SeriesDoses: 3, Date: "2026-05-01", Country: "VN", Status: issuer.StatusFinalised})
	booster, err := iss.Issue(rec)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := c.Check([]byte(booster.HC1), testkit.Now); a.Decision != string(policy.Booster) || !a.Valid {
		t.Errorf("booster: %+v", a)
	}
	// the policy package knows the rules check's reasons
	for _, r := range []verifier.Reason{rules.ReasonRulesFailed, rules.ReasonNoRules, rules.ReasonRulesExpired} {
		if out, ok := rules.Refused(resultWith(t, r)); !ok || string(out.Reason) != string(r) || out.Reason.Message() == policy.Reason("unknown").Message() {
			t.Errorf("%s: %+v %v", r, out, ok)
		}
	}
}

// failingRules is a rules check that always fails with one reason.
type failingRules verifier.Reason

func (failingRules) Name() verifier.Check { return verifier.CheckRules }
func (f failingRules) Check(*verifier.Certificate) error {
	return &verifier.Error{Check: verifier.CheckRules, Reason: verifier.Reason(f)}
}

// resultWith verifies a valid certificate with a rules check that fails
// with reason r.
func resultWith(t *testing.T, r verifier.Reason) *verifier.Result {
	t.Helper()
	pki := testkit.NewPKI(t)
	cert, err := pki.Issuer(t).Issue(testkit.Record())
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(pki.Trust, verifier.WithCheck(failingRules(r)))
	if err != nil {
		t.Fatal(err)
	}
	res, _ := v.Verify([]byte(cert.HC1), testkit.Now)
	if res.Reason() != r {
		t.Fatalf("reason %q, want %q", res.Reason(), r)
	}
	return res
}
