package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/issuer"
)

// RowResult is the outcome of one uploaded dose. It carries no personal
// data: the row number, the record's site and id as uploaded, the outcome
// and, when rejected, the fields at fault (never their values).
type RowResult struct {
	// Row is the 1-based line number in the upload (for CSV the header is
	// line 1; for NDJSON every dose of a line shares its number; for
	// [Service.SubmitRecord] it is 1).
	Row      int
	Site     string
	RecordID string
	Outcome  Outcome // accepted, unchanged, merged or rejected
	// Errors name the rejected fields: "product", "person.birth_date",
	// "doses[1].date" (NDJSON), "line" for an unreadable row; Err is an
	// [issuer] field sentinel or [ErrForbidden] (another site's record),
	// [ErrImmutable] (a finalised record with other content, or a person
	// whose finalised records fix their details), [ErrMalformed] or
	// [ErrLineTooLong]. See [Code].
	Errors []*issuer.FieldError
}

// BatchSummary totals an upload.
type BatchSummary struct {
	// BatchID names the upload in the audit trail ("batch:<id>").
	BatchID string
	// Rows counts the upload's rows (lines); the other counts are doses.
	Rows      int
	Accepted  int
	Merged    int
	Unchanged int
	Rejected  int
}

func (b *BatchSummary) add(r RowResult) {
	switch r.Outcome {
	case OutcomeAccepted:
		b.Accepted++
	case OutcomeMerged:
		b.Merged++
	case OutcomeUnchanged:
		b.Unchanged++
	default:
		b.Rejected++
	}
}

// SubmitRecord stores the doses of one dose-record document and reports
// each dose's outcome (see [Service.IngestBatch] for the rules). Requires
// auth.PermUpload; an uploader may only submit its own site's records: one
// dose of another site fails the whole call with [ErrForbidden] and nothing
// is stored. A document without doses, or with more than
// limits.MaxDosesPerPerson, is [ErrInvalid].
func (s *Service) SubmitRecord(ctx context.Context, actor Actor, rec issuer.Record) ([]RowResult, error) {
	if err := allow(actor, auth.PermUpload); err != nil {
		return nil, err
	}
	switch {
	case len(rec.Doses) == 0:
		return nil, invalid("doses", issuer.ErrMissing)
	case len(rec.Doses) > limits.MaxDosesPerPerson:
		return nil, invalid("doses", issuer.ErrInvalid)
	}
	for _, d := range rec.Doses {
		if actor.Kind == ActorStaff && d.Site != actor.Site {
			return nil, ErrForbidden
		}
	}
	return s.ingestChunk(ctx, actor, newBatchID(), recordItems(rec, 1))
}

