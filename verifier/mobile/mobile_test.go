package mobile_test

import (
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/listsign"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/verifier/mobile"
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
