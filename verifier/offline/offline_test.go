package offline_test

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/listsign"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/issuer"
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

// issued returns a PKI, its list signer, a certificate and its
// revocation hashes.
func issued(t *testing.T) (*testkit.PKI, *listsign.Signer, *issuer.Certificate, lists.Hashes) {
	t.Helper()
	pki := testkit.NewPKI(t)
	cert, err := pki.Issuer(t).Issue(testkit.RecentRecord(now))
	if err != nil {
		t.Fatal(err)
	}
	hs, err := trustpub.Hashes(cert.UVCI, cert.COSE)
	if err != nil {
		t.Fatal(err)
	}
	return pki, pki.ListSigner(t), cert, hs
}

func TestRevocationBundle(t *testing.T) {
	pki, signer, cert, hs := issued(t)
	rev := func(seq, since uint64, iat time.Time, rs ...listsign.Revoked) string {
		b, err := signer.RevocationList(testkit.ListClaims(seq, iat), since, rs)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	bundle := func(full string, deltas ...string) []byte {
		b, err := json.Marshal(map[string]any{"full": full, "deltas": append([]string{}, deltas...)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	trust, _ := signedLists(t, pki, signer, 5, now.Add(-time.Hour))
	s, err := offline.NewSession(pemOf(pki.CSCA.Cert.Raw), trust, nil, now, offline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A full list issued three days ago (expired on its own) brought up to
	// date by a delta of an hour ago that revokes the certificate.
	full := rev(1, 0, now.Add(-72*time.Hour))
	delta := rev(2, 1, now.Add(-time.Hour), listsign.Revoked{Hashes: hs, Expires: cert.ExpiresAt})
	if err := s.UpdateRevocationBundle(bundle(full, delta), now); err != nil {
		t.Fatal(err)
	}
	if a := s.Verify([]byte(cert.HC1), now); a.Decision != "revoked" {
		t.Fatalf("revoked through a delta: %+v", a)
	}
	if in := s.Info(now); in.RevocationSequence != 2 || !in.Usable {
		t.Fatalf("info: %+v", in)
	}
	// The full list alone is expired: refused, the session keeps sequence 2.
	if err := s.UpdateRevocationBundle(bundle(full), now); err == nil {
		t.Fatal("expired bundle accepted")
	}
	// A current but older bundle is a rollback.
	if err := s.UpdateRevocationBundle(bundle(rev(1, 0, now.Add(-time.Hour))), now); !errors.Is(err, lists.ErrRollback) {
		t.Fatalf("rollback: %v", err)
	}
	// A delta that does not follow the full list.
	if err := s.UpdateRevocationBundle(bundle(full, rev(3, 2, now)), now); err == nil {
		t.Fatal("a delta with a gap accepted")
	}
	for _, bad := range []string{``, `[]`, `{"full": ""}`, `{"full": "x", "more": 1}`, `{"full": "a.b.c"} {}`} {
		if err := s.UpdateRevocationBundle([]byte(bad), now); err == nil {
			t.Errorf("bundle %q accepted", bad)
		}
	}
	if a := s.Verify([]byte(cert.HC1), now); a.Decision != "revoked" || s.Info(now).RevocationSequence != 2 {
		t.Fatalf("after refused bundles: %+v", a)
	}
}

func FuzzRevocationBundle(f *testing.F) {
	pki := testkit.NewPKI(f)
	signer := pki.ListSigner(f)
	full, err := signer.RevocationList(testkit.ListClaims(1, now), 0, nil)
	if err != nil {
		f.Fatal(err)
	}
	trust, err := signer.TrustList(testkit.ListClaims(1, now), []listsign.DSC{{Cert: pki.DSC.Cert}})
	if err != nil {
		f.Fatal(err)
	}
	seed, _ := json.Marshal(map[string]any{"full": string(full), "deltas": []string{}})
	f.Add(seed)
	f.Add([]byte(`{"full":"a.b.c","deltas":["x"]}`))
	s, err := offline.NewSession(pemOf(pki.CSCA.Cert.Raw), trust, nil, now, offline.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		before := s.Info(now).RevocationSequence
		if err := s.UpdateRevocationBundle(b, now); err != nil && s.Info(now).RevocationSequence != before {
			t.Fatalf("a refused bundle changed the session")
		}
	})
}

// TestRevocationBundleHeld: the session gives back the revocation
// documents it applied (a full list, then the deltas that followed, one by
// one, as the scan page receives them from ?since=SEQ), and a new session
// started from them answers the same.
func TestRevocationBundleHeld(t *testing.T) {
	pki, signer, cert, hs := issued(t)
	root := pemOf(pki.CSCA.Cert.Raw)
	trust, full := signedLists(t, pki, signer, 1, now.Add(-2*time.Hour))
	s, err := offline.NewSession(root, trust, full, now, offline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Full   string   `json:"full"`
		Deltas []string `json:"deltas"`
	}
	if err := json.Unmarshal(s.RevocationBundle(), &b); err != nil || b.Full != string(full) || len(b.Deltas) != 0 {
		t.Fatalf("after a full list: %s (%v)", s.RevocationBundle(), err)
	}
	var deltas []string
	for seq := uint64(2); seq <= 3; seq++ {
		var rs []listsign.Revoked
		if seq == 3 {
			rs = append(rs, listsign.Revoked{Hashes: hs, Expires: cert.ExpiresAt})
		}
		d, err := signer.RevocationList(testkit.ListClaims(seq, now.Add(-time.Hour)), seq-1, rs)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Update(nil, d, now); err != nil {
			t.Fatal(err)
		}
		deltas = append(deltas, string(d))
	}
	if in := s.Info(now); in.RevocationSequence != 3 || in.RevocationDeltas != 2 {
		t.Fatalf("info: %+v", in)
	}
	held := s.RevocationBundle()
	if err := json.Unmarshal(held, &b); err != nil || b.Full != string(full) || !slices.Equal(b.Deltas, deltas) {
		t.Fatalf("after two deltas: %s (%v)", held, err)
	}
	again, err := offline.NewSession(root, trust, nil, now, offline.Options{})
	if err == nil {
		err = again.UpdateRevocationBundle(held, now)
	}
	if err != nil {
		t.Fatal(err)
	}
	if a, b := s.Verify([]byte(cert.HC1), now), again.Verify([]byte(cert.HC1), now); a.Decision != "revoked" || !reflect.DeepEqual(a, b) {
		t.Fatalf("the session %+v, started again from its bundle %+v", a, b)
	}
	// A full list starts the bundle again.
	_, full4 := signedLists(t, pki, signer, 4, now.Add(-time.Minute))
	if err := s.Update(nil, full4, now); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(s.RevocationBundle(), &b); err != nil || b.Full != string(full4) || len(b.Deltas) != 0 || s.Info(now).RevocationDeltas != 0 {
		t.Fatalf("after a full list again: %s (%v)", s.RevocationBundle(), err)
	}
}
