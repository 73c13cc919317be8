package offline_test

import (
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/listsign"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/offline"
)

var now = testkit.Now

func pemOf(der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}) }

// signedLists returns a trust list of the PKI's DSC and a revocation list
// of revoked, sequence seq, issued at iat.
func signedLists(t *testing.T, pki *testkit.PKI, s *listsign.Signer, seq uint64, iat time.Time, revoked ...listsign.Revoked) (trust, rev []byte) {
	t.Helper()
	trust, err := s.TrustList(testkit.ListClaims(seq, iat), []listsign.DSC{{Cert: pki.DSC.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	if rev, err = s.RevocationList(testkit.ListClaims(seq, iat), 0, revoked); err != nil {
		t.Fatal(err)
	}
	return trust, rev
}

func TestSession(t *testing.T) {
	pki := testkit.NewPKI(t)
	signer := pki.ListSigner(t)
	iss := pki.Issuer(t)
	cert, err := iss.Issue(testkit.RecentRecord(now))
	if err != nil {
		t.Fatal(err)
	}
	root := pemOf(pki.CSCA.Cert.Raw)
	trust, rev := signedLists(t, pki, signer, 1, now.Add(-time.Hour))
	s, err := offline.NewSession(root, trust, rev, now, offline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := s.Verify([]byte(cert.HC1), now)
	if a.Decision != "full" || !a.Valid || a.Holder == nil || a.Holder.Name != "Nguyễn Văn Đức" || a.DataAgeSeconds != 3600 || a.Stale {
		t.Fatalf("full: %+v", a)
	}
	if a := s.Verify([]byte(testkit.Tamper(t, cert.HC1)), now); a.Decision != "invalid" || a.Reason != "bad_signature" || a.Holder != nil {
		t.Fatalf("tampered: %+v", a)
	}
	in := s.Info(now)
	if !in.Usable || in.TrustSequence != 1 || in.RevocationSequence != 1 || in.DataAgeSeconds != 3600 ||
		in.ExpiresAt != now.Add(47*time.Hour).Unix() {
		t.Fatalf("info: %+v", in)
	}

	// A newer revocation list listing the certificate: revoked from then on.
	hs, err := trustpub.Hashes(cert.UVCI, cert.COSE)
	if err != nil {
		t.Fatal(err)
	}
	_, rev2 := signedLists(t, pki, signer, 2, now, listsign.Revoked{Hashes: hs, Expires: cert.ExpiresAt})
	if err := s.Update(nil, rev2, now); err != nil {
		t.Fatal(err)
	}
	if a := s.Verify([]byte(cert.HC1), now); a.Decision != "revoked" || a.Valid || a.Holder != nil {
		t.Fatalf("revoked: %+v", a)
	}
	// The older list again is a rollback: refused, the revocation stays.
	if err := s.Update(nil, rev, now); !errors.Is(err, lists.ErrRollback) {
		t.Fatalf("rollback: %v", err)
	}
	if a := s.Verify([]byte(cert.HC1), now); a.Decision != "revoked" {
		t.Fatalf("after a refused rollback: %+v", a)
	}
	// Frozen: once the lists expire the session cannot answer.
	if a := s.Verify([]byte(cert.HC1), now.Add(48*time.Hour)); a.Decision != "unavailable" || s.Info(now.Add(48*time.Hour)).Usable {
		t.Fatalf("expired lists: %+v", a)
	}
}

func TestSessionRefusals(t *testing.T) {
	pki, other := testkit.NewPKI(t), testkit.NewPKI(t)
	root := pemOf(pki.CSCA.Cert.Raw)
	trust, rev := signedLists(t, pki, pki.ListSigner(t), 1, now)
	if _, err := offline.NewSession([]byte("not a certificate"), trust, rev, now, offline.Options{}); !errors.Is(err, offline.ErrRoot) {
		t.Fatalf("garbage root: %v", err)
	}
	if _, err := offline.NewSession(pemOf(pki.DSC.Cert.Raw), trust, rev, now, offline.Options{}); !errors.Is(err, offline.ErrRoot) {
		t.Fatalf("a DSC as root: %v", err)
	}
	// Lists signed under another CSCA do not check against the pinned one.
	otherTrust, otherRev := signedLists(t, other, other.ListSigner(t), 1, now)
	if _, err := offline.NewSession(root, otherTrust, otherRev, now, offline.Options{}); !errors.Is(err, lists.ErrWrongRoot) {
		t.Fatalf("another CSCA's lists: %v", err)
	}
	s, err := offline.NewSession(root, trust, rev, now, offline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(otherTrust, nil, now); !errors.Is(err, lists.ErrWrongRoot) {
		t.Fatalf("update with another CSCA's list: %v", err)
	}
	if in := s.Info(now); !in.Usable || in.TrustSequence != 1 {
		t.Fatalf("after a refused update: %+v", in)
	}
	// Without lists the session answers "unavailable", never valid.
	empty, err := offline.NewSession(root, nil, nil, now, offline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a := empty.Verify([]byte("HC1:x"), now); a.Decision != "unavailable" || a.Valid {
		t.Fatalf("no lists: %+v", a)
	}
}
