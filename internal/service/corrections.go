package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/issuer"
)

// CorrectionKind says what a citizen reports.
type CorrectionKind string

// Correction kinds.
const (
	// CorrectionWrong: a recorded dose has wrong details.
	CorrectionWrong CorrectionKind = "wrong"
	// CorrectionMissing: a dose the citizen received is not recorded.
	CorrectionMissing CorrectionKind = "missing"
)

// Correction statuses.
const (
	CorrectionOpen     = store.CorrectionOpen
	CorrectionAccepted = store.CorrectionAccepted
	CorrectionRejected = store.CorrectionRejected
)

// CorrectionRequest is what a citizen files.
type CorrectionRequest struct {
	Kind CorrectionKind
	// Description is free text, at most limits.MaxCorrectionText bytes.
	Description string
	// Dose holds the details from the paper vaccination card (product,
	// lot, date, dose number, site…); fields may be empty.
	Dose issuer.Dose
	// Photo of the paper card, JPEG or PNG (sniffed), at most
	// limits.MaxPhoto bytes; optional.
	Photo []byte
	// Record optionally names the record the request is about; it must be
	// one of the citizen's.
	Record *RecordKey
	// Person holds the citizen's names and birth date; needed only when the
	// service has no record of the citizen at all (its ID is ignored: the
	// citizen's own is used).
	Person *issuer.Person
}

// Correction is a filed correction request. The photo is read separately
// with [Service.CorrectionPhoto].
type Correction = store.Correction

// FileCorrection files a correction request for the citizen (the
// identity-provider subject) and returns it. Errors: [ErrInvalid], and
// [ErrNotFound] for a Record that is not the citizen's.
func (s *Service) FileCorrection(ctx context.Context, citizenID string, req CorrectionRequest) (*Correction, error) {
	return s.FileCorrectionKey(ctx, citizenID, "", req)
}

// FileCorrectionKey is [Service.FileCorrection] under an Idempotency-Key
// (see [ValidKey]; empty: none): a request with a key the citizen already
// filed a correction under returns that correction and files nothing.
func (s *Service) FileCorrectionKey(ctx context.Context, citizenID, key string, req CorrectionRequest) (*Correction, error) {
	if key != "" && !ValidKey(key) {
		return nil, invalid("idempotency_key", issuer.ErrInvalid)
	}
	var fields []*issuer.FieldError
	add := func(f string, err error) { fields = append(fields, &issuer.FieldError{Field: f, Err: err}) }
	switch req.Kind {
	case CorrectionWrong, CorrectionMissing:
	case "":
		add("kind", issuer.ErrMissing)
	default:
		add("kind", issuer.ErrInvalid)
	}
	switch {
	case strings.TrimSpace(req.Description) == "":
		add("description", issuer.ErrMissing)
	case len(req.Description) > limits.MaxCorrectionText || !utf8.ValidString(req.Description):
		add("description", issuer.ErrInvalid)
	}
	for _, f := range []struct{ name, v string }{{"dose.record_id", req.Dose.RecordID}, {"dose.site", req.Dose.Site},
		{"dose.product", req.Dose.Product}, {"dose.manufacturer", req.Dose.Manufacturer}, {"dose.lot", req.Dose.Lot},
		{"dose.date", req.Dose.Date}, {"dose.country", req.Dose.Country}, {"dose.status", req.Dose.Status}} {
		if len(f.v) > limits.MaxRecordField || !utf8.ValidString(f.v) {
			add(f.name, issuer.ErrInvalid)
		}
	}
	photoType := ""
	if len(req.Photo) > 0 {
		if photoType = sniffPhoto(req.Photo); photoType == "" || len(req.Photo) > limits.MaxPhoto {
			add("photo", issuer.ErrInvalid)
		}
	}
	if !validNationalID(citizenID) {
		return nil, ErrForbidden
	}
	if len(fields) > 0 {
		return nil, &ValidationError{Fields: fields}
	}
	dose, _ := json.Marshal(req.Dose)
	var out *store.Correction
	err := s.st.Write(ctx, func(tx *store.Tx) error {
		now := s.clock()
		p, err := tx.PersonByNationalID(ctx, citizenID)
		switch {
		case err == nil:
		case errors.Is(err, ErrNotFound) && req.Person != nil:
			np := issuer.Person{ID: citizenID, FamilyName: req.Person.FamilyName, GivenName: req.Person.GivenName,
				BirthDate: req.Person.BirthDate}
			if errs := s.validatePerson(np); len(errs) > 0 {
				return &ValidationError{Fields: errs}
			}
			p = &store.Person{NationalID: citizenID, CreatedAt: now}
			setDetails(p, np, now)
			if err := tx.InsertPersons(ctx, []*store.Person{p}); err != nil {
				return err
			}
		case errors.Is(err, ErrNotFound):
			return invalid("person", issuer.ErrMissing)
		default:
			return err
		}
		var batch *store.Batch
		if key != "" {
			var earlier *store.Correction
			if earlier, batch, err = correctionByKey(ctx, tx, p.ID, key, now); err != nil || earlier != nil {
				out = earlier
				return err
			}
		}
		c := &store.Correction{PersonID: p.ID, Kind: string(req.Kind), Description: req.Description, Dose: dose,
			Photo: req.Photo, PhotoType: photoType, Status: store.CorrectionOpen, FiledAt: now}
		if req.Record != nil {
			d, err := tx.Dose(ctx, *req.Record)
			switch {
			case errors.Is(err, ErrNotFound) || err == nil && d.PersonID != p.ID:
				return ErrNotFound
			case err != nil:
				return err
			}
			c.Record = *req.Record
		}
		if err := tx.InsertCorrection(ctx, c); err != nil {
			return err
		}
		if batch != nil {
			batch.State, batch.Result, batch.UpdatedAt = store.BatchComplete, strconv.FormatInt(c.ID, 10), now
			if err := tx.UpdateBatch(ctx, batch); err != nil {
				return err
			}
		}
		ch := newChanges(citizenOf(p.ID), now)
		ch.record("correction.file", correctionSubject(c.ID), nil, map[string]any{"kind": c.Kind,
			"photo": photoType != ""})
		out = c
		return tx.InsertAudit(ctx, ch.audit)
	})
	return out, err
}

