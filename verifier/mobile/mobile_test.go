package mobile_test

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/listsign"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/internal/verifysync"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/mobile"
	"github.com/vaxcert/vaxcert/verifier/rules"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

func TestVerifier(t *testing.T) {
	now := testkit.Now
	pki := testkit.NewPKI(t)
	signer := pki.ListSigner(t)
	cert, err := pki.Issuer(t).Issue(testkit.RecentRecord(now))
	if err != nil {
		t.Fatal(err)
	}
	lists := func(seq uint64, revoked ...listsign.Revoked) (trust, rev []byte) {
		trust, err := signer.TrustList(testkit.ListClaims(seq, now.Add(-time.Hour)), []listsign.DSC{{Cert: pki.DSC.Cert}})
		if err != nil {
			t.Fatal(err)
		}
		if rev, err = signer.RevocationList(testkit.ListClaims(seq, now.Add(-time.Hour)), 0, revoked); err != nil {
			t.Fatal(err)
		}
		return trust, rev
	}
	trust, rev := lists(1)
	root := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.CSCA.Cert.Raw})
	v, err := mobile.NewVerifier(root, trust, rev, "", 0, now.Unix())
	if err != nil {
		t.Fatal(err)
	}
	r := v.Verify(cert.HC1, now.Unix())
	if r.Decision != "full" || !r.Valid || r.Reason != "" || r.HolderName != "Nguyễn Văn Đức" || r.HolderBirthDate != "1990-04-12" ||
		r.ValidUntil <= now.Unix() || r.ValidUntil > cert.ExpiresAt.Unix() || r.DataAgeSeconds != 3600 || r.Stale || r.MessageVI == "" || r.MessageEN == "" {
		t.Fatalf("valid: %+v", r)
	}
	var payload struct {
		Nam struct{ FN string } `json:"nam"`
	}
	if err := json.Unmarshal([]byte(r.PayloadJSON), &payload); err != nil || payload.Nam.FN != "Nguyễn" {
		t.Fatalf("payload %q: %v", r.PayloadJSON, err)
	}
	// AnswerJSON is the verifier service's answer.
	var a venue.Answer
	if err := json.Unmarshal([]byte(r.AnswerJSON), &a); err != nil || a.Decision != "full" || a.Holder == nil ||
		a.ValidUntil == nil || a.ValidUntil.Unix() != r.ValidUntil {
		t.Fatalf("answer JSON %q: %v", r.AnswerJSON, err)
	}

	r = v.Verify(testkit.Tamper(t, cert.HC1), now.Unix())
	if r.Decision != "invalid" || r.Valid || r.Reason != "bad_signature" || r.PayloadJSON != "" || r.HolderName != "" {
		t.Fatalf("tampered: %+v", r)
	}

	// An update with a newer revocation list; an empty trust list keeps the one held.
	hs, err := trustpub.Hashes(cert.UVCI, cert.COSE)
	if err != nil {
		t.Fatal(err)
	}
	_, rev2 := lists(2, listsign.Revoked{Hashes: hs, Expires: cert.ExpiresAt})
	if err := v.Update(nil, rev2, now.Unix()); err != nil {
		t.Fatal(err)
	}
	if r := v.Verify(cert.HC1, now.Unix()); r.Decision != "revoked" || r.PayloadJSON != "" || r.HolderName != "" {
		t.Fatalf("revoked: %+v", r)
	}
	if err := v.Update([]byte{}, rev, now.Unix()); err == nil {
		t.Fatal("rollback accepted")
	}
	in := v.Info(now.Unix())
	if !in.Usable || in.TrustSequence != 1 || in.RevocationSequence != 2 || in.ExpiresAt != now.Add(47*time.Hour).Unix() {
		t.Fatalf("info: %+v", in)
	}
	if in := v.Info(now.Add(72 * time.Hour).Unix()); in.Usable || in.Problem == "" {
		t.Fatalf("info after expiry: %+v", in)
	}

	// A policy: the second dose must be 100 days old, so the certificate
	// (second dose 60 days ago) is not yet accepted.
	strict, err := mobile.NewVerifier(root, trust, rev, `{"primary_wait_days": 100}`, 0, now.Unix())
	if err != nil {
		t.Fatal(err)
	}
	if r := strict.Verify(cert.HC1, now.Unix()); r.Valid || r.Decision == "full" || r.PayloadJSON == "" {
		t.Fatalf("strict policy: %+v", r)
	}
	if _, err := mobile.NewVerifier(root, trust, rev, `{"no_such_setting": 1}`, 0, now.Unix()); err == nil {
		t.Fatal("unknown policy setting accepted")
	}
	if _, err := mobile.NewVerifier([]byte("x"), trust, rev, "", 0, now.Unix()); err == nil || !strings.Contains(err.Error(), "root") {
		t.Fatalf("bad root: %v", err)
	}
}

