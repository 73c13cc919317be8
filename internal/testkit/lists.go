package testkit

import (
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/listsign"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/verifier/lists"
)

// ListSigner returns a list signer the PKI's CSCA issued (a new key each
// call).
func (p *PKI) ListSigner(tb testing.TB) *listsign.Signer {
	tb.Helper()
	ls, err := listsign.IssueSigner(p.CSCA, p.DSC.Cert.NotBefore)
	if err != nil {
		tb.Fatalf("testkit: IssueSigner: %v", err)
	}
	s, err := listsign.NewSigner(ls.Signer(), ls.Cert, p.CSCA.Cert)
	if err != nil {
		tb.Fatalf("testkit: NewSigner: %v", err)
	}
	return s
}

// ListClaims are the claims of a test list from issuer "VN", issued at iat
// and valid for two days.
func ListClaims(seq uint64, iat time.Time) lists.Claims {
	return lists.Claims{Issuer: "VN", Sequence: seq, IssuedAt: iat.Unix(), ExpiresAt: iat.Add(48 * time.Hour).Unix()}
}

// State returns a verifier state holding a trust list with the PKI's DSC
// and a revocation list with revoked, both issued at iat and signed by s.
func (p *PKI) State(tb testing.TB, s *listsign.Signer, iat time.Time, revoked ...listsign.Revoked) *lists.State {
	tb.Helper()
	tl, err := s.TrustList(ListClaims(1, iat), []listsign.DSC{{Cert: p.DSC.Cert}})
	if err != nil {
		tb.Fatal(err)
	}
	rl, err := s.RevocationList(ListClaims(1, iat), 0, revoked)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := lists.NewState(p.CSCA.Cert)
	if err == nil {
		st, err = st.WithTrustList(tl, iat)
	}
	if err == nil {
		st, err = st.WithRevocations(rl, iat)
	}
	if err != nil {
		tb.Fatalf("testkit: State: %v", err)
	}
	return st
}

// RecentRecord returns [Record] with its two doses moved to 90 and 60 days
// before at, so the default vaccination policy finds it "full" at at.
func RecentRecord(at time.Time) issuer.Record {
	r := Record()
	r.Doses[0].Date = at.AddDate(0, 0, -90).Format(time.DateOnly)
	r.Doses[1].Date = at.AddDate(0, 0, -60).Format(time.DateOnly)
	return r
}
