package service

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/issuer"
)

// RecordKey identifies a dose record: the site and the site's record id.
type RecordKey = store.RecordKey

// DoseRecord is one version of a dose record with its bookkeeping: person
// key, version, status (draft, finalised or [StatusVoid]), the canonical
// record it duplicates (MergedInto, an internal id), and who changed it,
// when and why.
type DoseRecord = store.Dose

// StatusVoid is the status of a record withdrawn by [Service.VoidRecord].
const StatusVoid = store.StatusVoid

// Review is a person whose finalised records contradict each other; while
// it is open no certificate is issued for them.
type Review = store.Review

// Outcome is what happened to one uploaded or finalised record.
type Outcome string

// Outcomes of an uploaded dose (see [Service.IngestBatch]).
const (
	// OutcomeStored: a new record, or a draft updated or finalised.
	OutcomeStored Outcome = "stored"
	// OutcomeAlreadyStored: this upload — earlier in the same request, or
	// an earlier attempt under the same Idempotency-Key — stored the record
	// exactly so.
	OutcomeAlreadyStored Outcome = "already_stored_by_this_batch"
	// OutcomeDuplicate: an identical record was already stored before this
	// upload, or the record was stored as a duplicate of the same shot
	// recorded by the same site under another record id; it is linked to
	// that record and never counted twice.
	OutcomeDuplicate Outcome = "duplicate_of_existing"
	// OutcomeMerged: stored, as a copy of the same shot already recorded
	// by another site; the two are one shot: counted once, amended and
	// voided together.
	OutcomeMerged Outcome = "merged_with_other_site"
	// OutcomeRejected: nothing was stored; see the errors.
	OutcomeRejected Outcome = "rejected"
)

// The store keeps its own copy of the interchange format's dose type (so
// that it does not import the signing code); this conversion stops
// compiling if the two drift apart (TestStoreTypes checks the statuses).
var _ = store.DoseFields(issuer.Dose{})

// Outcomes of finalising a record.
const (
	// OutcomeFinalised: a draft was finalised.
	OutcomeFinalised Outcome = "finalised"
	// OutcomeUnchanged: the record was already finalised.
	OutcomeUnchanged Outcome = "unchanged"
)

// doseFromUpload turns an uploaded dose into a record version for person.
func doseFromUpload(d issuer.Dose, personID int64) *store.Dose {
	return &store.Dose{DoseFields: store.DoseFields(d), PersonID: personID,
		ShotKey: store.ShotKey(personID, d.Product, d.Lot, d.Date, d.DoseNumber)}
}

// state is what the audit trail says about a record version: bookkeeping,
// no content (the content is in the record's history).
func state(d *store.Dose) map[string]any {
	m := map[string]any{"version": d.Version, "status": d.Status, "person": d.PersonID}
	if d.MergedInto != 0 {
		m["merged_into"] = d.MergedInto
	}
	return m
}

// changedFields names the content fields that differ between two versions.
func changedFields(a, b *store.Dose) []string {
	var out []string
	for _, f := range []struct {
		name string
		same bool
	}{
		{"person", a.PersonID == b.PersonID}, {"product", a.Product == b.Product},
		{"manufacturer", a.Manufacturer == b.Manufacturer}, {"lot", a.Lot == b.Lot},
		{"dose_number", a.DoseNumber == b.DoseNumber}, {"series_doses", a.SeriesDoses == b.SeriesDoses},
		{"date", a.Date == b.Date}, {"country", a.Country == b.Country}, {"status", a.Status == b.Status},
	} {
		if !f.same {
			out = append(out, f.name)
		}
	}
	return out
}

func doseSubject(k RecordKey) string { return "dose:" + k.String() }

