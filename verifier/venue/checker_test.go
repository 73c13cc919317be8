package venue_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/listsign"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

// TestChecker: one issued certificate through the venue checker, and each
// way it can fail giving its own decision and reason.
func TestChecker(t *testing.T) {
	now := testkit.Now
	pki := testkit.NewPKI(t)
	iss := pki.Issuer(t)
	cert, err := iss.Issue(testkit.RecentRecord(now))
	if err != nil {
		t.Fatal(err)
	}
	partial := testkit.RecentRecord(now)
	partial.Doses = partial.Doses[:1]
	partial.Person.ID = "001090099999"
	oneDose, err := iss.Issue(partial)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := trustpub.Hashes(cert.UVCI, cert.COSE)
	if err != nil {
		t.Fatal(err)
	}
	signer := pki.ListSigner(t)
	fresh := pki.State(t, signer, now.Add(-time.Hour))
	revoked := pki.State(t, signer, now.Add(-time.Hour), listsign.Revoked{Hashes: hs, Expires: cert.ExpiresAt})
	// Another PKI's DSC: a rotated-out (unlisted) signer.
	other := testkit.NewPKI(t)
	otherCert, err := other.Issuer(t).Issue(testkit.RecentRecord(now))
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(cert.HC1[:len(cert.HC1)-3] + "AAA")

	tests := []struct {
		name             string
		st               *lists.State
		qr               []byte
		at               time.Time
		decision, reason string
		valid            bool
	}{
		{"full", fresh, []byte(cert.HC1), now, "full", "", true},
		{"one dose of two", fresh, []byte(oneDose.HC1), now, "partial", "incomplete_series", false},
		{"tampered", fresh, tampered, now, "invalid", "", false},
		{"expired certificate", pki.State(t, signer, cert.ExpiresAt.Add(-time.Hour)), []byte(cert.HC1), cert.ExpiresAt.Add(time.Minute), "invalid", "expired", false},
		{"revoked", revoked, []byte(cert.HC1), now, "revoked", "revoked", false},
		{"rotated-out DSC", fresh, []byte(otherCert.HC1), now, "invalid", "unknown_kid", false},
		{"stale data", pki.State(t, signer, now.Add(-30*time.Hour)), []byte(cert.HC1), now, "full", "stale_data", false},
		{"frozen lists", fresh, []byte(cert.HC1), now.Add(48 * time.Hour), "unavailable", "lists_unavailable", false},
		{"no lists", nil, []byte(cert.HC1), now, "unavailable", "lists_unavailable", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := venue.NewChecker(nil, 24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if tc.st != nil {
				if err := c.SetState(tc.st); err != nil {
					t.Fatal(err)
				}
			}
			a, _ := c.Check(tc.qr, tc.at)
			if a.Decision != tc.decision || a.Valid != tc.valid || (tc.reason != "" && a.Reason != tc.reason) || (tc.reason == "" && tc.decision == "invalid" && a.Reason == "") {
				t.Fatalf("answer %+v, want %s/%s valid=%v", a, tc.decision, tc.reason, tc.valid)
			}
			if a.Decision == "invalid" || a.Decision == "revoked" {
				if a.Holder != nil {
					t.Fatal("holder shown for a refused certificate")
				}
			}
		})
	}

	// A valid answer names the holder for the ID-card comparison, says how
	// old the data is, and holds no UVCI.
	c, _ := venue.NewChecker(nil, 0)
	_ = c.SetState(fresh)
	a, _ := c.Check([]byte(cert.HC1), now)
	if a.Holder == nil || a.Holder.Name != "Nguyễn Văn Đức" || a.Holder.BirthDate != "1990-04-12" || a.DataAgeSeconds != 3600 || a.ValidUntil == nil {
		t.Fatalf("answer %+v", a)
	}
	if strings.Contains(a.Message.EN+a.Message.VI, cert.UVCI) {
		t.Fatal("UVCI in the message")
	}
}
