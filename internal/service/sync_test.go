package service

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/issuer"
)

// rows uploads rec as site's uploader and returns the results.
func (e *env) rows(site string, rec issuer.Record) []RowResult {
	e.t.Helper()
	res, err := e.s.SubmitRecord(e.ctx, uploader(site), rec)
	if err != nil {
		e.t.Fatalf("SubmitRecord: %v", err)
	}
	return res
}

func (e *env) openReview(personID int64) *Review {
	e.t.Helper()
	rs, err := e.s.ListReviewQueue(e.ctx, finaliser, Page{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range rs {
		if r.PersonID == personID {
			return r
		}
	}
	return nil
}

// TestCrossSiteIdentity: another site's upload never changes a person's
// details. A real disagreement stores the dose, keeps the details, opens an
// identity review that blocks issuance, and says so in the row report; the
// reviewer's AmendPerson resolves it.
func TestCrossSiteIdentity(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "A1", 1, issuer.StatusDraft)))
		other := record(citizenA, dose("S2", "B2", 2, issuer.StatusDraft))
		other.Person.FamilyName, other.Person.GivenName, other.Person.BirthDate = "Trần", "Thị Hồng", "1985-01-01"
		res := e.rows("S2", other)
		if res[0].Outcome != OutcomeStored || !slices.Equal(res[0].Notes, []Note{NoteIdentityReview}) {
			t.Fatalf("row %+v, want stored with an identity review note", res[0])
		}
		// Sent again: no second claim.
		e.rows("S2", other)
		pid := e.personID(citizenA)
		claims, err := e.s.IdentityClaims(e.ctx, reviewer, pid)
		if err != nil || len(claims) != 1 || claims[0].Site != "S2" || claims[0].FamilyName != "Trần" {
			t.Fatalf("claims %+v (%v), want one from S2", claims, err)
		}
		r := e.openReview(pid)
		if r == nil || !r.Identity || len(r.DoseNumbers) != 0 {
			t.Fatalf("review %+v, want an open identity review", r)
		}
		// Site S1 finalises its record: the certificate waits for the review.
		e.submit(record(citizenA, dose("S1", "A1", 1, issuer.StatusFinalised)))
		_, err = e.s.IssueFor(e.ctx, finaliser, pid)
		wantErr(t, "issuing while the identity is disputed", err, ErrContradictory)
		// The reviewer keeps the stored details: the review resolves and
		// the certificate carries site S1's details.
		if err := e.s.AmendPerson(e.ctx, reviewer, pid, holder("x"), "S2 typed the wrong national ID"); err != nil {
			t.Fatal(err)
		}
		if r := e.openReview(pid); r != nil {
			t.Fatalf("review still open: %+v", r)
		}
		c := e.issue(citizenA)
		if c.Payload.Nam.FN != "Nguyễn" || c.Payload.Dob != birth {
			t.Errorf("certificate name %+v dob %s, want the registering site's", c.Payload.Nam, c.Payload.Dob)
		}
		noPersonalData(t, "logs", e.logText())
		audit, _ := e.s.ListAudit(e.ctx, admin, AuditFilter{}, Page{Limit: 1000})
		noPersonalData(t, "audit", mustJSON(t, audit))
	})
}

// TestNameVariantIsSamePerson: a name that differs only in diacritics or
// case is the same person, reported so, without a review.
func TestNameVariantIsSamePerson(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "A1", 1, issuer.StatusFinalised)))
		plain := record(citizenA, dose("S2", "B2", 2, issuer.StatusFinalised))
		plain.Person.FamilyName, plain.Person.GivenName = "NGUYEN", "van duc"
		res := e.rows("S2", plain)
		if res[0].Outcome != OutcomeStored || !slices.Equal(res[0].Notes, []Note{NoteNameVariant}) {
			t.Fatalf("row %+v, want stored as a name variant", res[0])
		}
		if st := e.stats(); st.OpenReviews != 0 {
			t.Fatalf("a name variant opened a review")
		}
		c := e.issue(citizenA)
		if c.Payload.Nam.FN != "Nguyễn" || c.Payload.Nam.GN != "Văn Đức" || len(c.Payload.V) != 1 || c.Payload.V[0].DN != 2 {
			t.Errorf("certificate %+v %+v, want the stored names and dose 2/2", c.Payload.Nam, c.Payload.V)
		}
		// Another birth date is not a variant.
		older := plain
		older.Doses = []issuer.Dose{dose("S2", "B3", 1, issuer.StatusDraft)}
		older.Person.BirthDate = "1990-04-13"
		if res := e.rows("S2", older); !slices.Equal(res[0].Notes, []Note{NoteIdentityReview}) {
			t.Errorf("other birth date: notes %v, want an identity review", res[0].Notes)
		}
	})
}