// revision is the next version of cur with next's content and status,
// recorded in c: the audit entry, and which persons to relink and
// re-evaluate.
func (c *changes) revision(cur, next *store.Dose, action, reason string) *store.Dose {
	n := *next
	n.ID, n.Site, n.RecordID, n.Version = cur.ID, cur.Site, cur.RecordID, cur.Version+1
	n.ShotKey = store.ShotKey(n.PersonID, n.Product, n.Lot, n.Date, n.DoseNumber)
	n.MergedInto = cur.MergedInto
	if n.Status == StatusVoid {
		n.MergedInto = 0
	}
	n.ChangedAt, n.ChangedBy, n.Reason = c.at, c.by.id, reason
	if !cur.SameContent(&n) || n.Status == StatusVoid {
		c.relink[cur.PersonID], c.relink[n.PersonID] = true, true
	}
	if cur.Status == issuer.StatusFinalised || n.Status == issuer.StatusFinalised {
		c.final[cur.PersonID], c.final[n.PersonID] = true, true
	}
	before := state(cur)
	after := state(&n)
	after["changed"] = changedFields(cur, &n)
	c.record(action, doseSubject(cur.Key()), before, after)
	return &n
}

// relink recomputes the cross-site duplicate links of the persons' records:
// among the records that are not void, those with the same shot key are one
// shot, whose canonical record is the one with the lowest id; the others
// point to it. It returns every record's canonical id (0 for canonical and
// void records).
func relink(ctx context.Context, tx *store.Tx, personIDs []int64) (map[int64]int64, error) {
	all, err := tx.DosesOfPersons(ctx, personIDs, false)
	if err != nil {
		return nil, err
	}
	out := map[int64]int64{}
	for _, ds := range all {
		canon := map[string]int64{}
		for _, d := range ds { // in id order
			want := int64(0)
			if d.Status != StatusVoid {
				if c, ok := canon[d.ShotKey]; ok {
					want = c
				} else {
					canon[d.ShotKey] = d.ID
				}
			}
			out[d.ID] = want
			if d.MergedInto != want {
				if err := tx.SetMergedInto(ctx, d.ID, want); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// shotContent is everything that must agree between two records of the
// same shot.
type shotContent struct {
	product, manufacturer, lot, date, country string
	seriesDoses                               int
}

func contentOf(d *store.Dose) shotContent {
	return shotContent{d.Product, d.Manufacturer, strings.ToUpper(strings.TrimSpace(d.Lot)), d.Date, d.Country, d.SeriesDoses}
}

// contradictions returns the dose numbers at which a person's finalised
// records contradict each other, ascending: two records claim the same dose
// number with different shot details, or a dose is dated before a dose with
// a lower number. These are the finalised-set checks of issuer.BuildPayload,
// made at every change so that the person is queued for review at once.
func contradictions(finalised []*store.Dose) []int {
	byDN := map[int]shotContent{}
	bad := map[int]bool{}
	for _, d := range finalised {
		if d.Status != issuer.StatusFinalised {
			continue
		}
		c := contentOf(d)
		if prev, ok := byDN[d.DoseNumber]; ok && prev != c {
			bad[d.DoseNumber] = true
		}
		byDN[d.DoseNumber] = c
	}
	dns := slices.Sorted(func(yield func(int) bool) {
		for dn := range byDN {
			if !yield(dn) {
				return
			}
		}
	})
	for i := 1; i < len(dns); i++ {
		if byDN[dns[i]].date < byDN[dns[i-1]].date {
			bad[dns[i]], bad[dns[i-1]] = true, true
		}
	}
	out := make([]int, 0, len(bad))
	for dn := range bad {
		out = append(out, dn)
	}
	slices.Sort(out)
	return out
}

// canonicalShots returns one finalised record per shot (the lowest id),
// in dose-number order: the set a certificate is computed from.
func canonicalShots(finalised []*store.Dose) []*store.Dose {
	seen := map[string]bool{}
	var out []*store.Dose
	for _, d := range finalised {
		if d.Status != issuer.StatusFinalised || seen[d.ShotKey] {
			continue
		}
		seen[d.ShotKey] = true
		out = append(out, d)
	}
	slices.SortStableFunc(out, func(a, b *store.Dose) int { return cmp.Compare(a.DoseNumber, b.DoseNumber) })
	return out
}

// FinaliseResult is the outcome of finalising one record.
type FinaliseResult struct {
	Key     RecordKey
	Outcome Outcome // OutcomeFinalised, OutcomeUnchanged or OutcomeRejected
	Err     error   // for OutcomeRejected: ErrNotFound or ErrImmutable (void)
}

// Finalise finalises a draft record: from then on it counts towards the
// person's certificate and changes only by amendment. Finalising a
// finalised record changes nothing. Requires auth.PermFinalise.
func (s *Service) Finalise(ctx context.Context, actor Actor, key RecordKey) error {
	res, err := s.FinaliseBatch(ctx, actor, []RecordKey{key})
	if err != nil {
		return err
	}
	return res[0].Err
}

// FinaliseBatch finalises records, in transactions of a few thousand, and
// reports each one's outcome. On an error, the results returned are those
// of the transactions committed. Requires auth.PermFinalise.
func (s *Service) FinaliseBatch(ctx context.Context, actor Actor, keys []RecordKey) ([]FinaliseResult, error) {
	if err := allow(actor, auth.PermFinalise); err != nil {
		return nil, err
	}
	out := make([]FinaliseResult, 0, len(keys))
	for start := 0; start < len(keys); start += s.chunkSize {
		chunk := keys[start:min(start+s.chunkSize, len(keys))]
		var res []FinaliseResult
		err := s.st.Write(ctx, func(tx *store.Tx) error {
			c := newChanges(staffOrSystem(actor), s.clock())
			res = make([]FinaliseResult, len(chunk))
			cur, err := s.lockedDoses(ctx, tx, chunk)
			if err != nil {
				return err
			}
			var prev, next []*store.Dose
			for i, k := range chunk {
				res[i].Key = k
				d := cur[k]
				switch {
				case d == nil:
					res[i].Outcome, res[i].Err = OutcomeRejected, ErrNotFound
				case d.Status == issuer.StatusFinalised:
					res[i].Outcome = OutcomeUnchanged
				case d.Status == StatusVoid:
					res[i].Outcome, res[i].Err = OutcomeRejected, ErrImmutable
				default:
					f := *d
					f.Status = issuer.StatusFinalised
					n := c.revision(d, &f, "dose.finalise", "")
					prev, next = append(prev, d), append(next, n)
					cur[k] = n
					res[i].Outcome = OutcomeFinalised
				}
			}
			if err := tx.ReviseDoses(ctx, prev, next); err != nil {
				return err
			}
			return c.commit(ctx, tx)
		})
		if err != nil {
			return out, err
		}
		out = append(out, res...)
	}
	return out, nil
}

// lockedDoses reads records, locks their persons (see
// [store.Tx.PersonsByID]) and reads them again, so that what it returns
// cannot change before the transaction ends.
func (s *Service) lockedDoses(ctx context.Context, tx *store.Tx, keys []RecordKey) (map[RecordKey]*store.Dose, error) {
	ds, err := tx.DosesByKey(ctx, keys)
	if err != nil {
		return nil, err
	}
	persons := map[int64]bool{}
	for _, d := range ds {
		persons[d.PersonID] = true
	}
	if len(persons) == 0 {
		return ds, nil
	}
	if _, err := tx.PersonsByID(ctx, sortedKeys(persons), true); err != nil {
		return nil, err
	}
	return tx.DosesByKey(ctx, keys)
}

// checkReason validates the reason of an amendment or decision.
func checkReason(reason string) error {
	switch {
	case strings.TrimSpace(reason) == "":
		return invalid("reason", issuer.ErrMissing)
	case len(reason) > limits.MaxCorrectionText || !utf8.ValidString(reason):
		return invalid("reason", issuer.ErrInvalid)
	}
	return nil
}

// AmendRecord replaces the content of a record, draft or finalised, by a
// new version; the earlier versions stay in [Service.RecordHistory]. reason
// is required. The amendment keeps the record's status and person: dose's
// Site and RecordID must be empty or equal key, its Status empty or the
// current status. Amending to identical content changes nothing. The
// person's certificate is then re-evaluated (pending issuance, review
// queue). Requires auth.PermFinalise or auth.PermReviewCorrections.
func (s *Service) AmendRecord(ctx context.Context, actor Actor, key RecordKey, dose issuer.Dose, reason string) (*DoseRecord, error) {
	if err := allow(actor, auth.PermFinalise, auth.PermReviewCorrections); err != nil {
		return nil, err
	}
	if err := checkReason(reason); err != nil {
		return nil, err
	}
	var out *store.Dose
	err := s.st.Write(ctx, func(tx *store.Tx) error {
		c := newChanges(staffOrSystem(actor), s.clock())
		var err error
		out, err = s.amend(ctx, tx, c, key, dose, reason, "dose.amend")
		if err != nil {
			return err
		}
		return c.commit(ctx, tx)
	})
	return out, err
}

// amend applies an amendment inside tx.
func (s *Service) amend(ctx context.Context, tx *store.Tx, c *changes, key RecordKey, dose issuer.Dose, reason, action string) (*store.Dose, error) {
	ds, err := s.lockedDoses(ctx, tx, []RecordKey{key})
	if err != nil {
		return nil, err
	}
	cur := ds[key]
	switch {
	case cur == nil:
		return nil, ErrNotFound
	case cur.Status == StatusVoid:
		return nil, ErrImmutable
	case dose.Site != "" && dose.Site != key.Site:
		return nil, invalid("site", issuer.ErrInvalid)
	case dose.RecordID != "" && dose.RecordID != key.RecordID:
		return nil, invalid("record_id", issuer.ErrInvalid)
	case dose.Status != "" && dose.Status != cur.Status:
		return nil, invalid("status", issuer.ErrInvalid)
	}
	dose.Site, dose.RecordID, dose.Status = key.Site, key.RecordID, cur.Status
	ps, err := tx.PersonsByID(ctx, []int64{cur.PersonID}, false)
	if err != nil {
		return nil, err
	}
	p := ps[cur.PersonID]
	if errs := s.validateDose(personOf(p), dose, dateOf(c.at)); len(errs) > 0 {
		return nil, &ValidationError{Fields: errs}
	}
	next := doseFromUpload(dose, cur.PersonID)
	if cur.SameContent(next) {
		return cur, nil
	}
	copies, err := shotCopies(ctx, tx, cur)
	if err != nil {
		return nil, err
	}
	n := c.revision(cur, next, action, reason)
	prev, revs := []*store.Dose{cur}, []*store.Dose{n}
	for _, d := range copies {
		nc := *n
		nc.Site, nc.RecordID, nc.Status = d.Site, d.RecordID, d.Status
		prev, revs = append(prev, d), append(revs, c.revision(d, &nc, action, copyReason(reason, cur.Key())))
	}
	if err := tx.ReviseDoses(ctx, prev, revs); err != nil {
		return nil, err
	}
	return n, nil
}

// shotCopies returns the other records of the shot d records: the
// person's records with the same shot key that are not void (the same
// shot uploaded by another site, or twice). An amendment or a void of one
// copy applies to all of them, so that the copies never contradict each
// other and the shot stays one logical record.
func shotCopies(ctx context.Context, tx *store.Tx, d *store.Dose) ([]*store.Dose, error) {
	all, err := tx.DosesOfPersons(ctx, []int64{d.PersonID}, false)
	if err != nil {
		return nil, err
	}
	var out []*store.Dose
	for _, o := range all[d.PersonID] {
		if o.ID != d.ID && o.ShotKey == d.ShotKey && o.Status != StatusVoid {
			out = append(out, o)
		}
	}
	return out, nil
}

// copyReason is the reason recorded on a copy changed with the record at
// key.
func copyReason(reason string, key RecordKey) string {
	return reason + " (same shot as " + key.String() + ")"
}

// VoidRecord withdraws a record (for example one entered for the wrong
// person or never administered): it keeps its history but no longer counts.
// reason is required; voiding a void record changes nothing. Requires
// auth.PermFinalise or auth.PermReviewCorrections.
func (s *Service) VoidRecord(ctx context.Context, actor Actor, key RecordKey, reason string) (*DoseRecord, error) {
	if err := allow(actor, auth.PermFinalise, auth.PermReviewCorrections); err != nil {
		return nil, err
	}
	if err := checkReason(reason); err != nil {
		return nil, err
	}
	var out *store.Dose
	err := s.st.Write(ctx, func(tx *store.Tx) error {
		c := newChanges(staffOrSystem(actor), s.clock())
		var err error
		out, err = s.void(ctx, tx, c, key, reason)
		if err != nil {
			return err
		}
		return c.commit(ctx, tx)
	})
	return out, err
}

func (s *Service) void(ctx context.Context, tx *store.Tx, c *changes, key RecordKey, reason string) (*store.Dose, error) {
	ds, err := s.lockedDoses(ctx, tx, []RecordKey{key})
	if err != nil {
		return nil, err
	}
	cur := ds[key]
	switch {
	case cur == nil:
		return nil, ErrNotFound
	case cur.Status == StatusVoid:
		return cur, nil
	}
	copies, err := shotCopies(ctx, tx, cur)
	if err != nil {
		return nil, err
	}
	var prev, revs []*store.Dose
	for i, d := range append([]*store.Dose{cur}, copies...) {
		v := *d
		v.Status = StatusVoid
		why := reason
		if i > 0 {
			why = copyReason(reason, cur.Key())
		}
		prev, revs = append(prev, d), append(revs, c.revision(d, &v, "dose.void", why))
	}
	if err := tx.ReviseDoses(ctx, prev, revs); err != nil {
		return nil, err
	}
	return revs[0], nil
}

// RecordHistory returns every version of a record and of every other copy
// of the same shot (the same shot uploaded by other sites, see
// [Service.IngestBatch]), ordered by the time of the change, oldest first;
// each version names its site and record id. Staff with auth.PermFinalise,
// auth.PermReviewCorrections or auth.PermReadAudit may read any record; an
// uploader only its own site's.
func (s *Service) RecordHistory(ctx context.Context, actor Actor, key RecordKey) ([]*DoseRecord, error) {
	if err := allow(actor, auth.PermFinalise, auth.PermReviewCorrections, auth.PermReadAudit); err != nil &&
		!(actor.Kind == ActorStaff && actor.Role.Allows(auth.PermUpload) && actor.Site == key.Site) {
		return nil, err
	}
	var out []*store.Dose
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		var err error
		if out, err = tx.DoseHistory(ctx, key); err != nil {
			return err
		}
		cur := out[len(out)-1]
		all, err := tx.DosesOfPersons(ctx, []int64{cur.PersonID}, false)
		if err != nil {
			return err
		}
		for _, o := range all[cur.PersonID] {
			if o.ID == cur.ID || o.ShotKey != cur.ShotKey {
				continue
			}
			h, err := tx.DoseHistory(ctx, o.Key())
			if err != nil {
				return err
			}
			out = append(out, h...)
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b *store.Dose) int {
		return cmp.Or(a.ChangedAt.Compare(b.ChangedAt), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Version, b.Version))
	})
	return out, err
}

// AmendPerson corrects a person's names or birth date (the ID in p is
// ignored), for example a misspelling found after their records were
// finalised, when uploads may no longer change them. It also resolves the
// person's open identity claims (see [NoteIdentityReview]): the details
// given are the ones the reviewer decided on, the stored ones when the
// claim was wrong. reason is required; identical details change nothing
// but the claims. The person's certificate is then
// re-evaluated. Requires auth.PermFinalise or auth.PermReviewCorrections.
func (s *Service) AmendPerson(ctx context.Context, actor Actor, personID int64, p issuer.Person, reason string) error {
	if err := allow(actor, auth.PermFinalise, auth.PermReviewCorrections); err != nil {
		return err
	}
	if err := checkReason(reason); err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx *store.Tx) error {
		ps, err := tx.PersonsByID(ctx, []int64{personID}, true)
		if err != nil {
			return err
		}
		cur := ps[personID]
		if cur == nil {
			return ErrNotFound
		}
		p.ID = cur.NationalID
		if errs := s.validatePerson(p); len(errs) > 0 {
			return &ValidationError{Fields: errs}
		}
		c := newChanges(staffOrSystem(actor), s.clock())
		// The reviewer has decided the person's details: their open
		// identity claims are resolved, by this amendment or by keeping
		// the details as they are.
		claims, err := tx.ResolveIdentityClaims(ctx, personID, c.at)
		if err != nil {
			return err
		}
		if claims > 0 {
			c.identity[personID] = true
			c.record("identity.resolve", personSubject(personID), nil, map[string]any{"claims": claims,
				"reason": reason})
		}
		if sameDetails(cur, p) {
			return c.commit(ctx, tx)
		}
		changed := detailChanges(cur, p)
		setDetails(cur, p, c.at)
		if err := tx.UpdatePerson(ctx, cur); err != nil {
			return err
		}
		c.record("person.amend", personSubject(personID), nil, map[string]any{"changed": changed, "reason": reason})
		c.final[personID] = true
		return c.commit(ctx, tx)
	})
}

