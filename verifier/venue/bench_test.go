package venue_test

import (
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/listsign"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

// benchChecker is a checker holding a fresh trust list and a revocation
// list of n random hashes, and a valid QR text.
func benchChecker(b *testing.B, n int) (*venue.Checker, []byte) {
	b.Helper()
	pki := testkit.NewPKI(b)
	cert, err := pki.Issuer(b).Issue(testkit.RecentRecord(testkit.Now))
	if err != nil {
		b.Fatal(err)
	}
	rs := make([]listsign.Revoked, n/3)
	for i := range rs {
		for t := range rs[i].Hashes {
			rand.Read(rs[i].Hashes[t][:])
		}
		rs[i].Expires = testkit.Now.AddDate(1, 0, 0)
	}
	st := pki.State(b, pki.ListSigner(b), testkit.Now.Add(-time.Minute), rs...)
	c, err := venue.NewChecker(nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.SetState(st); err != nil {
		b.Fatal(err)
	}
	return c, []byte(cert.HC1)
}

// BenchmarkVenueCheck is the yardstick: one venue check (verify, the
// revocation check on an empty list, policy).
func BenchmarkVenueCheck(b *testing.B) {
	c, qr := benchChecker(b, 0)
	b.ResetTimer()
	defer testkit.ReportCPU(b)() // CPU time of the loop: make ratios reads it
	for i := 0; i < b.N; i++ {
		if a, _ := c.Check(qr, testkit.Now); !a.Valid {
			b.Fatal(a)
		}
	}
}

var (
	bigOnce sync.Once
	bigList *lists.Revocations
)

// BenchmarkRevocationLookup1M is the revocation lookup of one certificate
// (its three hashes) in a list of 1,000,000 hashes; the README reports it
// as a share of BenchmarkVenueCheck.
func BenchmarkRevocationLookup1M(b *testing.B) {
	bigOnce.Do(func() {
		c, _ := benchChecker(b, 1_000_000)
		bigList = c.State().Revocations
	})
	var h lists.Hashes
	rand.Read(h[0][:])
	rand.Read(h[1][:])
	rand.Read(h[2][:])
	b.ResetTimer()
	defer testkit.ReportCPU(b)() // CPU time of the loop: make ratios reads it
	for i := 0; i < b.N; i++ {
		h[0][0] = byte(i)
		if _, ok := bigList.Contains(&h); ok {
			b.Fatal("random hash listed")
		}
	}
}
