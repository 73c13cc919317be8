// Package policy decides what a verified EU DCC means at a venue: whether
// its holder counts as fully vaccinated, partly vaccinated, boosted,
// recovered or tested, or is not accepted.
//
//	p, err := policy.New(policy.DefaultConfig())
//	res, err := v.Verify(qr, now)           // the technical checks first
//	if err == nil {
//		out := p.Decide(res.DCC, res.CheckedAt)
//		// out.Decision, out.Reason, out.ValidUntil, out.Reason.Message()
//	}
//
// A Policy looks only at the payload and the instant it is given: it does
// not check signatures, expiry of the CWT or revocation. Call it only on a
// certificate the verifier found valid; the caller caps
// [Outcome.ValidUntil] with the certificate's own expiry.
//
// # Decisions
//
// Vaccination (v[0]), with dn the dose number, sd the doses in the series:
//
//	booster    dn > sd (3/2, 2/1 after a one-dose vaccine, 4/3 …); dn = sd ≥ 3
//	           (3/3, the EU encoding of a first booster); dn ≥ 2 of a
//	           one-dose product (2/2 Jcovden); valid BoosterWaitDays after
//	           the dose (default 0), for BoosterMaxAgeDays (default: no limit)
//	full       dn = sd < 3 (2/2, 1/1): a complete primary series, counted
//	           PrimaryWaitDays after the last dose (default 14) and for
//	           PrimaryMaxAgeDays (default 270, the EU acceptance period)
//	partial    dn < sd, or a complete primary series still inside its wait
//	not_accepted  product not accepted, disease not COVID-19, a date in the
//	           future or unreadable, or a primary series or booster too old
//
// Test (t[0]): tested when the result is "not detected", the test type is
// accepted and the sample was taken at most TestMaxAgeHours before (72 h
// for NAAT, 24 h for a rapid antigen test, EU Council Recommendation
// 2022/107); otherwise not_accepted.
//
// Recovery (r[0]): recovered from df to du, and at most
// RecoveryMaxAgeDays (default 180) after the first positive test fr.
//
// Dates (YYYY-MM-DD) are read as midnight UTC, as CertLogic's plusTime
// reads them, so that the Viet Nam rule set (verifier/rules/sets/VN) and this package
// decide alike; a test holds the two equal.
//
// # Accepted products
//
// By default every product listed in the vaccine value set
// (vaccines-covid-19-names) is accepted, active or retired: this includes
// the WHO EUL vaccines used in Viet Nam (Covishield, BBIBP-CorV and its
// retired code Inactivated-SARS-CoV-2-Vero-Cell, CoronaVac, Sputnik-V,
// Hayat-Vax, Abdala, Covaxin …). [Config.AcceptedProducts] narrows it.
//
// # Security considerations
//
// Decide never fails and never panics: anything it cannot read is
// not_accepted with a [Reason]. Reasons and messages never contain payload
// data.
//
// A Policy is immutable and safe for concurrent use.
package policy