// FindPerson returns the surrogate key of the person with a national ID
// number, the key every other staff method takes. Requires
// auth.PermFinalise or auth.PermReviewCorrections.
func (s *Service) FindPerson(ctx context.Context, actor Actor, nationalID string) (int64, error) {
	if err := allow(actor, auth.PermFinalise, auth.PermReviewCorrections); err != nil {
		return 0, err
	}
	var id int64
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		p, err := tx.PersonByNationalID(ctx, nationalID)
		if err == nil {
			id = p.ID
		}
		return err
	})
	return id, err
}

// PersonRecords returns the current version of every record of a person,
// void ones included, in the order they arrived. Requires auth.PermFinalise
// or auth.PermReviewCorrections.
func (s *Service) PersonRecords(ctx context.Context, actor Actor, personID int64) ([]*DoseRecord, error) {
	if err := allow(actor, auth.PermFinalise, auth.PermReviewCorrections); err != nil {
		return nil, err
	}
	var out []*store.Dose
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		if _, err := tx.Person(ctx, personID); err != nil {
			return err
		}
		ds, err := tx.DosesOfPersons(ctx, []int64{personID}, false)
		out = ds[personID]
		return err
	})
	return out, err
}

// ListReviewQueue returns open reviews, oldest first. Each names the person
// (see [Service.PersonRecords]) and the contradicting dose numbers.
// Requires auth.PermFinalise or auth.PermReviewCorrections.
func (s *Service) ListReviewQueue(ctx context.Context, actor Actor, page Page) ([]*Review, error) {
	if err := allow(actor, auth.PermFinalise, auth.PermReviewCorrections); err != nil {
		return nil, err
	}
	var out []*store.Review
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ListOpenReviews(ctx, page.After, page.limit())
		return err
	})
	return out, err
}

