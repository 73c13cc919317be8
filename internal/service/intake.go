package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/textcheck"
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
	// Outcome is OutcomeStored, OutcomeAlreadyStored, OutcomeDuplicate,
	// OutcomeMerged or OutcomeRejected.
	Outcome Outcome
	// Notes say what else happened to an accepted dose: see [Note].
	Notes []Note
	// Errors name the rejected fields: "product", "person.birth_date",
	// "doses[1].date" (NDJSON), "line" for an unreadable row,
	// "idempotency_key" for a row that differs from the row of the same
	// number an earlier request with the same key stored; Err is an
	// [issuer] field sentinel or [ErrForbidden] (another site's record),
	// [ErrImmutable] (a finalised record with other content), [ErrConflict]
	// (idempotency key), [ErrMalformed] or [ErrLineTooLong]. See [Code].
	Errors []*issuer.FieldError
}

// Note is a remark on an uploaded dose that was not rejected.
type Note string

// Notes.
const (
	// NoteNameVariant: the row names a known person whose stored names
	// differ from the row's only in diacritics or case (the same ICAO
	// transliteration) with the same birth date: it is taken as the same
	// person, whose stored details stay as they are.
	NoteNameVariant Note = "same_person_name_variant"
	// NoteIdentityReview: the row names a known person with other details
	// than the stored ones, which another site's upload may not change.
	// The dose is stored, the stored details are kept, and the
	// disagreement waits in the review queue ([Service.ListReviewQueue]);
	// no certificate is issued for the person until a reviewer resolves it
	// with [Service.AmendPerson].
	NoteIdentityReview Note = "identity_review"
	// NoteStoredAsDraft: the row is "finalised" but the uploader's site may
	// not finalise at the source (see [Service.SetSitePermission]): it was
	// stored as a draft for a finaliser.
	NoteStoredAsDraft Note = "stored_as_draft"
)

// BatchSummary totals an upload.
type BatchSummary struct {
	// BatchID is the upload's key: the Idempotency-Key it was sent with,
	// or the one the service assigned. [Service.Batch] returns the
	// upload's stored outcome under it; the audit trail names it
	// "batch:<id>".
	BatchID string
	// Rows counts the upload's rows (lines); the other counts are doses.
	Rows      int
	Stored    int
	Already   int
	Duplicate int
	Merged    int
	Rejected  int
}

func (b *BatchSummary) add(r RowResult) {
	switch r.Outcome {
	case OutcomeStored:
		b.Stored++
	case OutcomeAlreadyStored:
		b.Already++
	case OutcomeDuplicate:
		b.Duplicate++
	case OutcomeMerged:
		b.Merged++
	default:
		b.Rejected++
	}
}

// IngestOptions are the optional parts of an upload.
type IngestOptions struct {
	// Key is the client's Idempotency-Key (see [ValidKey]); empty: the
	// service assigns one. Sending the same upload again with the same key
	// applies each row at most once: the rows an earlier attempt committed
	// are reported OutcomeAlreadyStored (or their earlier outcome), the
	// others are processed, so a client that lost the connection re-sends
	// the whole upload and it continues where it stopped.
	Key string
	// Committed, if not nil, is called after the outcomes of each committed
	// transaction were emitted (the HTTP layer flushes the response there).
	Committed func() error
}

// ValidKey reports whether key may be an Idempotency-Key: 1 to 128
// characters among A-Z a-z 0-9 . _ : -.
func ValidKey(key string) bool {
	if len(key) == 0 || len(key) > maxKeyLen {
		return false
	}
	for _, r := range key {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == ':', r == '-':
		default:
			return false
		}
	}
	return true
}

const maxKeyLen = 128

// Batch kinds.
const (
	kindBatch      = "batch"
	kindRecord     = "record"
	kindCorrection = "correction"
)

// SubmitRecord stores the doses of one dose-record document and reports
// each dose's outcome (see [Service.IngestBatch] for the rules). Requires
// auth.PermUpload; an uploader may only submit its own site's records: one
// dose of another site fails the whole call with [ErrForbidden] and nothing
// is stored. A document without doses, or with more than
// limits.MaxDosesPerPerson, is [ErrInvalid]. With a key, the call is
// idempotent (see [IngestOptions]); a key an upload of another kind used is
// [ErrConflict].
func (s *Service) SubmitRecord(ctx context.Context, actor Actor, rec issuer.Record) ([]RowResult, error) {
	return s.SubmitRecordKey(ctx, actor, "", rec)
}

