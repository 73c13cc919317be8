package trustpub_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/keys/keyfile"
	"github.com/vaxcert/vaxcert/verifier/lists"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type source struct{ rows []*store.RevokedCertificate }

func (s *source) RevokedCertificates(_ context.Context, after int64, exp time.Time, limit int) ([]*store.RevokedCertificate, error) {
	var out []*store.RevokedCertificate
	for _, r := range s.rows {
		if r.RevocationID > after && r.ExpiresAt.After(exp) && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *source) add(c *issuer.Certificate, expires time.Time) {
	s.rows = append(s.rows, &store.RevokedCertificate{RevocationID: int64(len(s.rows) + 1), UVCI: c.UVCI, COSE: c.COSE, ExpiresAt: expires})
}

func setup(t *testing.T) (*testkit.PKI, string, *clock, *trustpub.Publisher) {
	pki := testkit.NewPKI(t)
	dir := t.TempDir()
	if err := keyfile.WriteDir(dir, pki.CSCA, pki.DSC); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: testkit.Now}
	pub, err := trustpub.New(trustpub.Config{KeyDir: dir, Clock: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return pki, dir, clk, pub
}

// TestTrustListSequence: the sequence steps only when the DSC set
// changes, survives a new Publisher, and the ETag follows the signed list.
func TestTrustListSequence(t *testing.T) {
	pki, dir, clk, pub := setup(t)
	b1, e1, err := pub.TrustList()
	if err != nil {
		t.Fatal(err)
	}
	if b2, e2, _ := pub.TrustList(); string(b2) != string(b1) || e2 != e1 {
		t.Fatal("the cached list changed")
	}
	if fi, err := os.Stat(filepath.Join(dir, trustpub.ListSignerKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("list-signing key: %v %v", fi, err)
	}
	clk.advance(13 * time.Hour) // past a quarter of the validity: re-signed, same sequence
	b3, e3, _ := pub.TrustList()
	l, err := lists.ParseTrustList(b3, pki.CSCA.Cert, clk.now())
	if err != nil || l.Signed.Sequence != 1 || e3 == e1 {
		t.Fatalf("re-signed list: seq %d, etag %s→%s, %v", l.Signed.Sequence, e1, e3, err)
	}
	if _, _, err := trustpub.Rotate(dir, clk.now()); err != nil {
		t.Fatal(err)
	}
	clk.advance(10 * time.Second)
	pub2, err := trustpub.New(trustpub.Config{KeyDir: dir, Clock: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	b4, _, _ := pub2.TrustList()
	l, err = lists.ParseTrustList(b4, pki.CSCA.Cert, clk.now())
	if err != nil || l.Signed.Sequence != 2 || l.Len() != 2 || len(l.Lookup(pki.DSC.KID())) != 1 {
		t.Fatalf("after rotation: seq %d, %d DSCs, %v", l.Signed.Sequence, l.Len(), err)
	}
}

// TestRevocationList: hashes only (no UVCI), deltas, and entries purged
// once the certificate they revoke has expired.
func TestRevocationList(t *testing.T) {
	pki, _, clk, pub := setup(t)
	iss := pki.Issuer(t)
	a, _ := iss.Issue(testkit.RecentRecord(testkit.Now))
	r := testkit.RecentRecord(testkit.Now)
	r.Person.ID = "001090077777"
	b, _ := iss.Issue(r)
	src := &source{}
	src.add(a, testkit.Now.Add(24*time.Hour)) // expires tomorrow
	ctx := context.Background()
	full, err := pub.Revocations(ctx, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := lists.Open(full, pki.CSCA.Cert, lists.KindRevocations, clk.now(), lists.MaxRevocationList)
	if err != nil || strings.Contains(string(sig.Payload), a.UVCI) || strings.Contains(string(sig.Payload), "URN:UVCI") {
		t.Fatalf("clear-text UVCI in the list, or %v", err)
	}
	st, _ := lists.NewState(pki.CSCA.Cert)
	if st, err = st.WithRevocations(full, clk.now()); err != nil {
		t.Fatal(err)
	}
	ha, _ := trustpub.Hashes(a.UVCI, a.COSE)
	hb, _ := trustpub.Hashes(b.UVCI, b.COSE)
	if _, ok := st.Revocations.Contains(&ha); !ok || st.Revocations.Signed.Sequence != 1 {
		t.Fatalf("full list: seq %d", st.Revocations.Signed.Sequence)
	}

	src.add(b, b.ExpiresAt)
	clk.advance(2 * time.Second)
	delta, err := pub.Revocations(ctx, src, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, err := lists.ParseRevocations(delta, pki.CSCA.Cert, clk.now())
	if err != nil || d.Since != 1 || d.Len() != 3 || d.Signed.Sequence != 2 {
		t.Fatalf("delta: since %d, %d hashes, seq %d, %v", d.Since, d.Len(), d.Signed.Sequence, err)
	}
	if st, err = st.WithRevocations(delta, clk.now()); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Revocations.Contains(&hb); !ok {
		t.Fatal("delta entry missing")
	}

	// A day later the first certificate has expired: purged from the
	// published list (whose sequence does not step back) and locally.
	clk.advance(25 * time.Hour)
	full, err = pub.Revocations(ctx, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	f, err := lists.ParseRevocations(full, pki.CSCA.Cert, clk.now())
	if err != nil || f.Len() != 3 || f.Signed.Sequence != 2 {
		t.Fatalf("after expiry: %d hashes, seq %d, %v", f.Len(), f.Signed.Sequence, err)
	}
	if _, ok := f.Contains(&ha); ok {
		t.Fatal("an expired certificate's entry is still published")
	}
}

// maxSource adds the highest revocation id ever made, as the service does.
type maxSource struct {
	*source
	max int64
}

func (m maxSource) MaxRevocationID(context.Context) (int64, error) { return m.max, nil }

// TestSequenceSurvivesPurgeAndRestart: a publisher started after every
// revoked certificate expired still publishes the highest sequence, so
// verifiers holding it do not see a rollback.
func TestSequenceSurvivesPurgeAndRestart(t *testing.T) {
	_, dir, clk, _ := setup(t)
	pub, err := trustpub.New(trustpub.Config{KeyDir: dir, Clock: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	b, err := pub.Revocations(context.Background(), maxSource{&source{}, 7}, 0)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := keyfile.ReadCertFile(filepath.Join(dir, keyfile.CSCACertFile))
	r, err := lists.ParseRevocations(b, root[0], clk.now())
	if err != nil || r.Signed.Sequence != 7 || r.Len() != 0 {
		t.Fatalf("sequence %d, %d hashes, %v", r.Signed.Sequence, r.Len(), err)
	}
}
