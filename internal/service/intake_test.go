package service

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vaxcert/vaxcert/issuer"
)

func TestSubmitOutcomes(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		changed := dose("S1", "R1", 1, issuer.StatusDraft)
		changed.Lot = "OTHER"
		finalChanged := dose("S1", "R1", 1, issuer.StatusFinalised)
		finalChanged.Date = "2021-01-15"
		steps := []struct {
			name string
			rec  issuer.Record
			want []Outcome
		}{
			{"new draft", record(citizenA, dose("S1", "R1", 1, issuer.StatusDraft)), []Outcome{OutcomeStored}},
			{"same draft again", record(citizenA, dose("S1", "R1", 1, issuer.StatusDraft)), []Outcome{OutcomeDuplicate}},
			{"draft with new content", record(citizenA, changed), []Outcome{OutcomeStored}},
			{"draft finalised", record(citizenA, withStatus(changed, issuer.StatusFinalised)), []Outcome{OutcomeStored}},
			{"finalised sent as draft", record(citizenA, changed), []Outcome{OutcomeDuplicate}},
			{"finalised with new content", record(citizenA, finalChanged), []Outcome{OutcomeRejected}},
			{"same shot from another site", record(citizenA, withStatus(withKey(changed, "S2", "X9"), issuer.StatusFinalised)),
				[]Outcome{OutcomeMerged}},
			{"duplicate again is unchanged", record(citizenA, withStatus(withKey(changed, "S2", "X9"), issuer.StatusFinalised)),
				[]Outcome{OutcomeDuplicate}},
			{"two doses, one new", record(citizenA, withStatus(changed, issuer.StatusFinalised), dose("S1", "R2", 2, issuer.StatusFinalised)),
				[]Outcome{OutcomeDuplicate, OutcomeStored}},
		}
		for _, st := range steps {
			if got := e.submit(st.rec); !slices.Equal(got, st.want) {
				t.Fatalf("%s: outcomes %v, want %v", st.name, got, st.want)
			}
		}
		hist, err := e.s.RecordHistory(e.ctx, finaliser, RecordKey{Site: "S1", RecordID: "R1"})
		if err != nil {
			t.Fatal(err)
		}
		var versions []string
		for _, d := range hist {
			versions = append(versions, d.Site+":"+d.Status+"/"+d.Lot)
		}
		// The shot's history shows the other site's copy too.
		if want := []string{"S1:draft/LOTB", "S1:draft/OTHER", "S1:finalised/OTHER", "S2:finalised/OTHER"}; !slices.Equal(versions, want) {
			t.Errorf("history %v, want %v", versions, want)
		}
		if st := e.stats(); st.PendingIssuance != 1 || st.OpenReviews != 0 {
			t.Errorf("stats %+v, want 1 pending, 0 reviews", st)
		}
	})
}

func withStatus(d issuer.Dose, status string) issuer.Dose { d.Status = status; return d }

func withKey(d issuer.Dose, site, id string) issuer.Dose { d.Site, d.RecordID = site, id; return d }

