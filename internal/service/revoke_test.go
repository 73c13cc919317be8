package service

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/issuer"
)

// TestRevokeForFraud: a reviewer revokes one certificate by UVCI, or every
// certificate of a person by national ID; the revocations are audited,
// reach the revocation list's source, repeat harmlessly, and nothing
// personal reaches the logs or the errors.
func TestRevokeForFraud(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "a1", 1, issuer.StatusFinalised), dose("S1", "a2", 2, issuer.StatusFinalised)))
		e.submit(record(citizenB, dose("S2", "b1", 1, issuer.StatusFinalised), dose("S2", "b2", 2, issuer.StatusFinalised)))
		certA := e.issue(citizenA)
		certB1 := e.issue(citizenB)
		// B's record is corrected: B1 is superseded (revoked), B2 current.
		fixed := dose("S2", "b2", 2, issuer.StatusFinalised)
		fixed.Date = "2021-03-02"
		if _, err := e.s.AmendRecord(e.ctx, finaliser, RecordKey{Site: "S2", RecordID: "b2"}, fixed, "date mistyped"); err != nil {
			t.Fatal(err)
		}
		certB2 := e.issue(citizenB)
		if certB2.UVCI == certB1.UVCI {
			t.Fatal("no new certificate after the correction")
		}

		// Who may, and what a request must hold.
		for _, tc := range []struct {
			actor Actor
			req   Revoke
			want  error
		}{
			{finaliser, Revoke{UVCI: certA.UVCI, Reason: "fraud"}, ErrForbidden},
			{admin, Revoke{UVCI: certA.UVCI, Reason: "fraud"}, ErrForbidden},
			{reviewer, Revoke{UVCI: certA.UVCI}, ErrInvalid},
			{reviewer, Revoke{Reason: "fraud"}, ErrInvalid},
			{reviewer, Revoke{UVCI: certA.UVCI, NationalID: citizenA, Reason: "fraud"}, ErrInvalid},
			{reviewer, Revoke{UVCI: "URN:UVCI:01:VN:NOPE", Reason: "fraud"}, ErrNotFound},
			{reviewer, Revoke{NationalID: "001099999999", Reason: "fraud"}, ErrNotFound},
		} {
			_, err := e.s.Revoke(e.ctx, tc.actor, tc.req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("%+v: %v, want %v", tc.req, err, tc.want)
			}
			if err != nil && (strings.Contains(err.Error(), certA.UVCI) || strings.Contains(err.Error(), citizenA)) {
				t.Fatalf("personal data in the error: %v", err)
			}
		}
		if n := revokedUVCIs(t, e); n[certA.UVCI] || n[certB2.UVCI] || !n[certB1.UVCI] {
			t.Fatalf("before: revoked %v", n)
		}

		// By UVCI: A's certificate, once.
		out, err := e.s.Revoke(e.ctx, reviewer, Revoke{UVCI: certA.UVCI, Reason: "certificate sold online"})
		if err != nil || out.Revoked != 1 {
			t.Fatalf("revoke by UVCI: %+v, %v", out, err)
		}
		if out, err := e.s.Revoke(e.ctx, reviewer, Revoke{UVCI: certA.UVCI, Reason: "again"}); err != nil || out.Revoked != 0 {
			t.Fatalf("repeated: %+v, %v", out, err)
		}
		// By person: B's current certificate (B1 was revoked already).
		out, err = e.s.Revoke(e.ctx, reviewer, Revoke{NationalID: citizenB, Reason: "records forged at the site"})
		if err != nil || out.Revoked != 1 {
			t.Fatalf("revoke by person: %+v, %v", out, err)
		}
		n := revokedUVCIs(t, e)
		if !n[certA.UVCI] || !n[certB1.UVCI] || !n[certB2.UVCI] || len(n) != 3 {
			t.Fatalf("after: revoked %v", n)
		}
		certs, err := e.s.PersonCertificates(e.ctx, finaliser, e.personID(citizenB))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range certs {
			if c.Status == store.CertCurrent {
				t.Fatalf("certificate still current after revocation: %+v", c.Status)
			}
		}
		audit, err := e.s.ListAudit(e.ctx, admin, AuditFilter{Action: "cert.revoke", ActorID: reviewer.ID}, Page{})
		if err != nil || len(audit) != 2 {
			t.Fatalf("audit: %d entries, %v", len(audit), err)
		}
		if !strings.Contains(audit[0].After, ReasonRevokedByStaff+"certificate sold online") {
			t.Fatalf("audit entry %+v", audit[0])
		}
		if logs := e.logText(); strings.Contains(logs, certA.UVCI) || strings.Contains(logs, citizenB) {
			t.Fatal("personal data in the logs")
		}
	})
}

func revokedUVCIs(t *testing.T, e *env) map[string]bool {
	t.Helper()
	rows, err := e.s.RevokedCertificates(e.ctx, 0, time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, r := range rows {
		out[r.UVCI] = true
	}
	return out
}