// SubmitRecordKey is [Service.SubmitRecord] under an Idempotency-Key.
func (s *Service) SubmitRecordKey(ctx context.Context, actor Actor, key string, rec issuer.Record) ([]RowResult, error) {
	if err := allow(actor, auth.PermUpload); err != nil {
		return nil, err
	}
	switch {
	case len(rec.Doses) == 0:
		return nil, invalid("doses", issuer.ErrMissing)
	case len(rec.Doses) > limits.MaxDosesPerPerson:
		return nil, invalid("doses", issuer.ErrInvalid)
	case key != "" && !ValidKey(key):
		return nil, invalid("idempotency_key", issuer.ErrInvalid)
	}
	for _, d := range rec.Doses {
		if actor.Kind == ActorStaff && d.Site != actor.Site {
			return nil, ErrForbidden
		}
	}
	if key == "" {
		key = newBatchID()
	}
	req := &ingestReq{actor: actor, owner: ownerOf(actor), key: key, kind: kindRecord, mine: map[RecordKey]bool{}}
	return s.ingestChunk(ctx, req, recordItems(rec, 1), 1, true)
}

// IngestBatch stores a bulk upload, streamed from r in constant memory, and
// calls emit (if not nil) with each dose's outcome once the transaction that
// stored it has committed. Rows are committed in small transactions at
// first (so that a client soon learns how far it got), growing to a few
// thousand doses; an error (a database failure, emit's error, ctx ending,
// or [ErrTooManyRows] after limits.MaxBatchRows rows) stops the upload, and
// exactly the doses already emitted are stored. A malformed CSV header is
// [ErrInvalid] before anything is stored. Requires auth.PermUpload.
//
// Each dose is handled on its own, idempotently by (site, record_id):
//   - invalid (see the fields in [RowResult]) or of another site than the
//     uploader's: rejected;
//   - new: stored as version 1 (stored), or, when the same shot — person,
//     product, lot, date, dose number — is already recorded under another
//     record id, stored and linked to that canonical record
//     (merged_with_other_site, or duplicate_of_existing when the canonical
//     record is the same site's);
//   - identical to the stored record: duplicate_of_existing, or
//     already_stored_by_this_batch when this upload (or an earlier attempt
//     with its key) stored it (a finalised record sent again as draft stays
//     finalised);
//   - different content for a stored draft: a new version (stored or
//     merged), the previous one kept in the history;
//   - different content for a finalised or void record: rejected with
//     [ErrImmutable]; use [Service.AmendRecord].
//
// An uploader's "finalised" row is stored finalised only when an admin
// allowed its site to finalise at the source; otherwise it is stored as a
// draft for a finaliser ([NoteStoredAsDraft]).
//
// A person's names and birth date follow the latest upload only while
// every record of theirs is a draft of the uploading site. Otherwise a row
// with other details never changes them: a name that differs only in
// diacritics or case (same ICAO transliteration, same birth date) is the
// same person ([NoteNameVariant]); any other difference is stored as an
// identity claim that opens a review and blocks issuance until a reviewer
// resolves it ([NoteIdentityReview]). Finalised doses mark their person
// for issuance and re-evaluate their records for contradictions (see
// [Service.ListReviewQueue]).
func (s *Service) IngestBatch(ctx context.Context, actor Actor, format Format, r io.Reader, emit func(RowResult) error) (BatchSummary, error) {
	return s.IngestBatchWith(ctx, actor, format, r, emit, IngestOptions{})
}

// firstChunk is the size of an upload's first transaction, in doses; each
// next one doubles up to Service.chunkSize.
const firstChunk = 64

