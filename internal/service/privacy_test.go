package service

import (
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/issuer"
)

// TestNoPersonalData runs every kind of change and checks that neither the
// audit trail nor the logs nor the errors carry a name, birth date or
// national ID number.
func TestNoPersonalData(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "A1", 1, issuer.StatusDraft)))
		changed := dose("S1", "A1", 1, issuer.StatusDraft)
		changed.Lot = "L2"
		renamed := record(citizenA, changed)
		renamed.Person.FamilyName = "Trần"
		e.submit(renamed)
		e.submit(record(citizenA, dose("S1", "A2", 2, issuer.StatusFinalised)))
		other := dose("S2", "B2", 2, issuer.StatusFinalised)
		other.Date = "2021-02-09"
		e.submit(record(citizenA, other))
		queue, _ := e.s.ListReviewQueue(e.ctx, finaliser, Page{})
		if _, err := e.s.ResolveReview(e.ctx, finaliser, queue[0].ID, Resolution{Record: RecordKey{Site: "S2", RecordID: "B2"},
			Void: true, Reason: "duplicate entry"}); err != nil {
			t.Fatal(err)
		}
		if err := e.s.Finalise(e.ctx, finaliser, RecordKey{Site: "S1", RecordID: "A1"}); err != nil {
			t.Fatal(err)
		}
		id, err := e.s.StartIssueAll(e.ctx, finaliser)
		if err != nil {
			t.Fatal(err)
		}
		e.waitJob(id)
		p := holder(citizenB)
		cr, err := e.s.FileCorrection(e.ctx, citizenB, CorrectionRequest{Kind: CorrectionMissing, Description: "missing",
			Dose: dose("S3", "", 1, ""), Person: &p})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.s.DecideCorrection(e.ctx, reviewer, cr.ID, Decision{Accept: true, Reason: "ok"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.s.CreateToken(e.ctx, system, "uploader", "S9", "token"); err != nil {
			t.Fatal(err)
		}
		bad := record(citizenA, dose("S1", "A9", 1, issuer.StatusFinalised))
		bad.Person.BirthDate = "1990-13-45"
		_, err = e.s.SubmitRecord(e.ctx, uploader("S1"), bad)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.s.IssueFor(e.ctx, finaliser, 999)
		noPersonalData(t, "error", err.Error())

		audit, err := e.s.ListAudit(e.ctx, system, AuditFilter{}, Page{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]bool{}
		for _, a := range audit {
			actions[a.Action] = true
			noPersonalData(t, "audit "+a.Action, strings.Join([]string{a.ActorID, a.Subject, a.Before, a.After}, " "))
		}
		for _, want := range []string{"dose.create", "dose.update", "dose.finalise", "dose.void", "person.update",
			"upload", "review.open", "review.resolve", "cert.issue", "correction.file", "correction.decide",
			"token.create", "job.start", "job.finish"} {
			if !actions[want] {
				t.Errorf("no %s audit entry", want)
			}
		}
		if e.logText() == "" {
			t.Fatal("nothing logged")
		}
		noPersonalData(t, "logs", e.logText())
	})
}