// validatePerson checks a person's details with the intake rules.
func (s *Service) validatePerson(p issuer.Person) []*issuer.FieldError {
	var out []*issuer.FieldError
	for _, e := range s.validateDose(p, placeholderDose, "9999-12-31") {
		if strings.HasPrefix(e.Field, "person.") {
			out = append(out, e)
		}
	}
	return out
}

// placeholderDose is a valid dose used to check person details on their own.
var placeholderDose = issuer.Dose{RecordID: "r", Site: "s", Product: "EU/1/20/1528", Manufacturer: "ORG-100030215",
	DoseNumber: 1, SeriesDoses: 2, Date: "2099-12-31", Country: "VN", Status: issuer.StatusDraft}

// sniffPhoto returns "image/jpeg" or "image/png" from the file's magic
// bytes, or "".
func sniffPhoto(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\xFF\xD8\xFF")):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1A\n")):
		return "image/png"
	}
	return ""
}

func correctionSubject(id int64) string { return "correction:" + strconv.FormatInt(id, 10) }

// MyCorrections returns the citizen's correction requests, oldest first.
func (s *Service) MyCorrections(ctx context.Context, citizenID string) ([]*Correction, error) {
	var out []*store.Correction
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		p, err := tx.PersonByNationalID(ctx, citizenID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out, err = tx.ListCorrections(ctx, "", p.ID, 0, 1000)
		return err
	})
	return out, err
}

// ListCorrections returns correction requests with the status ("" for
// any), oldest first, without photos. Requires auth.PermReviewCorrections.
func (s *Service) ListCorrections(ctx context.Context, actor Actor, status string, page Page) ([]*Correction, error) {
	if err := allow(actor, auth.PermReviewCorrections); err != nil {
		return nil, err
	}
	var out []*store.Correction
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ListCorrections(ctx, status, 0, page.After, page.limit())
		return err
	})
	return out, err
}

// CorrectionPhoto returns the photo of a correction request and its
// content type. Requires auth.PermReviewCorrections.
func (s *Service) CorrectionPhoto(ctx context.Context, actor Actor, id int64) ([]byte, string, error) {
	if err := allow(actor, auth.PermReviewCorrections); err != nil {
		return nil, "", err
	}
	var photo []byte
	var typ string
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		var err error
		photo, typ, err = tx.CorrectionPhoto(ctx, id)
		return err
	})
	return photo, typ, err
}

// Decision is a reviewer's decision on a correction request.
type Decision struct {
	Accept bool
	// Reason is required.
	Reason string
	// Amendment is the dose to record when accepting. For a "wrong" request
	// it amends the request's Record (or the record its Site and RecordID
	// name); for a "missing" request it is added as a finalised record
	// (RecordID may be empty: "correction-<id>" is used). When nil, the
	// request's Dose is used.
	Amendment *issuer.Dose
}