// IngestBatchWith is [Service.IngestBatch] with options.
func (s *Service) IngestBatchWith(ctx context.Context, actor Actor, format Format, r io.Reader, emit func(RowResult) error, opts IngestOptions) (BatchSummary, error) {
	sum := BatchSummary{BatchID: opts.Key}
	if err := allow(actor, auth.PermUpload); err != nil {
		return sum, err
	}
	if sum.BatchID == "" {
		sum.BatchID = newBatchID()
	} else if !ValidKey(sum.BatchID) {
		return sum, invalid("idempotency_key", issuer.ErrInvalid)
	}
	req := &ingestReq{actor: actor, owner: ownerOf(actor), key: sum.BatchID, kind: kindBatch, mine: map[RecordKey]bool{}}
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
			"stored", sum.Stored, "already", sum.Already, "duplicate", sum.Duplicate, "merged", sum.Merged,
			"rejected", sum.Rejected, "duration", s.now().Sub(start))
	}()
	size := min(firstChunk, s.chunkSize)
	chunk := make([]item, 0, s.chunkSize+limits.MaxDosesPerPerson)
	flush := func(final bool) error {
		if len(chunk) == 0 && !final {
			return nil
		}
		res, err := s.ingestChunk(ctx, req, chunk, sum.Rows, final)
		if err != nil {
			return err
		}
		chunk = chunk[:0]
		size = min(2*size, s.chunkSize)
		for _, r := range res {
			sum.add(r)
			if emit != nil {
				if err := emit(r); err != nil {
					return err
				}
			}
		}
		if opts.Committed != nil && len(res) > 0 {
			return opts.Committed()
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
			return sum, errors.Join(flush(false), fmt.Errorf("service: failed to read upload: %w", err))
		}
		if sum.Rows == s.maxBatchRows {
			req.stopped = Code(ErrTooManyRows)
			return sum, errors.Join(flush(true), ErrTooManyRows)
		}
		sum.Rows++
		for i := range items {
			items[i].idx = i
		}
		chunk = append(chunk, items...)
		if len(chunk) >= size {
			if err := flush(false); err != nil {
				return sum, err
			}
		}
	}
	return sum, flush(true)
}

func newBatchID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ownerOf is the scope of an actor's idempotency keys: a site's uploads
// share one, whichever token sent them.
func ownerOf(a Actor) string {
	switch {
	case a.Kind == ActorStaff && a.Site != "":
		return "site:" + a.Site
	case a.Kind == ActorStaff:
		return "token:" + a.ID
	}
	return string(a.Kind) + ":" + a.ID
}

// ingestReq is one upload request's state across its transactions.
type ingestReq struct {
	actor Actor
	owner string
	key   string
	kind  string
	// mine holds the records this request stored, for
	// OutcomeAlreadyStored.
	mine map[RecordKey]bool
	// stopped is the code of the error that ends the upload early.
	stopped string
}

// person is a person's state while a chunk is processed.
type person struct {
	p       *store.Person
	isNew   bool // inserted by this transaction
	dirty   bool
	changed map[string]bool
	// sites holds the sites of the person's records, stored or in this
	// chunk; final is set when one of them is finalised.
	sites map[string]bool
	final bool
	// claims are the open identity claims, to skip a repeated one.
	claims []*store.IdentityClaim
}

// mayFollow reports whether an upload from site may change the person's
// details: only while every record of theirs is a draft of that site.
func (ps *person) mayFollow(site string) bool {
	if ps.final {
		return false
	}
	for s := range ps.sites {
		if s != site {
			return false
		}
	}
	return len(ps.sites) > 0
}

// ingestChunk validates and stores a chunk of uploaded doses in one
// transaction and returns their results in order. rows is the number of
// rows read so far; final marks the upload's last transaction.
func (s *Service) ingestChunk(ctx context.Context, req *ingestReq, items []item, rows int, final bool) ([]RowResult, error) {
	now := s.clock()
	today := dateOf(now)
	for i := range items {
		it := &items[i]
		it.hash = itemHash(it)
		if len(it.errs) > 0 {
			continue
		}
		for _, e := range s.validateDose(it.person, it.dose, today) {
			it.reject(e.Field, e.Err)
		}
		if req.actor.Kind == ActorStaff && it.dose.Site != req.actor.Site {
			it.reject("site", ErrForbidden)
		}
	}
	var results []RowResult
	var mine []RecordKey
	err := s.st.Write(ctx, func(tx *store.Tx) error {
		var err error
		results, mine, err = s.storeChunk(ctx, tx, req, now, items, rows, final)
		return err
	})
	for _, k := range mine {
		req.mine[k] = true
	}
	return results, err
}

