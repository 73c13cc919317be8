package service

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/issuer"
)

func TestIssueIdempotent(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "R1", 1, issuer.StatusFinalised), dose("S1", "R2", 2, issuer.StatusDraft)))
		first := e.issue(citizenA)
		if first.Payload.V[0].DN != 1 || first.Status != store.CertCurrent {
			t.Fatalf("first certificate %+v: want dose 1, current", first)
		}
		// A draft changes nothing; issuing again returns the same
		// certificate without signing.
		e.submit(record(citizenA, dose("S1", "R3", 3, issuer.StatusDraft)))
		again := e.issue(citizenA)
		if again.UVCI != first.UVCI || again.HC1 != first.HC1 || e.iss.signs.Load() != 1 {
			t.Fatalf("second issuance: uvci %s (first %s), %d signatures; want the same certificate, 1 signature",
				again.UVCI, first.UVCI, e.iss.signs.Load())
		}
		if st := e.stats(); st.PendingIssuance != 0 || st.CertificatesIssued != 1 {
			t.Errorf("stats %+v: want nothing pending, 1 certificate", st)
		}
		// Finalising dose 2 supersedes the certificate.
		if err := e.s.Finalise(e.ctx, finaliser, RecordKey{Site: "S1", RecordID: "R2"}); err != nil {
			t.Fatal(err)
		}
		if st := e.stats(); st.PendingIssuance != 1 {
			t.Errorf("finalising did not queue the person")
		}
		second := e.issue(citizenA)
		if second.UVCI == first.UVCI || second.Payload.V[0].DN != 2 {
			t.Fatalf("after finalising dose 2: %s dn %d, want a new certificate for dose 2", second.UVCI, second.Payload.V[0].DN)
		}
		certs, err := e.s.PersonCertificates(e.ctx, finaliser, e.personID(citizenA))
		if err != nil {
			t.Fatal(err)
		}
		if len(certs) != 2 || certs[0].UVCI != second.UVCI || certs[0].Status != store.CertCurrent ||
			certs[1].Status != store.CertSuperseded {
			t.Fatalf("certificates %+v: want the new one current, the first superseded", certs)
		}
		revs, err := e.s.ListRevocations(e.ctx, time.Time{}, Page{})
		if err != nil || len(revs) != 1 || revs[0].UVCI != first.UVCI || revs[0].Reason != ReasonCorrected {
			t.Fatalf("revocations %+v (%v): want the first UVCI, %q", revs, err, ReasonCorrected)
		}
		if later, _ := e.s.ListRevocations(e.ctx, e.clock.Now().Add(time.Second), Page{}); len(later) != 0 {
			t.Errorf("revocations since later: %d, want 0", len(later))
		}
	})
}

func TestFinaliseBatch(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "R1", 1, issuer.StatusDraft), dose("S1", "R2", 2, issuer.StatusFinalised)))
		e.submit(record(citizenB, dose("S1", "V1", 1, issuer.StatusDraft)))
		if _, err := e.s.VoidRecord(e.ctx, finaliser, RecordKey{Site: "S1", RecordID: "V1"}, "wrong person"); err != nil {
			t.Fatal(err)
		}
		keys := []RecordKey{{Site: "S1", RecordID: "R1"}, {Site: "S1", RecordID: "R2"}, {Site: "S1", RecordID: "NOPE"},
			{Site: "S1", RecordID: "V1"}, {Site: "S1", RecordID: "R1"}}
		res, err := e.s.FinaliseBatch(e.ctx, finaliser, keys)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			outcome Outcome
			err     error
		}{{OutcomeFinalised, nil}, {OutcomeUnchanged, nil}, {OutcomeRejected, ErrNotFound},
			{OutcomeRejected, ErrImmutable}, {OutcomeUnchanged, nil}}
		for i, w := range want {
			if res[i].Key != keys[i] || res[i].Outcome != w.outcome || !errors.Is(res[i].Err, w.err) || (w.err == nil) != (res[i].Err == nil) {
				t.Errorf("result %d: %+v, want %s %v", i, res[i], w.outcome, w.err)
			}
		}
		wantErr(t, "Finalise by an uploader", e.s.Finalise(e.ctx, uploader("S1"), keys[0]), ErrForbidden)
		wantErr(t, "Finalise unknown", e.s.Finalise(e.ctx, finaliser, keys[2]), ErrNotFound)
	})
}