// Resolution resolves a review by amending or voiding one of the person's
// records.
type Resolution struct {
	Record RecordKey
	// Void withdraws the record; otherwise Dose is its amended content (see
	// [Service.AmendRecord]).
	Void   bool
	Dose   issuer.Dose
	Reason string
}

// ResolveReview applies a resolution to one of the review's person's
// records and re-evaluates the person in the same transaction. It returns
// the review afterwards: resolved if the records no longer contradict each
// other, still open otherwise (another record needs fixing). Requires
// auth.PermFinalise or auth.PermReviewCorrections.
func (s *Service) ResolveReview(ctx context.Context, actor Actor, reviewID int64, res Resolution) (*Review, error) {
	if err := allow(actor, auth.PermFinalise, auth.PermReviewCorrections); err != nil {
		return nil, err
	}
	if err := checkReason(res.Reason); err != nil {
		return nil, err
	}
	var out *store.Review
	err := s.st.Write(ctx, func(tx *store.Tx) error {
		c := newChanges(staffOrSystem(actor), s.clock())
		r, err := tx.Review(ctx, reviewID)
		if err != nil {
			return err
		}
		if !r.ResolvedAt.IsZero() {
			return ErrConflict
		}
		d, err := tx.Dose(ctx, res.Record)
		switch {
		case errors.Is(err, ErrNotFound) || err == nil && d.PersonID != r.PersonID:
			return invalid("record", issuer.ErrInvalid)
		case err != nil:
			return err
		}
		if res.Void {
			_, err = s.void(ctx, tx, c, res.Record, res.Reason)
		} else {
			_, err = s.amend(ctx, tx, c, res.Record, res.Dose, res.Reason, "dose.amend")
		}
		if err != nil {
			return err
		}
		c.final[r.PersonID] = true // re-evaluate even if nothing changed
		if err := c.commit(ctx, tx); err != nil {
			return err
		}
		out, err = tx.Review(ctx, reviewID)
		return err
	})
	return out, err
}

func personOf(p *store.Person) issuer.Person {
	return issuer.Person{ID: p.NationalID, FamilyName: p.FamilyName, GivenName: p.GivenName, BirthDate: p.BirthDate}
}