// itemHash identifies an uploaded dose's content, for replays under an
// idempotency key.
func itemHash(it *item) string {
	h := sha256.New()
	var num [8]byte
	for _, f := range []string{it.person.ID, it.person.FamilyName, it.person.GivenName, it.person.BirthDate,
		it.dose.RecordID, it.dose.Site, it.dose.Product, it.dose.Manufacturer, it.dose.Lot, it.dose.Date,
		it.dose.Country, it.dose.Status} {
		binary.BigEndian.PutUint64(num[:], uint64(len(f)))
		h.Write(num[:])
		h.Write([]byte(f))
	}
	for _, n := range []int{it.dose.DoseNumber, it.dose.SeriesDoses, len(it.errs)} {
		binary.BigEndian.PutUint64(num[:], uint64(n))
		h.Write(num[:])
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// storeChunk is the transaction of ingestChunk. It may run more than once
// (see store.Store.Write), so it keeps all its state local and returns the
// records it stored.
func (s *Service) storeChunk(ctx context.Context, tx *store.Tx, req *ingestReq, now time.Time, items []item, rows int, final bool) ([]RowResult, []RecordKey, error) {
	// The batch row first: two requests with the same key take turns.
	b, _, err := tx.OpenBatch(ctx, req.owner, req.key, req.kind, now)
	if err != nil {
		return nil, nil, err
	}
	if b.Kind != req.kind {
		return nil, nil, ErrConflict
	}
	c := newChanges(staffOrSystem(req.actor), now)
	res := make([]RowResult, len(items))
	final2 := make([]*store.Dose, len(items)) // the stored version of each stored dose
	replayed := make([]bool, len(items))
	ok := func(i int) bool { return !replayed[i] && len(items[i].errs) == 0 && res[i].Outcome != OutcomeRejected }
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
	if err := s.replay(ctx, tx, b, items, res, replayed); err != nil {
		return nil, nil, err
	}

	// Finalising at the source is a permission of the site.
	if req.actor.Kind == ActorStaff {
		perm, err := tx.SitePermission(ctx, req.actor.Site)
		if err != nil {
			return nil, nil, err
		}
		for i := range items {
			if ok(i) && items[i].dose.Status == issuer.StatusFinalised && !perm.Finalise {
				items[i].dose.Status = issuer.StatusDraft
				res[i].Notes = append(res[i].Notes, NoteStoredAsDraft)
			}
		}
	}

	// Persons, locked for the rest of the transaction; the new ones
	// inserted unless a concurrent upload just did.
	var natIDs []string
	first := map[string]int{}
	for i, it := range items {
		if _, seen := first[it.person.ID]; ok(i) && !seen {
			first[it.person.ID] = i
			natIDs = append(natIDs, it.person.ID)
		}
	}
	known, err := tx.LockPersonsByNationalID(ctx, natIDs)
	if err != nil {
		return nil, nil, err
	}
	var fresh []*store.Person
	for _, nid := range natIDs {
		if known[nid] == nil {
			p := &store.Person{NationalID: nid, CreatedAt: now}
			setDetails(p, items[first[nid]].person, now)
			fresh = append(fresh, p)
		}
	}
	inserted, err := tx.InsertPersonsIfAbsent(ctx, fresh)
	if err != nil {
		return nil, nil, err
	}
	var raced []string
	persons := map[string]*person{}
	for _, p := range fresh {
		if inserted[p.NationalID] {
			persons[p.NationalID] = &person{p: p, isNew: true, sites: map[string]bool{}}
		} else {
			raced = append(raced, p.NationalID)
		}
	}
	if len(raced) > 0 {
		more, err := tx.LockPersonsByNationalID(ctx, raced)
		if err != nil {
			return nil, nil, err
		}
		maps.Copy(known, more)
	}
	for nid, p := range known {
		persons[nid] = &person{p: p, sites: map[string]bool{}}
	}
	// Any row of the chunk may differ, not only the person's first.
	var differ []int64
	seenDiffer := map[int64]bool{}
	for i, it := range items {
		if p := known[it.person.ID]; ok(i) && p != nil && !seenDiffer[p.ID] && !sameDetails(p, it.person) {
			seenDiffer[p.ID] = true
			differ = append(differ, p.ID)
		}
	}
	// Who may change the details of a known person whose details an
	// upload row differs from: their records' sites and statuses decide.
	if len(differ) > 0 {
		slices.Sort(differ)
		recs, err := tx.DosesOfPersons(ctx, differ, false)
		if err != nil {
			return nil, nil, err
		}
		byID := map[int64]*person{}
		for _, ps := range persons {
			byID[ps.p.ID] = ps
		}
		for _, id := range differ {
			ps := byID[id]
			for _, d := range recs[id] {
				ps.sites[d.Site] = true
				ps.final = ps.final || d.Status == issuer.StatusFinalised
			}
			if ps.claims, err = tx.IdentityClaims(ctx, id, true); err != nil {
				return nil, nil, err
			}
		}
	}
	var claims []*store.IdentityClaim
	for i, it := range items {
		if !ok(i) {
			continue
		}
		ps := persons[it.person.ID]
		site := it.dose.Site
		switch {
		case sameDetails(ps.p, it.person):
		case ps.mayFollow(site):
			ps.dirty = true
			if ps.changed == nil {
				ps.changed = map[string]bool{}
			}
			for _, f := range detailChanges(ps.p, it.person) {
				ps.changed[f] = true
			}
			setDetails(ps.p, it.person, now)
		case sameTransliteration(ps.p, it.person):
			res[i].Notes = append(res[i].Notes, NoteNameVariant)
		default:
			res[i].Notes = append(res[i].Notes, NoteIdentityReview)
			if !slices.ContainsFunc(ps.claims, func(cl *store.IdentityClaim) bool { return sameClaim(cl, it.person) }) {
				cl := &store.IdentityClaim{PersonID: ps.p.ID, Site: site, RecordID: it.dose.RecordID,
					FamilyName: it.person.FamilyName, GivenName: it.person.GivenName, BirthDate: it.person.BirthDate,
					FiledAt: now}
				ps.claims = append(ps.claims, cl)
				claims = append(claims, cl)
				c.identity[ps.p.ID] = true
			}
		}
		ps.sites[site] = true
		if it.dose.Status == issuer.StatusFinalised {
			ps.final = true
		}
	}
	for _, ps := range persons {
		if ps.dirty && !ps.isNew {
			if err := tx.UpdatePerson(ctx, ps.p); err != nil {
				return nil, nil, err
			}
			c.record("person.update", personSubject(ps.p.ID), nil, map[string]any{"changed": sortedNames(ps.changed)})
		} else if ps.dirty {
			if err := tx.UpdatePerson(ctx, ps.p); err != nil {
				return nil, nil, err
			}
		}
	}
	if err := tx.InsertIdentityClaims(ctx, claims); err != nil {
		return nil, nil, err
	}
	for _, cl := range claims {
		c.record("identity.claim", personSubject(cl.PersonID), nil, map[string]any{"claim": cl.ID,
			"record": doseSubject(RecordKey{Site: cl.Site, RecordID: cl.RecordID})})
	}

	// Records.
	// A new person has no records yet: only existing persons' records and
	// shots are looked up.
	var recKeys []RecordKey
	var shots []*store.Dose
	next := make([]*store.Dose, len(items))
	for i, it := range items {
		if ok(i) {
			ps := persons[it.person.ID]
			next[i] = doseFromUpload(it.dose, ps.p.ID)
			if !ps.isNew {
				recKeys = append(recKeys, next[i].Key())
				shots = append(shots, next[i])
			}
		}
	}
	local, err := tx.DosesByKey(ctx, recKeys)
	if err != nil {
		return nil, nil, err
	}
	canon, err := tx.CanonicalShots(ctx, shots)
	if err != nil {
		return nil, nil, err
	}
	nNew := 0
	for i := range items {
		if ok(i) && local[next[i].Key()] == nil {
			nNew++
		}
	}
	ids, err := tx.NewDoseIDs(ctx, nNew)
	if err != nil {
		return nil, nil, err
	}
	var inserts, prev, revs []*store.Dose
	var earlier []int // unchanged records an earlier attempt under this key may have stored
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
			local[key], final2[i] = n, n
		case cur.SameContent(n) && !(cur.Status == issuer.StatusDraft && n.Status == issuer.StatusFinalised):
			res[i].Outcome = OutcomeDuplicate
			if req.mine[key] || slices.ContainsFunc(final2[:i], func(d *store.Dose) bool { return d != nil && d.Key() == key }) {
				res[i].Outcome = OutcomeAlreadyStored
			} else if b.LastRow > 0 {
				earlier = append(earlier, i)
			}
		case cur.SameContent(n):
			f := *cur
			f.Status = issuer.StatusFinalised
			r := c.revision(cur, &f, "dose.finalise", "")
			prev, revs = append(prev, cur), append(revs, r)
			local[key], final2[i] = r, r
		case cur.Status != issuer.StatusDraft:
			reject(i, "record_id", ErrImmutable)
		default:
			r := c.revision(cur, n, "dose.update", "")
			prev, revs = append(prev, cur), append(revs, r)
			local[key], final2[i] = r, r
		}
	}
	if len(earlier) > 0 {
		keys := make([]store.RecordKey, len(earlier))
		for j, i := range earlier {
			keys[j] = next[i].Key()
		}
		by, err := tx.BatchStoredRecords(ctx, b.Owner, b.Key, keys)
		if err != nil {
			return nil, nil, err
		}
		for _, i := range earlier {
			if by[next[i].Key()] {
				res[i].Outcome = OutcomeAlreadyStored
			}
		}
	}
	if err := tx.InsertDoses(ctx, inserts); err != nil {
		return nil, nil, err
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
		return nil, nil, err
	}
	if err := c.settle(ctx, tx); err != nil {
		return nil, nil, err
	}
	// Merged records: with another site's record, or a duplicate of the
	// same site's.
	canonOf := map[int]int64{}
	var canonIDs []int64
	for i, d := range final2 {
		if d == nil {
			continue
		}
		merged := d.MergedInto
		if m, relinked := c.merged[d.ID]; relinked {
			merged = m
		}
		if merged != 0 {
			canonOf[i] = merged
			canonIDs = append(canonIDs, merged)
		}
	}
	sites, err := tx.DoseSites(ctx, canonIDs)
	if err != nil {
		return nil, nil, err
	}
	var stored []RecordKey
	var sum BatchSummary
	var rowsOut []*store.BatchRow
	for i, d := range final2 {
		if d != nil {
			stored = append(stored, d.Key())
			res[i].Outcome = OutcomeStored
			if id, merged := canonOf[i]; merged {
				res[i].Outcome = OutcomeDuplicate
				if sites[id] != d.Site {
					res[i].Outcome = OutcomeMerged
				}
			}
		}
		if replayed[i] {
			continue
		}
		sum.add(res[i])
		rowsOut = append(rowsOut, batchRowOf(items[i], res[i]))
	}
	if len(items) > 0 && sum != (BatchSummary{}) {
		c.record("upload", "batch:"+req.key, nil, map[string]any{"owner": req.owner, "rows_from": items[0].row,
			"rows_to": items[len(items)-1].row, "stored": sum.Stored, "already": sum.Already,
			"duplicate": sum.Duplicate, "merged": sum.Merged, "rejected": sum.Rejected})
	}
	if err := tx.InsertBatchRows(ctx, req.owner, req.key, rowsOut); err != nil {
		return nil, nil, err
	}
	if len(items) > 0 {
		b.LastRow = max(b.LastRow, int64(items[len(items)-1].row))
	}
	b.Rows = max(b.Rows, int64(rows))
	b.Stored += int64(sum.Stored)
	b.Already += int64(sum.Already)
	b.Duplicate += int64(sum.Duplicate)
	b.Merged += int64(sum.Merged)
	b.Rejected += int64(sum.Rejected)
	b.UpdatedAt = now
	if final {
		b.State, b.Error = store.BatchComplete, req.stopped
	}
	if err := tx.UpdateBatch(ctx, b); err != nil {
		return nil, nil, err
	}
	return res, stored, tx.InsertAudit(ctx, c.audit)
}