func TestAmendmentHistory(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		key := RecordKey{Site: "S1", RecordID: "R1"}
		e.submit(record(citizenA, dose("S1", "R1", 1, issuer.StatusFinalised)))
		fixed := dose("", "", 1, "")
		fixed.Lot = "FIXED"
		_, err := e.s.AmendRecord(e.ctx, finaliser, key, fixed, " ")
		wantErr(t, "amendment without reason", err, ErrInvalid)
		_, err = e.s.AmendRecord(e.ctx, uploader("S1"), key, fixed, "typo")
		wantErr(t, "amendment by an uploader", err, ErrForbidden)
		_, err = e.s.AmendRecord(e.ctx, finaliser, RecordKey{Site: "S1", RecordID: "X"}, fixed, "typo")
		wantErr(t, "amendment of an unknown record", err, ErrNotFound)
		bad := fixed
		bad.Product = "NOPE"
		_, err = e.s.AmendRecord(e.ctx, finaliser, key, bad, "typo")
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Fields[0].Field != "product" || !errors.Is(err, ErrInvalid) {
			t.Fatalf("invalid amendment: %v, want a ValidationError on product", err)
		}
		d, err := e.s.AmendRecord(e.ctx, finaliser, key, fixed, "lot misread")
		if err != nil {
			t.Fatal(err)
		}
		if d.Version != 2 || d.Status != issuer.StatusFinalised || d.Lot != "FIXED" || d.Reason != "lot misread" || d.ChangedBy != finaliser.ID {
			t.Fatalf("amended record %+v", d)
		}
		same, err := e.s.AmendRecord(e.ctx, reviewer, key, fixed, "again")
		if err != nil || same.Version != 2 {
			t.Fatalf("identical amendment: version %d (%v), want 2", same.Version, err)
		}
		hist, err := e.s.RecordHistory(e.ctx, uploader("S1"), key)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 2 || hist[0].Lot != "LOTB" || hist[1].Lot != "FIXED" || hist[1].Reason != "lot misread" {
			t.Fatalf("history %+v", hist)
		}
		_, err = e.s.RecordHistory(e.ctx, uploader("S2"), key)
		wantErr(t, "history of another site", err, ErrForbidden)
		audit, err := e.s.ListAudit(e.ctx, admin, AuditFilter{Subject: "dose:S1/R1"}, Page{})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, a := range audit {
			actions = append(actions, a.Action)
		}
		if len(actions) != 2 || actions[0] != "dose.create" || actions[1] != "dose.amend" ||
			audit[1].After != `{"changed":["lot"],"person":1,"status":"finalised","version":2}` {
			t.Errorf("audit %v / %s", actions, audit[len(audit)-1].After)
		}
	})
}