func TestSubmitRejections(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "F1", 1, issuer.StatusFinalised)))
		badProduct := dose("S1", "R1", 1, issuer.StatusDraft)
		badProduct.Product = "NOT-A-VACCINE"
		future := dose("S1", "R1", 1, issuer.StatusDraft)
		future.Date = "2027-01-01"
		noDate := dose("S1", "R1", 1, issuer.StatusDraft)
		noDate.Date = ""
		badStatus := dose("S1", "R1", 1, "done")
		longLot := dose("S1", "R1", 1, issuer.StatusDraft)
		longLot.Lot = strings.Repeat("L", 81)
		beforeBirth := dose("S1", "R1", 1, issuer.StatusDraft)
		beforeBirth.Date = "1989-01-01"
		badID := record("12345", dose("S1", "R1", 1, issuer.StatusDraft))
		changedFinal := dose("S1", "F1", 1, issuer.StatusFinalised)
		changedFinal.Lot = "ZZZ"
		tests := []struct {
			name      string
			rec       issuer.Record
			field     string
			wantErr   error
			wantCode  string
			otherSite bool
		}{
			{"product not in value set", record(citizenA, badProduct), "doses[0].product", issuer.ErrValueSet, "value_set", false},
			{"date in the future", record(citizenA, future), "doses[0].date", issuer.ErrInvalid, "invalid", false},
			{"date missing", record(citizenA, noDate), "doses[0].date", issuer.ErrMissing, "missing", false},
			{"unknown status", record(citizenA, badStatus), "doses[0].status", issuer.ErrInvalid, "invalid", false},
			{"lot too long", record(citizenA, longLot), "doses[0].lot", issuer.ErrInvalid, "invalid", false},
			{"dose before birth", record(citizenA, beforeBirth), "doses[0].date", issuer.ErrContradictory, "contradictory", false},
			{"national id shape", badID, "person.id", issuer.ErrInvalid, "invalid", false},
			{"finalised record changed", record(citizenA, changedFinal), "record_id", ErrImmutable, "immutable", false},
			{"another site's record", record(citizenA, dose("S2", "R1", 1, issuer.StatusDraft)), "doses[0].site", ErrForbidden, "forbidden", true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				res, err := e.s.IngestBatch(e.ctx, uploader("S1"), FormatNDJSON, strings.NewReader(ndjson(t, tc.rec)), nil)
				if err != nil {
					t.Fatal(err)
				}
				if res.Rejected != 1 || res.Stored+res.Merged+res.Duplicate != 0 {
					t.Fatalf("summary %+v, want one rejection", res)
				}
				var got []RowResult
				e.s.IngestBatch(e.ctx, uploader("S1"), FormatNDJSON, strings.NewReader(ndjson(t, tc.rec)),
					func(r RowResult) error { got = append(got, r); return nil })
				if len(got) != 1 || got[0].Outcome != OutcomeRejected {
					t.Fatalf("results %+v, want one rejection", got)
				}
				var found bool
				for _, fe := range got[0].Errors {
					if fe.Field == tc.field {
						found = true
						if !errors.Is(fe, tc.wantErr) || Code(fe) != tc.wantCode {
							t.Errorf("field %s: error %v (code %s), want %v (%s)", fe.Field, fe.Err, Code(fe), tc.wantErr, tc.wantCode)
						}
					}
					noPersonalData(t, "field error", fe.Error())
				}
				if !found {
					t.Errorf("errors %v do not name field %s", got[0].Errors, tc.field)
				}
			})
		}
		// SubmitRecord refuses another site's record outright.
		_, err := e.s.SubmitRecord(e.ctx, uploader("S1"), record(citizenA, dose("S2", "R1", 1, issuer.StatusDraft)))
		wantErr(t, "SubmitRecord of another site", err, ErrForbidden)
		_, err = e.s.SubmitRecord(e.ctx, uploader("S1"), record(citizenA))
		wantErr(t, "SubmitRecord without doses", err, ErrInvalid)
		_, err = e.s.SubmitRecord(e.ctx, finaliser, record(citizenA, dose("S1", "R1", 1, issuer.StatusDraft)))
		wantErr(t, "SubmitRecord by a finaliser", err, ErrForbidden)
	})
}

func TestPersonDetailsFollowDrafts(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "R1", 1, issuer.StatusDraft)))
		rec := record(citizenA, dose("S1", "R2", 2, issuer.StatusFinalised))
		rec.Person.GivenName = "Văn Minh"
		if got := e.submit(rec); !slices.Equal(got, []Outcome{OutcomeStored}) {
			t.Fatalf("outcomes %v, want accepted", got)
		}
		audit, err := e.s.ListAudit(e.ctx, admin, AuditFilter{Action: "person.update"}, Page{})
		if err != nil || len(audit) != 1 || audit[0].After != `{"changed":["given_name"]}` {
			t.Fatalf("person.update audit %v (%v), want one naming given_name", audit, err)
		}
	})
}