// replay reports the items an earlier request with the same key already
// committed (rows up to b.LastRow) with their stored outcome, and marks
// them so that they are not processed again. A row whose content differs
// from the stored one is rejected on "idempotency_key" ([ErrConflict]), as
// is any row beyond the end of a batch that completed.
func (s *Service) replay(ctx context.Context, tx *store.Tx, b *store.Batch, items []item, res []RowResult, replayed []bool) error {
	if len(items) == 0 || (int64(items[0].row) > b.LastRow && b.State != store.BatchComplete) {
		return nil
	}
	rows, err := tx.BatchRows(ctx, b.Owner, b.Key, int64(items[0].row)-1, int64(items[len(items)-1].row), 0)
	if err != nil {
		return err
	}
	type at struct {
		row int64
		idx int
	}
	byAt := make(map[at]*store.BatchRow, len(rows))
	for _, r := range rows {
		byAt[at{r.Row, r.Idx}] = r
	}
	for i, it := range items {
		if int64(it.row) > b.LastRow && b.State != store.BatchComplete {
			continue
		}
		replayed[i] = true
		r := byAt[at{int64(it.row), it.idx}]
		if r == nil || r.Hash != it.hash {
			res[i] = RowResult{Row: it.row, Site: it.dose.Site, RecordID: it.dose.RecordID, Outcome: OutcomeRejected,
				Errors: []*issuer.FieldError{{Field: "idempotency_key", Err: ErrConflict}}}
			continue
		}
		res[i] = rowResultOf(r)
		switch res[i].Outcome {
		case OutcomeStored, OutcomeMerged:
			res[i].Outcome = OutcomeAlreadyStored
		}
	}
	return nil
}