// TestFinaliseIsASitePermission: an uploader's "finalised" row is stored as
// a draft unless an admin let its site finalise at the source.
func TestFinaliseIsASitePermission(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		res := e.rows("S9", record(citizenA, dose("S9", "R1", 1, issuer.StatusFinalised)))
		if res[0].Outcome != OutcomeStored || !slices.Equal(res[0].Notes, []Note{NoteStoredAsDraft}) {
			t.Fatalf("row %+v, want stored as draft", res[0])
		}
		recs, _ := e.s.PersonRecords(e.ctx, finaliser, e.personID(citizenA))
		if recs[0].Status != issuer.StatusDraft {
			t.Fatalf("status %s, want draft", recs[0].Status)
		}
		_, err := e.s.SetSitePermission(e.ctx, uploader("S9"), "S9", true)
		wantErr(t, "an uploader granting itself", err, ErrForbidden)
		if _, err := e.s.SetSitePermission(e.ctx, admin, "S9", true); err != nil {
			t.Fatal(err)
		}
		res = e.rows("S9", record(citizenA, dose("S9", "R1", 1, issuer.StatusFinalised)))
		if res[0].Outcome != OutcomeStored || len(res[0].Notes) != 0 {
			t.Fatalf("row %+v, want stored (finalised)", res[0])
		}
		if p, err := e.s.GetSitePermission(e.ctx, uploader("S9"), "S9"); err != nil || !p.Finalise || p.GrantedBy != admin.ID {
			t.Fatalf("permission %+v (%v)", p, err)
		}
		e.issue(citizenA)
	})
}

// TestShotIsOneRecord: a shot two sites uploaded is one record: amending
// or voiding either copy changes both, the history shows both, and the
// certificate is re-issued with the old one revoked.
func TestShotIsOneRecord(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "A1", 1, issuer.StatusFinalised), dose("S1", "A2", 2, issuer.StatusFinalised)))
		e.clock.Advance(time.Minute)
		if res := e.rows("S2", record(citizenA, dose("S2", "B2", 2, issuer.StatusFinalised))); res[0].Outcome != OutcomeMerged {
			t.Fatalf("second site's copy: %v, want merged", res[0].Outcome)
		}
		first := e.issue(citizenA)
		e.clock.Advance(time.Minute)
		fixed := dose("S2", "B2", 2, "")
		fixed.Date, fixed.Lot = "2021-03-05", "LOTX"
		if _, err := e.s.AmendRecord(e.ctx, finaliser, RecordKey{Site: "S2", RecordID: "B2"}, fixed, "date misread"); err != nil {
			t.Fatal(err)
		}
		pid := e.personID(citizenA)
		if r := e.openReview(pid); r != nil {
			t.Fatalf("amending one copy opened review %+v", r)
		}
		recs, _ := e.s.PersonRecords(e.ctx, finaliser, pid)
		for _, d := range recs {
			if d.DoseNumber == 2 && (d.Date != "2021-03-05" || d.Lot != "LOTX") {
				t.Errorf("copy %s: date %s lot %s, want the amendment", d.Key(), d.Date, d.Lot)
			}
		}
		hist, err := e.s.RecordHistory(e.ctx, finaliser, RecordKey{Site: "S1", RecordID: "A2"})
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, d := range hist {
			seen = append(seen, fmt.Sprintf("%s/v%d", d.Key(), d.Version))
		}
		if want := []string{"S1/A2/v1", "S2/B2/v1", "S1/A2/v2", "S2/B2/v2"}; !slices.Equal(seen, want) {
			t.Errorf("history %v, want %v", seen, want)
		}
		second := e.issue(citizenA)
		if second.UVCI == first.UVCI || second.Payload.V[0].DT != "2021-03-05" {
			t.Fatalf("certificate after the amendment: %s %s", second.UVCI, second.Payload.V[0].DT)
		}
		certs, _ := e.s.PersonCertificates(e.ctx, finaliser, pid)
		if certs[1].UVCI != first.UVCI || certs[1].Status != "superseded" {
			t.Errorf("old certificate %s %s, want superseded", certs[1].UVCI, certs[1].Status)
		}
		// Voiding the other copy voids the shot.
		if _, err := e.s.VoidRecord(e.ctx, finaliser, RecordKey{Site: "S1", RecordID: "A2"}, "never given"); err != nil {
			t.Fatal(err)
		}
		recs, _ = e.s.PersonRecords(e.ctx, finaliser, pid)
		for _, d := range recs {
			if d.DoseNumber == 2 && d.Status != StatusVoid {
				t.Errorf("copy %s is %s after voiding the shot", d.Key(), d.Status)
			}
		}
		if third := e.issue(citizenA); third.Payload.V[0].DN != 1 {
			t.Errorf("certificate after the void: dn %d, want 1", third.Payload.V[0].DN)
		}
	})
}

