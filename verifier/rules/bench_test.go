package rules_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier/rules"
)

// twentyRules is a realistic 20-rule set for a vaccination certificate:
// the VN rule set's vaccination and general rules and real EU, DE, AT and
// CZ vaccination and general rules, as a venue that also checks travel
// rules would hold.
func twentyRules(b *testing.B) rules.Selected {
	vn, err := rules.LoadDir(os.DirFS(vnRules))
	if err != nil {
		b.Fatal(err)
	}
	real, err := rules.LoadDir(os.DirFS("../../../shared/testdata/rules"))
	if err != nil {
		b.Fatal(err)
	}
	var sel rules.Selected
	for _, r := range append(vn.Rules, real.Rules...) {
		if (r.CertificateType == rules.TypeVaccination || r.CertificateType == rules.TypeGeneral) && len(sel) < 20 {
			sel = append(sel, r)
		}
	}
	if len(sel) != 20 {
		b.Fatalf("%d rules", len(sel))
	}
	return sel
}

var benchDCC = &schemas.DCC{Ver: "1.3.0", Nam: schemas.Name{FN: "Nguyễn", FNT: "NGUYEN", GN: "Văn Đức", GNT: "VAN<DUC"}, Dob: "1990-04-12",
	V: []schemas.Vaccination{{TG: "840539006", VP: "1119349007", MP: "EU/1/20/1528", MA: "ORG-100030215", DN: 3, SD: 3,
		DT: "2022-01-10", CO: "VN", IS: "Ministry of Health of Viet Nam", CI: "URN:UVCI:01:VN:V8MPRVE7IS276#M"}}}

// BenchmarkRuleSet20 evaluates 20 rules on one certificate, building the
// data (payload and external) as the rules check does for each
// certificate. Its yardstick is BenchmarkBareECDSAP256Verify.
func BenchmarkRuleSet20(b *testing.B) {
	sel := twentyRules(b)
	vs := rules.ValueSetsData(schemas.DefaultValueSets())
	at := time.Date(2022, 3, 1, 9, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	defer testkit.ReportCPU(b)() // CPU time of the loop: make ratios reads it
	for b.Loop() {
		data := rules.Data(rules.PayloadFromDCC(benchDCC), rules.External{ValueSets: vs, ValidationClock: at, CountryCode: "VN",
			Exp: at.AddDate(1, 0, 0), Iat: at.AddDate(0, -1, 0)})
		rep := sel.Evaluate(data)
		if len(rep.Results) != 20 || slices.ContainsFunc(rep.Results, func(r rules.Result) bool { return r.Outcome == rules.Open }) {
			b.Fatal("a rule did not evaluate")
		}
	}
}

// BenchmarkRuleSet20Interleaved runs the 20-rule evaluation and the bare
// ECDSA P-256 verify alternately in one loop and reports the ratio of the
// time spent in each ("rules/ecdsa"): on a shared machine both see the same
// load, which back-to-back benchmarks do not.
func BenchmarkRuleSet20Interleaved(b *testing.B) {
	sel := twentyRules(b)
	vs := rules.ValueSetsData(schemas.DefaultValueSets())
	at := time.Date(2022, 3, 1, 9, 0, 0, 0, time.UTC)
	pki := testkit.NewPKI(b)
	msg := make([]byte, 330)
	d := sha256.Sum256(msg)
	sig, err := pki.DSC.Signer().Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		b.Fatal(err)
	}
	pub := pki.DSC.Cert.PublicKey.(*ecdsa.PublicKey)
	var inRules, inECDSA time.Duration
	for b.Loop() {
		t0 := time.Now()
		data := rules.Data(rules.PayloadFromDCC(benchDCC), rules.External{ValueSets: vs, ValidationClock: at, CountryCode: "VN",
			Exp: at.AddDate(1, 0, 0), Iat: at.AddDate(0, -1, 0)})
		if rep := sel.Evaluate(data); len(rep.Results) != 20 {
			b.Fatal("not 20 results")
		}
		t1 := time.Now()
		d := sha256.Sum256(msg)
		if !ecdsa.VerifyASN1(pub, d[:], sig) {
			b.Fatal("verify failed")
		}
		t2 := time.Now()
		inRules += t1.Sub(t0)
		inECDSA += t2.Sub(t1)
	}
	b.ReportMetric(float64(inRules)/float64(inECDSA), "rules/ecdsa")
	b.ReportMetric(float64(inRules.Nanoseconds())/float64(b.N), "rules-ns/op")
	b.ReportMetric(float64(inECDSA.Nanoseconds())/float64(b.N), "ecdsa-ns/op")
}

// BenchmarkBareECDSAP256Verify is the yardstick: the signature check every
// verification pays (the same as verifier's).
func BenchmarkBareECDSAP256Verify(b *testing.B) {
	pki := testkit.NewPKI(b)
	msg := make([]byte, 330)
	d := sha256.Sum256(msg)
	sig, err := pki.DSC.Signer().Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		b.Fatal(err)
	}
	pub := pki.DSC.Cert.PublicKey.(*ecdsa.PublicKey)
	b.ReportAllocs()
	defer testkit.ReportCPU(b)() // CPU time of the loop: make ratios reads it
	for b.Loop() {
		d := sha256.Sum256(msg)
		if !ecdsa.VerifyASN1(pub, d[:], sig) {
			b.Fatal("verify failed")
		}
	}
}

// BenchmarkLoadCorpus loads the whole rules corpus: the 55 real EU, DE, AT
// and CZ rules and the 14 VN rules, from disk, validated and compiled.
func BenchmarkLoadCorpus(b *testing.B) {
	for b.Loop() {
		for _, dir := range []string{"../../../shared/testdata/rules", vnRules} {
			if _, err := rules.LoadDir(os.DirFS(dir)); err != nil {
				b.Fatal(err)
			}
		}
	}
}
