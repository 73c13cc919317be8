package offline_test

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/verifier"
	"github.com/vaxcert/vaxcert/verifier/offline"
)

func pemOf(der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}) }

func issue(t *testing.T, pki *testkit.PKI, rec issuer.Record) string {
	t.Helper()
	c, err := pki.Issuer(t).Issue(rec)
	if err != nil {
		t.Fatal(err)
	}
	return c.HC1
}

func session(t *testing.T, pki *testkit.PKI) *offline.Session {
	t.Helper()
	s, err := offline.NewSession(pemOf(pki.CSCA.Cert.Raw), pemOf(pki.DSC.Cert.Raw), nil, testkit.Now, offline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyAnswers(t *testing.T) {
	pki := testkit.NewPKI(t)
	s := session(t, pki)
	full := issue(t, pki, testkit.Record())
	partialRec := testkit.Record()
	partialRec.Doses = partialRec.Doses[:1]
	partial := issue(t, pki, partialRec)
	later := testkit.Now.Add(time.Hour)

	a := s.Verify([]byte(full), later)
	if !a.Valid || a.Decision != offline.DecisionFull || a.Reason != "" || a.Message.EN != "Fully vaccinated" ||
		a.Holder == nil || a.Holder.Name != "Nguyễn Văn Đức" || a.Holder.BirthDate != "1990-04-12" ||
		a.DataAgeSeconds != 3600 || a.Stale || a.ValidUntil == "" {
		t.Fatalf("full: %+v %+v", a, a.Holder)
	}
	if a := s.Verify([]byte(partial), later); !a.Valid || a.Decision != offline.DecisionPartial || a.Holder == nil {
		t.Fatalf("partial: %+v", a)
	}
	// Expired: a year and a day later.
	a = s.Verify([]byte(full), testkit.Now.AddDate(1, 0, 1))
	if a.Valid || a.Decision != offline.DecisionInvalid || a.Reason != string(verifier.ReasonExpired) ||
		a.Message.VI != "Chứng nhận đã hết hạn" || a.Holder != nil || !a.Stale {
		t.Fatalf("expired: %+v", a)
	}
	a = s.Verify([]byte(testkit.Tamper(t, full)), later)
	if a.Valid || a.Reason != string(verifier.ReasonBadSignature) || a.Holder != nil || a.ValidUntil != "" {
		t.Fatalf("tampered: %+v", a)
	}
	// The JSON form has the members of the verifier service's answer, and
	// no holder when invalid.
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"decision", "valid", "reason", "message", "data_age_seconds", "stale"} {
		if _, ok := m[k]; !ok {
			t.Errorf("answer JSON lacks %q: %s", k, b)
		}
	}
	if _, ok := m["holder"]; ok {
		t.Errorf("invalid answer has a holder: %s", b)
	}
	// Stale after DefaultStaleAfter, still verified.
	if a := s.Verify([]byte(full), testkit.Now.Add(offline.DefaultStaleAfter+time.Minute)); !a.Stale || !a.Valid {
		t.Fatalf("stale: %+v", a)
	}
}

func TestListsCheckedAgainstRoot(t *testing.T) {
	pki, other := testkit.NewPKI(t), testkit.NewPKI(t)
	root := pemOf(pki.CSCA.Cert.Raw)
	_, err := offline.NewSession(root, pemOf(other.DSC.Cert.Raw), nil, testkit.Now, offline.Options{})
	if !errors.Is(err, offline.ErrTrustList) {
		t.Fatalf("DSC of another CSCA: %v", err)
	}
	if _, err := offline.NewSession(pemOf(pki.DSC.Cert.Raw), pemOf(pki.DSC.Cert.Raw), nil, testkit.Now, offline.Options{}); !errors.Is(err, offline.ErrRoot) {
		t.Fatalf("a DSC as root: %v", err)
	}
	if _, err := offline.NewSession(root, []byte("not PEM"), nil, testkit.Now, offline.Options{}); !errors.Is(err, offline.ErrTrustList) {
		t.Fatalf("garbage list: %v", err)
	}
	// A refused update keeps the lists in use.
	s := session(t, pki)
	if err := s.Update(pemOf(other.DSC.Cert.Raw), nil, testkit.Now); !errors.Is(err, offline.ErrTrustList) {
		t.Fatalf("update with a foreign DSC: %v", err)
	}
	if a := s.Verify([]byte(issue(t, pki, testkit.Record())), testkit.Now); !a.Valid {
		t.Fatalf("after a refused update: %+v", a)
	}
	// An accepted update replaces them.
	if err := s.Update(pemOf(pki.DSC.Cert.Raw), nil, testkit.Now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if a := s.Verify([]byte(issue(t, pki, testkit.Record())), testkit.Now.Add(time.Hour)); a.DataAgeSeconds != 0 {
		t.Fatalf("after an update: %+v", a)
	}
}