// TestContradictionWithdrawsCertificate pins the choice: when a correction
// makes a person's records contradict each other, the current certificate
// is revoked (ReasonUnderReview) until the review is resolved, then a new
// one is issued.
func TestContradictionWithdrawsCertificate(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "A1", 1, issuer.StatusFinalised), dose("S1", "A2", 2, issuer.StatusFinalised)))
		first := e.issue(citizenA)
		pid := e.personID(citizenA)
		early := dose("S1", "A2", 2, "")
		early.Date = "2021-00-15"
		early.Date = "2020-12-15" // before dose 1
		if _, err := e.s.AmendRecord(e.ctx, finaliser, RecordKey{Site: "S1", RecordID: "A2"}, early, "date from the card"); err != nil {
			t.Fatal(err)
		}
		r := e.openReview(pid)
		if r == nil || len(r.DoseNumbers) == 0 {
			t.Fatalf("review %+v, want one on the dose numbers", r)
		}
		certs, _ := e.s.PersonCertificates(e.ctx, finaliser, pid)
		if certs[0].UVCI != first.UVCI || certs[0].Status != "revoked" {
			t.Fatalf("certificate %s is %s, want revoked", certs[0].UVCI, certs[0].Status)
		}
		revs, _ := e.s.ListRevocations(e.ctx, first.IssuedAt.Add(-1), Page{})
		if len(revs) != 1 || revs[0].UVCI != first.UVCI || revs[0].Reason != ReasonUnderReview {
			t.Fatalf("revocations %+v, want the certificate under review", revs)
		}
		if mine, _ := e.s.MyCertificates(e.ctx, citizenA); slices.ContainsFunc(mine, func(c *Certificate) bool { return c.Status == "current" }) {
			t.Fatalf("a current certificate remains while the records contradict each other")
		}
		fixed := early
		fixed.Date = "2021-02-15"
		if _, err := e.s.ResolveReview(e.ctx, reviewer, r.ID, Resolution{Record: RecordKey{Site: "S1", RecordID: "A2"},
			Dose: fixed, Reason: "checked the card"}); err != nil {
			t.Fatal(err)
		}
		if c := e.issue(citizenA); c.UVCI == first.UVCI || c.Status != "current" {
			t.Errorf("after the review: %s %s", c.UVCI, c.Status)
		}
	})
}