func TestCrossSiteMergeCountsOnce(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "A1", 1, issuer.StatusFinalised)))
		lower := dose("S2", "B1", 1, issuer.StatusFinalised)
		lower.Lot = "lotb" // same shot: lots compare case-insensitively
		if got := e.submit(record(citizenA, lower)); !slices.Equal(got, []Outcome{OutcomeMerged}) {
			t.Fatalf("outcomes %v, want merged", got)
		}
		e.submit(record(citizenA, dose("S1", "A2", 2, issuer.StatusFinalised)))
		recs, err := e.s.PersonRecords(e.ctx, finaliser, e.personID(citizenA))
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 3 || recs[1].MergedInto != recs[0].ID || recs[0].MergedInto != 0 || recs[2].MergedInto != 0 {
			t.Fatalf("records %+v: want the second linked to the first", recs)
		}
		c := e.issue(citizenA)
		if v := c.Payload.V[0]; v.DN != 2 || v.SD != 2 {
			t.Errorf("certificate dn/sd = %d/%d, want 2/2", v.DN, v.SD)
		}
		if st := e.stats(); st.OpenReviews != 0 {
			t.Errorf("a merged duplicate opened a review")
		}
		// Voiding one copy voids the shot: both copies.
		if _, err := e.s.VoidRecord(e.ctx, finaliser, RecordKey{Site: "S1", RecordID: "A1"}, "never given"); err != nil {
			t.Fatal(err)
		}
		recs, _ = e.s.PersonRecords(e.ctx, finaliser, e.personID(citizenA))
		if recs[0].Status != StatusVoid || recs[1].Status != StatusVoid || recs[1].MergedInto != 0 {
			t.Fatalf("after void: %+v, want both copies void", recs)
		}
		if c2 := e.issue(citizenA); c2.UVCI != c.UVCI {
			t.Errorf("voiding dose 1 of a 2/2 certificate changed it")
		}
	})
}

func ndjson(t *testing.T, recs ...issuer.Record) string {
	t.Helper()
	var b strings.Builder
	for _, r := range recs {
		b.WriteString(mustJSON(t, r))
		b.WriteByte('\n')
	}
	return b.String()
}

// TestConcurrentUploads sends the same batch from several goroutines: every
// dose ends up stored once, each upload reporting it accepted (first) or
// unchanged, and every write that lost a race was retried.
func TestConcurrentUploads(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.s.chunkSize = 50
		var body strings.Builder
		if err := WriteSyntheticNDJSON(&body, "S1", 200, 2, 3_000_000_000); err != nil {
			t.Fatal(err)
		}
		const uploads = 4
		sums := make([]BatchSummary, uploads)
		errs := make([]error, uploads)
		var wg sync.WaitGroup
		for i := range uploads {
			wg.Go(func() {
				sums[i], errs[i] = e.s.IngestBatch(e.ctx, uploader("S1"), FormatNDJSON, strings.NewReader(body.String()), nil)
			})
		}
		wg.Wait()
		accepted := 0
		for i := range uploads {
			if errs[i] != nil || sums[i].Rejected != 0 || sums[i].Merged != 0 || sums[i].Stored+sums[i].Duplicate != 400 {
				t.Fatalf("upload %d: %+v (%v)", i, sums[i], errs[i])
			}
			accepted += sums[i].Stored
		}
		if st := e.stats(); accepted != 400 || st.PendingIssuance != 200 {
			t.Fatalf("accepted %d in all, %d pending; want 400 and 200", accepted, st.PendingIssuance)
		}
	})
}

func TestAmendPerson(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "R1", 1, issuer.StatusFinalised)))
		first := e.issue(citizenA)
		pid := e.personID(citizenA)
		fixed := holder("ignored")
		fixed.GivenName = "Văn Minh"
		wantErr(t, "without reason", e.s.AmendPerson(e.ctx, finaliser, pid, fixed, ""), ErrInvalid)
		wantErr(t, "by an uploader", e.s.AmendPerson(e.ctx, uploader("S1"), pid, fixed, "typo"), ErrForbidden)
		wantErr(t, "unknown person", e.s.AmendPerson(e.ctx, finaliser, 999, fixed, "typo"), ErrNotFound)
		bad := fixed
		bad.BirthDate = "1990-02-30"
		wantErr(t, "invalid birth date", e.s.AmendPerson(e.ctx, finaliser, pid, bad, "typo"), ErrInvalid)
		wantErr(t, "amend", e.s.AmendPerson(e.ctx, reviewer, pid, fixed, "given name misspelt"), nil)
		c := e.issue(citizenA)
		if c.UVCI == first.UVCI || c.Payload.Nam.GN != "Văn Minh" || c.Payload.Nam.GNT != "VAN<MINH" {
			t.Fatalf("certificate after the correction: %+v", c.Payload.Nam)
		}
		// Uploads now carry the corrected details.
		rec := record(citizenA, dose("S1", "R2", 2, issuer.StatusFinalised))
		rec.Person.GivenName = "Văn Minh"
		if got := e.submit(rec); !slices.Equal(got, []Outcome{OutcomeStored}) {
			t.Errorf("upload with the corrected details: %v", got)
		}
	})
}