// DecideCorrection decides an open correction request. Accepting amends
// the record (a new version, history kept) or adds the missing dose as a
// finalised record attributed to the reviewer, in the same transaction as
// the decision; then the person's certificate is re-issued, superseding and
// revoking the previous one. The returned certificate is nil when the
// request was rejected or re-issuance could not happen now (for example the
// records now contradict each other and await review, see
// [Service.ListReviewQueue]); the person then stays in the
// pending-issuance queue. Requires auth.PermReviewCorrections.
func (s *Service) DecideCorrection(ctx context.Context, actor Actor, id int64, d Decision) (*Correction, *Certificate, error) {
	if err := allow(actor, auth.PermReviewCorrections); err != nil {
		return nil, nil, err
	}
	if err := checkReason(d.Reason); err != nil {
		return nil, nil, err
	}
	var out *store.Correction
	err := s.st.Write(ctx, func(tx *store.Tx) error {
		c := newChanges(staffOrSystem(actor), s.clock())
		cr, err := tx.Correction(ctx, id)
		if err != nil {
			return err
		}
		if cr.Status != store.CorrectionOpen {
			return ErrConflict
		}
		cr.Status, cr.DecidedAt, cr.DecidedBy, cr.DecisionReason = store.CorrectionRejected, c.at, c.by.id, d.Reason
		if d.Accept {
			cr.Status = store.CorrectionAccepted
			if err := s.applyCorrection(ctx, tx, c, cr, d); err != nil {
				return err
			}
		}
		if err := tx.DecideCorrection(ctx, cr); err != nil {
			return err
		}
		c.record("correction.decide", correctionSubject(cr.ID), map[string]any{"status": store.CorrectionOpen},
			map[string]any{"status": cr.Status, "record": cr.Record.String()})
		out = cr
		return c.commit(ctx, tx)
	})
	if err != nil || !d.Accept {
		return out, nil, err
	}
	cert, err := s.issueFor(ctx, staffOrSystem(actor), out.PersonID)
	if err != nil {
		s.log.InfoContext(ctx, "re-issuance after correction deferred", "correction", out.ID, "person", out.PersonID,
			"code", Code(err))
		return out, nil, nil
	}
	return out, cert, nil
}

// applyCorrection records an accepted correction's amendment.
func (s *Service) applyCorrection(ctx context.Context, tx *store.Tx, c *changes, cr *store.Correction, d Decision) error {
	var dose issuer.Dose
	if d.Amendment != nil {
		dose = *d.Amendment
	} else if err := json.Unmarshal(cr.Dose, &dose); err != nil {
		return err
	}
	reason := "correction " + strconv.FormatInt(cr.ID, 10) + ": " + d.Reason
	if cr.Kind == string(CorrectionWrong) {
		key := cr.Record
		if key.Site == "" {
			key = RecordKey{Site: dose.Site, RecordID: dose.RecordID}
		}
		cur, err := tx.Dose(ctx, key)
		switch {
		case errors.Is(err, ErrNotFound) || err == nil && cur.PersonID != cr.PersonID:
			return invalid("amendment.record_id", issuer.ErrInvalid)
		case err != nil:
			return err
		}
		cr.Record = key
		// The key names the record; the dose carries only its new content.
		dose.Site, dose.RecordID, dose.Status = "", "", ""
		_, err = s.amend(ctx, tx, c, key, dose, reason, "dose.amend")
		return err
	}
	if dose.RecordID == "" {
		dose.RecordID = "correction-" + strconv.FormatInt(cr.ID, 10)
	}
	dose.Status = issuer.StatusFinalised
	cr.Record = RecordKey{Site: dose.Site, RecordID: dose.RecordID}
	p, err := tx.PersonsByID(ctx, []int64{cr.PersonID}, true)
	if err != nil {
		return err
	}
	if errs := s.validateDose(personOf(p[cr.PersonID]), dose, dateOf(c.at)); len(errs) > 0 {
		for _, e := range errs {
			e.Field = "amendment." + e.Field
		}
		return &ValidationError{Fields: errs}
	}
	switch _, err := tx.Dose(ctx, cr.Record); {
	case err == nil:
		return invalid("amendment.record_id", ErrConflict)
	case !errors.Is(err, ErrNotFound):
		return err
	}
	n := doseFromUpload(dose, cr.PersonID)
	ids, err := tx.NewDoseIDs(ctx, 1)
	if err != nil {
		return err
	}
	n.ID, n.Version, n.ChangedAt, n.ChangedBy, n.Reason = ids[0], 1, c.at, c.by.id, reason
	if err := tx.InsertDoses(ctx, []*store.Dose{n}); err != nil {
		return err
	}
	c.relink[n.PersonID], c.final[n.PersonID] = true, true
	c.record("dose.create", doseSubject(cr.Record), nil, state(n))
	return nil
}