// IngestBatch stores a bulk upload, streamed from r in constant memory, and
// calls emit (if not nil) with each dose's outcome once the transaction that
// stored it has committed. Rows are committed in chunks of a few thousand
// doses; an error (a database failure, emit's error, ctx ending, or
// [ErrTooManyRows] after limits.MaxBatchRows rows) stops the upload, and
// exactly the doses already emitted are stored. A malformed CSV header is
// [ErrInvalid] before anything is stored. Requires auth.PermUpload.
//
// Each dose is handled on its own, idempotently by (site, record_id):
//   - invalid (see the fields in [RowResult]) or of another site than the
//     uploader's: rejected;
//   - new: stored as version 1 (accepted), or, when the same shot — person,
//     product, lot, date, dose number — is already recorded under another
//     record id (usually another site's), stored and linked to that
//     canonical record (merged);
//   - identical to the stored record: unchanged (a finalised record sent
//     again as draft stays finalised);
//   - different content for a stored draft: a new version (accepted or
//     merged), the previous one kept in the history;
//   - different content for a finalised or void record: rejected with
//     [ErrImmutable]; use [Service.AmendRecord].
//
// A person's names and birth date follow the latest upload while they have
// no finalised record; afterwards a dose carrying other details is rejected
// with [ErrImmutable] on "person" (see [Service.AmendPerson]). Finalised doses mark their person for
// issuance and re-evaluate their records for contradictions (see
// [Service.ListReviewQueue]).
func (s *Service) IngestBatch(ctx context.Context, actor Actor, format Format, r io.Reader, emit func(RowResult) error) (BatchSummary, error) {
	sum := BatchSummary{BatchID: newBatchID()}
	if err := allow(actor, auth.PermUpload); err != nil {
		return sum, err
	}
	lr := newLineReader(r, s.maxLine)
	var src rowSource
	switch format {
	case FormatNDJSON:
		src = &ndjsonSource{lr: lr}
	case FormatCSV:
		cs, err := newCSVSource(lr)
		if err != nil {
			return sum, err
		}
		src = cs
	default:
		return sum, invalid("format", issuer.ErrInvalid)
	}
	start := s.now()
	defer func() {
		s.log.InfoContext(ctx, "upload", "batch", sum.BatchID, "actor", actor.ID, "rows", sum.Rows,
			"accepted", sum.Accepted, "merged", sum.Merged, "unchanged", sum.Unchanged, "rejected", sum.Rejected,
			"duration", s.now().Sub(start))
	}()
	chunk := make([]item, 0, s.chunkSize+limits.MaxDosesPerPerson)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		res, err := s.ingestChunk(ctx, actor, sum.BatchID, chunk)
		if err != nil {
			return err
		}
		chunk = chunk[:0]
		for _, r := range res {
			sum.add(r)
			if emit != nil {
				if err := emit(r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		items, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return sum, errors.Join(flush(), fmt.Errorf("service: failed to read upload: %w", err))
		}
		if sum.Rows == s.maxBatchRows {
			return sum, errors.Join(flush(), ErrTooManyRows)
		}
		sum.Rows++
		chunk = append(chunk, items...)
		if len(chunk) >= s.chunkSize {
			if err := flush(); err != nil {
				return sum, err
			}
		}
	}
	return sum, flush()
}

func newBatchID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// person is a person's state while a chunk is processed.
type person struct {
	p        *store.Person
	isNew    bool
	dirty    bool
	changed  map[string]bool
	finalRow bool // an earlier row of the chunk finalised a dose of theirs
}

// ingestChunk validates and stores a chunk of uploaded doses in one
// transaction and returns their results in order.
func (s *Service) ingestChunk(ctx context.Context, actor Actor, batchID string, items []item) ([]RowResult, error) {
	now := s.clock()
	today := dateOf(now)
	for i := range items {
		it := &items[i]
		if len(it.errs) > 0 {
			continue
		}
		for _, e := range s.validateDose(it.person, it.dose, today) {
			it.reject(e.Field, e.Err)
		}
		if actor.Kind == ActorStaff && it.dose.Site != actor.Site {
			it.reject("site", ErrForbidden)
		}
	}
	var results []RowResult
	err := s.st.Write(ctx, func(tx *store.Tx) error {
		var err error
		results, err = s.storeChunk(ctx, tx, actor, batchID, now, items)
		return err
	})
	return results, err
}

// storeChunk is the transaction of ingestChunk. It may run more than once
// (see store.Store.Write), so it keeps all its state local.
func (s *Service) storeChunk(ctx context.Context, tx *store.Tx, actor Actor, batchID string, now time.Time, items []item) ([]RowResult, error) {
	c := newChanges(staffOrSystem(actor), now)
	res := make([]RowResult, len(items))
	final := make([]*store.Dose, len(items)) // the stored version of each accepted dose
	ok := func(i int) bool { return len(items[i].errs) == 0 && res[i].Outcome != OutcomeRejected }
	reject := func(i int, field string, err error) {
		res[i].Outcome = OutcomeRejected
		res[i].Errors = append(res[i].Errors, &issuer.FieldError{Field: field, Err: err})
	}
	for i, it := range items {
		res[i] = RowResult{Row: it.row, Site: it.dose.Site, RecordID: it.dose.RecordID, Errors: it.errs}
		if len(it.errs) > 0 {
			res[i].Outcome = OutcomeRejected
		}
	}

	// Persons, locked for the rest of the transaction.
	var natIDs []string
	seen := map[string]bool{}
	for i, it := range items {
		if ok(i) && !seen[it.person.ID] {
			seen[it.person.ID] = true
			natIDs = append(natIDs, it.person.ID)
		}
	}
	known, err := tx.PersonsByNationalID(ctx, natIDs, true)
	if err != nil {
		return nil, err
	}
	var differ []int64
	for i, it := range items {
		if p := known[it.person.ID]; ok(i) && p != nil && !sameDetails(p, it.person) {
			differ = append(differ, p.ID)
		}
	}
	fixed, err := tx.PersonsWithFinalised(ctx, differ)
	if err != nil {
		return nil, err
	}
	persons := map[string]*person{}
	var newPersons []*store.Person
	for i, it := range items {
		if !ok(i) {
			continue
		}
		ps := persons[it.person.ID]
		if ps == nil {
			if p := known[it.person.ID]; p != nil {
				ps = &person{p: p}
			} else {
				ps = &person{isNew: true, p: &store.Person{NationalID: it.person.ID, CreatedAt: now}}
				setDetails(ps.p, it.person, now)
				newPersons = append(newPersons, ps.p)
			}
			persons[it.person.ID] = ps
		}
		if !sameDetails(ps.p, it.person) {
			if ps.finalRow || (!ps.isNew && fixed[ps.p.ID]) {
				reject(i, "person", ErrImmutable)
				continue
			}
			if !ps.isNew {
				ps.dirty = true
				if ps.changed == nil {
					ps.changed = map[string]bool{}
				}
				for _, f := range detailChanges(ps.p, it.person) {
					ps.changed[f] = true
				}
			}
			setDetails(ps.p, it.person, now)
		}
		if it.dose.Status == issuer.StatusFinalised {
			ps.finalRow = true
		}
	}
	if err := tx.InsertPersons(ctx, newPersons); err != nil {
		return nil, err
	}
	for _, ps := range persons {
		if ps.dirty {
			if err := tx.UpdatePerson(ctx, ps.p); err != nil {
				return nil, err
			}
			c.record("person.update", personSubject(ps.p.ID), nil, map[string]any{"changed": sortedNames(ps.changed)})
		}
	}

	// Records.
	// A new person has no records yet: only existing persons' records and
	// shots are looked up.
	var recKeys []RecordKey
	var shotKeys []string
	next := make([]*store.Dose, len(items))
	for i, it := range items {
		if ok(i) {
			ps := persons[it.person.ID]
			next[i] = doseFromUpload(it.dose, ps.p.ID)
			if !ps.isNew {
				recKeys = append(recKeys, next[i].Key())
				shotKeys = append(shotKeys, next[i].ShotKey)
			}
		}
	}
	local, err := tx.DosesByKey(ctx, recKeys)
	if err != nil {
		return nil, err
	}
	canon, err := tx.CanonicalShots(ctx, shotKeys)
	if err != nil {
		return nil, err
	}
	ids, err := tx.NewDoseIDs(ctx, len(items)-len(local))
	if err != nil {
		return nil, err
	}
	var inserts, prev, revs []*store.Dose
	for i := range items {
		if !ok(i) {
			continue
		}
		n := next[i]
		key := n.Key()
		cur := local[key]
		switch {
		case cur == nil:
			n.ID, ids = ids[0], ids[1:]
			n.Version, n.ChangedAt, n.ChangedBy = 1, now, c.by.id
			if id, dup := canon[n.ShotKey]; dup {
				n.MergedInto = id
			} else {
				canon[n.ShotKey] = n.ID
			}
			if n.Status == issuer.StatusFinalised {
				c.final[n.PersonID] = true
			}
			c.record("dose.create", doseSubject(key), nil, state(n))
			inserts = append(inserts, n)
			local[key], final[i] = n, n
		case cur.SameContent(n) && !(cur.Status == issuer.StatusDraft && n.Status == issuer.StatusFinalised):
			res[i].Outcome = OutcomeUnchanged
		case cur.SameContent(n):
			f := *cur
			f.Status = issuer.StatusFinalised
			r := c.revision(cur, &f, "dose.finalise", "")
			prev, revs = append(prev, cur), append(revs, r)
			local[key], final[i] = r, r
		case cur.Status != issuer.StatusDraft:
			reject(i, "record_id", ErrImmutable)
		default:
			r := c.revision(cur, n, "dose.update", "")
			prev, revs = append(prev, cur), append(revs, r)
			local[key], final[i] = r, r
		}
	}
	if err := tx.InsertDoses(ctx, inserts); err != nil {
		return nil, err
	}
	c.fresh = map[int64][]*store.Dose{}
	for _, ps := range persons {
		if ps.isNew {
			c.fresh[ps.p.ID] = nil
		}
	}
	for _, d := range local {
		if ds, isNew := c.fresh[d.PersonID]; isNew {
			c.fresh[d.PersonID] = append(ds, d)
		}
	}
	if err := tx.ReviseDoses(ctx, prev, revs); err != nil {
		return nil, err
	}
	if err := c.settle(ctx, tx); err != nil {
		return nil, err
	}
	var sum BatchSummary
	for i, d := range final {
		if d != nil {
			merged := d.MergedInto
			if m, relinked := c.merged[d.ID]; relinked {
				merged = m
			}
			res[i].Outcome = OutcomeAccepted
			if merged != 0 {
				res[i].Outcome = OutcomeMerged
			}
		}
		sum.add(res[i])
	}
	c.record("upload", "batch:"+batchID, nil, map[string]any{"site": actor.Site, "rows_from": items[0].row,
		"rows_to": items[len(items)-1].row, "accepted": sum.Accepted, "merged": sum.Merged,
		"unchanged": sum.Unchanged, "rejected": sum.Rejected})
	return res, tx.InsertAudit(ctx, c.audit)
}

func sameDetails(p *store.Person, q issuer.Person) bool {
	return p.FamilyName == q.FamilyName && p.GivenName == q.GivenName && p.BirthDate == q.BirthDate
}

func setDetails(p *store.Person, q issuer.Person, now time.Time) {
	p.FamilyName, p.GivenName, p.BirthDate, p.UpdatedAt = q.FamilyName, q.GivenName, q.BirthDate, now
}

// detailChanges names the person fields that differ, never their values.
func detailChanges(p *store.Person, q issuer.Person) []string {
	var out []string
	if p.FamilyName != q.FamilyName {
		out = append(out, "family_name")
	}
	if p.GivenName != q.GivenName {
		out = append(out, "given_name")
	}
	if p.BirthDate != q.BirthDate {
		out = append(out, "birth_date")
	}
	return out
}

func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for _, f := range []string{"family_name", "given_name", "birth_date"} {
		if m[f] {
			out = append(out, f)
		}
	}
	return out
}