func TestContradictionReviewFlow(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "A1", 1, issuer.StatusFinalised), dose("S1", "A2", 2, issuer.StatusFinalised)))
		other := dose("S2", "B2", 2, issuer.StatusFinalised)
		other.Date, other.Lot = "2021-03-05", "ZZ"
		e.submit(record(citizenA, other))
		queue, err := e.s.ListReviewQueue(e.ctx, reviewer, Page{})
		if err != nil {
			t.Fatal(err)
		}
		pid := e.personID(citizenA)
		if len(queue) != 1 || queue[0].PersonID != pid || len(queue[0].DoseNumbers) != 1 || queue[0].DoseNumbers[0] != 2 {
			t.Fatalf("review queue %+v: want person %d at dose 2", queue, pid)
		}
		_, err = e.s.IssueFor(e.ctx, finaliser, pid)
		wantErr(t, "issuance while contradictory", err, ErrContradictory)
		if e.iss.signs.Load() != 0 {
			t.Fatal("signed despite the contradiction")
		}
		// Resolving with a record of another person is refused.
		e.submit(record(citizenB, dose("S1", "C1", 1, issuer.StatusFinalised)))
		_, err = e.s.ResolveReview(e.ctx, reviewer, queue[0].ID, Resolution{Record: RecordKey{Site: "S1", RecordID: "C1"},
			Void: true, Reason: "x"})
		wantErr(t, "resolution with another person's record", err, ErrInvalid)
		r, err := e.s.ResolveReview(e.ctx, reviewer, queue[0].ID, Resolution{Record: RecordKey{Site: "S2", RecordID: "B2"},
			Void: true, Reason: "recorded against the wrong person"})
		if err != nil {
			t.Fatal(err)
		}
		if r.ResolvedAt.IsZero() || r.ResolvedBy != reviewer.ID {
			t.Fatalf("review after resolution %+v, want resolved by the reviewer", r)
		}
		_, err = e.s.ResolveReview(e.ctx, reviewer, queue[0].ID, Resolution{Record: RecordKey{Site: "S2", RecordID: "B2"},
			Void: true, Reason: "again"})
		wantErr(t, "resolving a resolved review", err, ErrConflict)
		c := e.issue(citizenA)
		if c.Payload.V[0].DN != 2 || c.Payload.V[0].DT != "2021-02-01" {
			t.Fatalf("certificate dn %d dt %s, want site S1's dose 2", c.Payload.V[0].DN, c.Payload.V[0].DT)
		}
		// A dose dated before a lower dose also contradicts.
		early := dose("S1", "A3", 3, issuer.StatusFinalised)
		early.Date = "2021-01-15"
		e.submit(record(citizenA, early))
		if st := e.stats(); st.OpenReviews != 1 {
			t.Fatalf("open reviews %d after an out-of-order dose, want 1", st.OpenReviews)
		}
		fixedDate := early
		fixedDate.Site, fixedDate.RecordID, fixedDate.Status, fixedDate.Date = "", "", "", "2022-01-15"
		queue, _ = e.s.ListReviewQueue(e.ctx, finaliser, Page{})
		r, err = e.s.ResolveReview(e.ctx, finaliser, queue[0].ID, Resolution{Record: RecordKey{Site: "S1", RecordID: "A3"},
			Dose: fixedDate, Reason: "date typo"})
		if err != nil || r.ResolvedAt.IsZero() {
			t.Fatalf("amending the date: %+v (%v), want the review resolved", r, err)
		}
		if c := e.issue(citizenA); c.Payload.V[0].DN != 3 {
			t.Errorf("certificate dn %d, want 3", c.Payload.V[0].DN)
		}
	})
}

func TestWithdrawWhenNoRecords(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "R1", 1, issuer.StatusFinalised)))
		c := e.issue(citizenA)
		if _, err := e.s.VoidRecord(e.ctx, finaliser, RecordKey{Site: "S1", RecordID: "R1"}, "never given"); err != nil {
			t.Fatal(err)
		}
		_, err := e.s.IssueFor(e.ctx, finaliser, e.personID(citizenA))
		wantErr(t, "issuance without records", err, ErrNoRecords)
		mine, _ := e.s.MyCertificates(e.ctx, citizenA)
		revs, _ := e.s.ListRevocations(e.ctx, time.Time{}, Page{})
		if len(mine) != 1 || mine[0].Status != store.CertRevoked || len(revs) != 1 || revs[0].UVCI != c.UVCI ||
			revs[0].Reason != ReasonWithdrawn {
			t.Fatalf("certificates %+v, revocations %+v: want the certificate revoked as %q", mine, revs, ReasonWithdrawn)
		}
		if st := e.stats(); st.CurrentCertificates != 0 || st.PendingIssuance != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestUVCIReuse documents a property of the issuer's UVCI derivation: the