// TestIdempotentUpload: an upload cut after its first transaction and sent
// again with the same key continues; the stored outcome, per row, is
// readable under the key, also from a new service (a restart).
func TestIdempotentUpload(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.s.chunkSize = 4
		var recs []issuer.Record
		for i := range 12 {
			id := fmt.Sprintf("0010900002%02d", i)
			recs = append(recs, record(id, dose("S1", "R"+id, 1, issuer.StatusFinalised)))
		}
		recs[10] = record(recs[10].Person.ID, dose("S1", "R0010900002"+"00", 1, issuer.StatusFinalised)) // an existing record id
		recs[10].Person = recs[0].Person
		body := ndjson(t, recs...)
		cut := errors.New("connection lost")
		n := 0
		_, err := e.s.IngestBatchWith(e.ctx, uploader("S1"), FormatNDJSON, strings.NewReader(body),
			func(RowResult) error {
				if n++; n == 3 {
					return cut
				}
				return nil
			}, IngestOptions{Key: "site-S1:file-1:part-0"})
		wantErr(t, "cut upload", err, cut)
		rep, err := e.s.Batch(e.ctx, uploader("S1"), "site-S1:file-1:part-0", 0, 0)
		if err != nil || rep.Complete || rep.LastRow == 0 || rep.LastRow >= 12 {
			t.Fatalf("batch after the cut: %+v (%v), want incomplete", rep, err)
		}
		done := rep.LastRow
		sum, got, err := e.collectWith(uploader("S1"), body, IngestOptions{Key: "site-S1:file-1:part-0"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			want := OutcomeStored
			switch {
			case r.Row <= done:
				want = OutcomeAlreadyStored
			case r.Row == 11:
				want = OutcomeAlreadyStored // record R…200, stored by this batch at row 1
			}
			if r.Outcome != want {
				t.Errorf("row %d: %s, want %s", r.Row, r.Outcome, want)
			}
		}
		if sum.Already+sum.Stored != 12 {
			t.Errorf("summary %+v", sum)
		}
		// After a restart, from a new service on the same store.
		e2 := newEnv(t, e.st)
		rep, err = e2.s.Batch(e.ctx, uploader("S1"), "site-S1:file-1:part-0", 0, 5)
		if err != nil || !rep.Complete || rep.LastRow != 12 || len(rep.Rows) != 5 || rep.Summary.Stored != 11 ||
			rep.Rows[0].Outcome != OutcomeStored {
			t.Fatalf("batch after restart: %+v (%v)", rep, err)
		}
		_, err = e2.s.Batch(e.ctx, uploader("S2"), "site-S1:file-1:part-0", 0, 0)
		wantErr(t, "another site's batch", err, ErrNotFound)
		// The same key with other content: those rows are refused.
		recs[2].Doses[0].Lot = "CHANGED"
		_, got, _ = e.collectWith(uploader("S1"), ndjson(t, recs...), IngestOptions{Key: "site-S1:file-1:part-0"})
		if got[2].Outcome != OutcomeRejected || got[2].Errors[0].Field != "idempotency_key" || got[3].Outcome != OutcomeAlreadyStored {
			t.Errorf("replay with other content: %+v %+v", got[2], got[3])
		}
		// A single record post and a correction request, each sent twice.
		for range 2 {
			res, err := e.s.SubmitRecordKey(e.ctx, uploader("S1"), "one-record-1", record(citizenB, dose("S1", "RB", 1, issuer.StatusDraft)))
			if err != nil || len(res) != 1 {
				t.Fatal(res, err)
			}
		}
		rep, err = e.s.Batch(e.ctx, uploader("S1"), "one-record-1", 0, 0)
		if err != nil || rep.Kind != "record" || rep.Summary.Stored != 1 {
			t.Fatalf("single record batch %+v (%v)", rep, err)
		}
		var ids []int64
		for range 2 {
			c, err := e.s.FileCorrectionKey(e.ctx, citizenB, "corr-1", CorrectionRequest{Kind: CorrectionMissing,
				Description: "dose 2 missing", Dose: dose("S1", "", 2, "")})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
		mine, _ := e.s.MyCorrections(e.ctx, citizenB)
		if ids[0] != ids[1] || len(mine) != 1 {
			t.Errorf("correction sent twice: ids %v, %d filed", ids, len(mine))
		}
	})
}

func (e *env) collectWith(actor Actor, body string, opts IngestOptions) (BatchSummary, []RowResult, error) {
	var got []RowResult
	sum, err := e.s.IngestBatchWith(e.ctx, actor, FormatNDJSON, strings.NewReader(body),
		func(r RowResult) error { got = append(got, r); return nil }, opts)
	return sum, got, err
}