// batchRowOf is the stored form of a row outcome.
func batchRowOf(it item, r RowResult) *store.BatchRow {
	br := &store.BatchRow{Row: int64(it.row), Idx: it.idx, Site: storable(r.Site), RecordID: storable(r.RecordID),
		Outcome: string(r.Outcome), Hash: it.hash}
	for _, e := range r.Errors {
		br.Errors = append(br.Errors, e.Field+":"+Code(e.Err))
	}
	for _, n := range r.Notes {
		br.Notes = append(br.Notes, string(n))
	}
	return br
}

// storable returns s, or "" for a rejected value that may not be stored
// (control characters, invalid UTF-8, too long).
func storable(s string) string {
	if len(s) > limits.MaxRecordField || !textcheck.Valid(s) {
		return ""
	}
	return s
}

// rowResultOf turns a stored row outcome back into a result. The errors'
// codes become their sentinel errors again (see [Code]).
func rowResultOf(br *store.BatchRow) RowResult {
	r := RowResult{Row: int(br.Row), Site: br.Site, RecordID: br.RecordID, Outcome: Outcome(br.Outcome)}
	for _, e := range br.Errors {
		field, code, _ := strings.Cut(e, ":")
		r.Errors = append(r.Errors, &issuer.FieldError{Field: field, Err: errorOfCode(code)})
	}
	for _, n := range br.Notes {
		r.Notes = append(r.Notes, Note(n))
	}
	return r
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

// sameTransliteration reports whether q names the person p as stored up to
// diacritics and case: the same ICAO 9303 transliteration of both names
// (what the certificate's fnt and gnt carry) and the same birth date.
func sameTransliteration(p *store.Person, q issuer.Person) bool {
	return p.BirthDate == q.BirthDate && issuer.Transliterate(p.FamilyName) == issuer.Transliterate(q.FamilyName) &&
		issuer.Transliterate(p.GivenName) == issuer.Transliterate(q.GivenName)
}

func sameClaim(c *store.IdentityClaim, q issuer.Person) bool {
	return c.FamilyName == q.FamilyName && c.GivenName == q.GivenName && c.BirthDate == q.BirthDate
}