// UVCI is a function of the finalised doses, so reverting a correction
// derives the revoked UVCI again. The service refuses to store it.
func TestUVCIReuse(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		key := RecordKey{Site: "S1", RecordID: "R1"}
		orig := dose("S1", "R1", 1, issuer.StatusFinalised)
		e.submit(record(citizenA, orig))
		first := e.issue(citizenA)
		lot := orig
		lot.Lot = "OTHER"
		if _, err := e.s.AmendRecord(e.ctx, finaliser, key, lot, "lot"); err != nil {
			t.Fatal(err)
		}
		if c := e.issue(citizenA); c.UVCI != first.UVCI || e.iss.signs.Load() != 1 {
			t.Fatalf("a lot change (not in the payload) re-issued the certificate")
		}
		date := orig
		date.Date = "2021-01-02"
		if _, err := e.s.AmendRecord(e.ctx, finaliser, key, date, "date"); err != nil {
			t.Fatal(err)
		}
		if c := e.issue(citizenA); c.UVCI == first.UVCI {
			t.Fatalf("a date change did not re-issue the certificate")
		}
		if _, err := e.s.AmendRecord(e.ctx, finaliser, key, orig, "date was right"); err != nil {
			t.Fatal(err)
		}
		// Reverting restores the first content, under a third UVCI: the
		// first stays revoked.
		third, err := e.s.IssueFor(e.ctx, finaliser, e.personID(citizenA))
		if err != nil {
			t.Fatal(err)
		}
		if third.UVCI == first.UVCI {
			t.Fatalf("the revert re-used the revoked UVCI")
		}
		if st := e.stats(); st.PendingIssuance != 0 || st.CurrentCertificates != 1 {
			t.Errorf("stats %+v: want nothing pending, one current certificate", st)
		}
	})
}

func TestIssuerFailureKeepsPending(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "R1", 1, issuer.StatusFinalised)))
		boom := errors.New("hsm unavailable")
		e.iss.fail = boom
		_, err := e.s.IssueFor(e.ctx, finaliser, e.personID(citizenA))
		wantErr(t, "issuer failure", err, boom)
		if st := e.stats(); st.PendingIssuance != 1 || st.CertificatesIssued != 0 {
			t.Errorf("stats %+v: want still pending, nothing issued", st)
		}
		noPersonalData(t, "error", err.Error())
	})
}

// TestPayloadStoredOnce: a new certificate's row holds its payload and its
// QR text only in the signed COSE message (no JSON or HC1 copy), and
// reading it back gives the payload and QR text that were issued; a certificate stored with the JSON copy (before
// store migration 0005) still reads from that copy.
func TestPayloadStoredOnce(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "R1", 1, issuer.StatusFinalised), dose("S1", "R2", 2, issuer.StatusFinalised)))
		issued := e.issue(citizenA)
		var row *store.Certificate
		if err := e.st.Read(e.ctx, func(tx *store.Tx) error {
			var err error
			row, err = tx.CertificateByUVCI(e.ctx, issued.UVCI)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(row.Payload) != 0 {
			t.Errorf("stored payload column %q, want none (COSE holds the payload)", row.Payload)
		}
		certs, err := e.s.PersonCertificates(e.ctx, finaliser, e.personID(citizenA))
		if err != nil || len(certs) != 1 {
			t.Fatalf("PersonCertificates = %v, %v", certs, err)
		}
		if !reflect.DeepEqual(certs[0].Payload, issued.Payload) {
			t.Errorf("payload read back %+v, signed %+v", certs[0].Payload, issued.Payload)
		}
		// The QR text is not stored either (migration 0008): it is rebuilt
		// from the COSE message, the same text the issuer gave.
		if row.HC1 != "" {
			t.Errorf("stored hc1 column %q, want none (rebuilt from COSE)", row.HC1)
		}
		if certs[0].HC1 != issued.HC1 || !strings.HasPrefix(issued.HC1, "HC1:") {
			t.Errorf("QR text read back %q, issued %q", certs[0].HC1, issued.HC1)
		}
		withCopy := *row
		withCopy.HC1 = "HC1:copy"
		if c, err := certificateOf(&withCopy); err != nil || c.HC1 != "HC1:copy" {
			t.Errorf("a row with its QR text stored (before migration 0008): %v, %v", c, err)
		}

		legacy := *row
		legacy.COSE = nil
		legacy.Payload = []byte(mustJSON(t, issued.Payload))
		old, err := certificateOf(&legacy)
		if err != nil || !reflect.DeepEqual(old.Payload, issued.Payload) {
			t.Errorf("payload from the JSON copy %+v (%v), want %+v", old.Payload, err, issued.Payload)
		}
		legacy.Payload = nil
		if _, err := certificateOf(&legacy); err == nil {
			t.Errorf("a row with neither COSE nor JSON payload decoded")
		}
	})
}