// TestConcurrentSitesNeverConflict: sites uploading at once batches that
// name the same persons (shots merged across sites, new persons created by
// several at once) all succeed.
func TestConcurrentSitesNeverConflict(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.s.chunkSize = 40
		const sites, persons = 4, 120
		bodies := make([]string, sites)
		for s := range sites {
			site := fmt.Sprintf("S%d", s+1)
			if s == 3 {
				site = "S7"
			}
			var recs []issuer.Record
			for i := range persons {
				// Each site walks the persons in another order.
				j := (i*[]int{1, 7, 11, 13}[s] + s*17) % persons
				id := fmt.Sprintf("001090003%03d", j)
				recs = append(recs, record(id, dose(site, fmt.Sprintf("%s-%d", site, j), 1, issuer.StatusFinalised)))
			}
			bodies[s] = ndjson(t, recs...)
		}
		var wg sync.WaitGroup
		sums := make([]BatchSummary, sites)
		errs := make([]error, sites)
		for s := range sites {
			wg.Go(func() {
				site := fmt.Sprintf("S%d", s+1)
				if s == 3 {
					site = "S7"
				}
				sums[s], errs[s] = e.s.IngestBatch(e.ctx, uploader(site), FormatNDJSON, strings.NewReader(bodies[s]), nil)
			})
		}
		wg.Wait()
		merged := 0
		for s := range sites {
			if errs[s] != nil || sums[s].Rejected != 0 || sums[s].Stored+sums[s].Merged != persons {
				t.Fatalf("site %d: %+v (%v)", s, sums[s], errs[s])
			}
			merged += sums[s].Merged
		}
		if merged != (sites-1)*persons {
			t.Errorf("merged %d, want %d", merged, (sites-1)*persons)
		}
		if st := e.stats(); st.OpenReviews != 0 || st.PendingIssuance != persons {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestRowsReportedAsTheyCommit: an upload commits small transactions first,
// growing, and reports each one's rows as soon as it commits.
func TestRowsReportedAsTheyCommit(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		var body strings.Builder
		if err := WriteSyntheticNDJSON(&body, "S1", 300, 1, 4_000_000_000); err != nil {
			t.Fatal(err)
		}
		emitted := 0
		var atCommit []int
		sum, err := e.s.IngestBatchWith(e.ctx, uploader("S1"), FormatNDJSON, strings.NewReader(body.String()),
			func(RowResult) error { emitted++; return nil },
			IngestOptions{Key: "grow", Committed: func() error { atCommit = append(atCommit, emitted); return nil }})
		if err != nil || sum.Stored != 300 {
			t.Fatalf("%+v %v", sum, err)
		}
		if want := []int{firstChunk, 3 * firstChunk, 300}; !slices.Equal(atCommit, want) {
			t.Errorf("rows reported at each commit %v, want %v", atCommit, want)
		}
	})
}

// TestIdentityCheckedOnEveryRow: a person's details are protected even
// when the disagreeing row is not the first row of theirs in a chunk.
func TestIdentityCheckedOnEveryRow(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "A1", 1, issuer.StatusDraft)))
		same := record(citizenA, dose("S2", "B1", 1, issuer.StatusDraft))
		other := record(citizenA, dose("S2", "B2", 2, issuer.StatusDraft))
		other.Person.GivenName = "Thị Hồng"
		res, err := e.s.IngestBatch(e.ctx, system, FormatNDJSON, strings.NewReader(ndjson(t, same, other)), nil)
		if err != nil || res.Stored+res.Merged != 2 {
			t.Fatalf("%+v %v", res, err)
		}
		c, err := e.s.IdentityClaims(e.ctx, reviewer, e.personID(citizenA))
		if err != nil || len(c) != 1 || c[0].RecordID != "B2" {
			t.Fatalf("claims %+v (%v), want one for B2", c, err)
		}
		audit, _ := e.s.ListAudit(e.ctx, admin, AuditFilter{Action: "person.update"}, Page{})
		if len(audit) != 0 {
			t.Errorf("another site's row changed the person's details: %v", audit)
		}
	})
}