// venueRule is a gateway rule envelope for VN vaccination certificates.
func venueRule(t *testing.T, id, logic string) json.RawMessage {
	b, err := json.Marshal(map[string]any{
		"Identifier": id, "Type": "Acceptance", "Country": "VN", "Version": "1.0.0", "SchemaVersion": "1.3.0",
		"Engine": "CERTLOGIC", "EngineVersion": "1.3.3", "CertificateType": "Vaccination",
		"Description": []any{map[string]any{"lang": "en", "desc": "The rule " + id + " of the venue."}},
		"ValidFrom":   "2021-06-01T00:00:00Z", "ValidTo": "2030-06-01T00:00:00Z", "AffectedFields": []any{"v.0"},
		"Logic": json.RawMessage(logic),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerifierRuleSet: the app applies the signed rule set the verifier
// service applies and answers as the service does (the same answer JSON),
// also when a rule fails; a rolled-back or foreign set is refused and the
// one applied stays; an expired set stops accepting certificates.
func TestVerifierRuleSet(t *testing.T) {
	now := testkit.Now
	pki := testkit.NewPKI(t)
	signer := pki.ListSigner(t)
	cert, err := pki.Issuer(t).Issue(testkit.RecentRecord(now)) // two doses
	if err != nil {
		t.Fatal(err)
	}
	trust, err := signer.TrustList(testkit.ListClaims(1, now.Add(-time.Hour)), []listsign.DSC{{Cert: pki.DSC.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := signer.RevocationList(testkit.ListClaims(1, now.Add(-time.Hour)), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	root := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.CSCA.Cert.Raw})
	v, err := mobile.NewVerifier(root, trust, rev, "", 0, now.Unix())
	if err != nil {
		t.Fatal(err)
	}
	// The verifier service's checker over the same lists, applying rule
	// sets as its sync does.
	service, err := venue.NewChecker(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := service.SetState(pki.State(t, signer, now.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	covid := venueRule(t, "VR-VN-0001", `{"===": [{"var": "payload.v.0.tg"}, "840539006"]}`)
	booster := venueRule(t, "VR-VN-0099", `{">=": [{"var": "payload.v.0.dn"}, 3]}`)
	sign := func(seq uint64, iat time.Time, r ...json.RawMessage) []byte {
		b, err := signer.RuleSet(testkit.ListClaims(seq, iat), r, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	same := func(name string, set []byte, decision, reason string) {
		t.Helper()
		if set != nil {
			s, err := rules.OpenSigned(set, pki.CSCA.Cert, now, lists.Version{})
			if err == nil {
				err = verifysync.Rules{Checker: service}.Apply(s)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		r := v.Verify(cert.HC1, now.Unix())
		a, _ := service.Check([]byte(cert.HC1), now)
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if r.Decision != decision || r.Reason != reason || r.AnswerJSON != string(b) {
			t.Errorf("%s: app %s/%s %s, service %s, want %s/%s", name, r.Decision, r.Reason, r.AnswerJSON, b, decision, reason)
		}
	}

	first := sign(1, now.Add(-time.Hour), covid)
	if err := v.UpdateRuleSet(first, "", ""); err != nil {
		t.Fatal(err)
	}
	same("rules met", first, "full", "")
	// A booster is required: two doses no longer do, for the app as for the service.
	if err := v.UpdateRuleSet(sign(2, now.Add(-time.Minute), covid, booster), "", ""); err != nil {
		t.Fatal(err)
	}
	same("rule failed", sign(2, now.Add(-time.Minute), covid, booster), "not_accepted", "rules_failed")
	if in := v.Info(now.Unix()); in.RuleSetSequence != 2 {
		t.Errorf("info: rule set sequence %d, want 2", in.RuleSetSequence)
	}
	// The first set replayed is a rollback; another root's set is refused.
	if err := v.UpdateRuleSet(first, "", ""); !errors.Is(err, lists.ErrRollback) {
		t.Fatalf("rolled-back rule set: %v", err)
	}
	other := testkit.NewPKI(t)
	foreign, err := other.ListSigner(t).RuleSet(testkit.ListClaims(3, now.Add(-time.Minute)), []json.RawMessage{covid}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.UpdateRuleSet(foreign, "", ""); err == nil {
		t.Fatal("another root's rule set accepted")
	}
	if err := v.UpdateRuleSet([]byte("not a JWS"), "", ""); err == nil {
		t.Fatal("garbage accepted as a rule set")
	}
	same("after refusals", nil, "not_accepted", "rules_failed")
	// A newer set that has expired since (signed three days ago, valid two)
	// applies, and refuses every certificate, as on the service.
	expired := sign(4, now.Add(-72*time.Hour), covid)
	if err := v.UpdateRuleSet(expired, "", ""); err != nil {
		t.Fatal(err)
	}
	s, err := rules.OpenSigned(expired, pki.CSCA.Cert, now.Add(-72*time.Hour), lists.Version{}) // as the service's restart
	if err == nil {
		err = verifysync.Rules{Checker: service}.Apply(s)
	}
	if err != nil {
		t.Fatal(err)
	}
	same("expired rule set", nil, "not_accepted", "rules_expired")
	// Another venue country: no acceptance rule of it applies, which the
	// rules refuse (no rules selected), as on the service.
	if err := v.UpdateRuleSet(sign(5, now.Add(-time.Minute), covid), "DE", ""); err != nil {
		t.Fatal(err)
	}
	r := v.Verify(cert.HC1, now.Unix())
	if r.Decision != "not_accepted" || r.Valid {
		t.Errorf("venue in DE with VN rules: %+v", r)
	}
}
