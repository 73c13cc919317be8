package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/issuer"
)

// headerIdempotencyKey names the client's key of a retryable request.
const headerIdempotencyKey = "Idempotency-Key"

// idempotencyKey returns the request's Idempotency-Key ("" if none).
func idempotencyKey(c echo.Context) (string, error) {
	k := c.Request().Header.Get(headerIdempotencyKey)
	if k != "" && !service.ValidKey(k) {
		return "", &apiError{Status: http.StatusBadRequest, Code: codeMalformed, Message: "malformed Idempotency-Key",
			Hint: "1 to 128 characters among A-Z a-z 0-9 . _ : -", Fields: []fieldJSON{{Field: "Idempotency-Key", Code: codeMalformed}}}
	}
	return k, nil
}

// submitRecord stores one dose-record document: 201 when a dose was stored
// (stored or merged), 200 when every dose was already stored so, 422
// (with the fields of every dose) when every dose was rejected.
func (s *Server) submitRecord(c echo.Context) error {
	var rec issuer.Record
	if err := decodeJSON(c, &rec); err != nil {
		return err
	}
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	res, err := s.svc.SubmitRecordKey(c.Request().Context(), actor(c), key, rec)
	if err != nil {
		return err
	}
	status, rejected := http.StatusOK, 0
	var fields []fieldJSON
	rows := make([]rowJSON, len(res))
	for i, r := range res {
		rows[i] = rowOf(r)
		switch r.Outcome {
		case service.OutcomeStored, service.OutcomeMerged:
			status = http.StatusCreated
		case service.OutcomeRejected:
			rejected++
			fields = append(fields, rows[i].Errors...)
		}
	}
	if rejected == len(res) {
		return errInvalid(fields...)
	}
	return c.JSON(status, map[string]any{"results": rows})
}

// Bulk-upload media types.
const (
	mimeNDJSON    = "application/x-ndjson"
	mimeNDJSONAlt = "application/ndjson"
	mimeCSV       = "text/csv"
)

// flushEvery is how many report lines are sent at most between flushes;
// the report is also flushed after each committed transaction.
const flushEvery = 1000

// uploadBatch streams a bulk upload from the request body into the
// service and the per-dose report back as NDJSON while the upload is still
// being read: nothing is buffered beyond one chunk. The last line is the
// summary, with the error that stopped the upload, if any. An error before
// the first report line (a malformed CSV header, a body over the limit by
// Content-Length) is an ordinary error response.
func (s *Server) uploadBatch(c echo.Context) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	var format service.Format
	switch mediaType(c) {
	case mimeNDJSON, mimeNDJSONAlt:
		format = service.FormatNDJSON
	case mimeCSV:
		format = service.FormatCSV
	default:
		return errMediaType(mimeNDJSON + " or " + mimeCSV)
	}
	res := c.Response()
	rc := http.NewResponseController(res.Writer)
	// Without full duplex, net/http would stop reading the body at the
	// first response byte.
	if err := rc.EnableFullDuplex(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	w := bufio.NewWriterSize(res, 32<<10)
	enc := json.NewEncoder(w)
	started, lines := false, 0
	start := func() {
		res.Header().Set(echo.HeaderContentType, mimeNDJSON)
		res.WriteHeader(http.StatusOK)
		started = true
	}
	emit := func(r service.RowResult) error {
		if !started {
			start()
		}
		if err := enc.Encode(rowOf(r)); err != nil {
			return err
		}
		if lines++; lines%flushEvery == 0 {
			if err := w.Flush(); err != nil {
				return err
			}
			return rc.Flush()
		}
		return nil
	}
	committed := func() error {
		if !started {
			return nil
		}
		if err := w.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	ctx := c.Request().Context()
	sum, err := s.svc.IngestBatchWith(ctx, actor(c), format, c.Request().Body, emit,
		service.IngestOptions{Key: key, Committed: committed})
	if err != nil && !started {
		return err
	}
	if !started {
		start()
	}
	end := batchEndJSON{Summary: summaryOf(sum)}
	if err != nil {
		end.Error = toAPIError(err)
		if end.Error.Status >= http.StatusInternalServerError {
			s.log.ErrorContext(ctx, "upload stopped", "request_id", requestID(c), "batch", sum.BatchID, "error", err)
		}
	}
	if werr := errors.Join(enc.Encode(end), w.Flush()); werr != nil {
		s.log.InfoContext(ctx, "upload report not delivered", "request_id", requestID(c), "batch", sum.BatchID,
			"error", werr)
	}
	return nil
}

// recordKey reads the {site} and {record_id} path parameters.
func recordKey(c echo.Context) (service.RecordKey, error) {
	site, err := pathParam(c, "site")
	if err != nil {
		return service.RecordKey{}, err
	}
	id, err := pathParam(c, "record_id")
	return service.RecordKey{Site: site, RecordID: id}, err
}

func (s *Server) finaliseRecord(c echo.Context) error {
	key, err := recordKey(c)
	if err != nil {
		return err
	}
	res, err := s.svc.FinaliseBatch(c.Request().Context(), actor(c), []service.RecordKey{key})
	if err != nil {
		return err
	}
	if res[0].Err != nil {
		return res[0].Err
	}
	return c.JSON(http.StatusOK, finaliseJSON{recordKeyJSON: keyJSON(key), Outcome: res[0].Outcome})
}

// maxFinaliseBatch bounds the records of one finalise request (the body
// limit allows about this many keys).
const maxFinaliseBatch = 1000

func (s *Server) finaliseBatch(c echo.Context) error {
	var req struct {
		Records []recordKeyJSON `json:"records"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	switch {
	case len(req.Records) == 0:
		return errInvalid(fieldJSON{Field: "records", Code: "missing"})
	case len(req.Records) > maxFinaliseBatch:
		return errInvalid(fieldJSON{Field: "records", Code: "invalid"})
	}
	keys := make([]service.RecordKey, len(req.Records))
	for i, k := range req.Records {
		keys[i] = k.key()
	}
	res, err := s.svc.FinaliseBatch(c.Request().Context(), actor(c), keys)
	if err != nil {
		return err
	}
	out := make([]finaliseJSON, len(res))
	for i, r := range res {
		out[i] = finaliseJSON{recordKeyJSON: keyJSON(r.Key), Outcome: r.Outcome}
		if r.Err != nil {
			out[i].Code = service.Code(r.Err)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"results": out})
}

func (s *Server) amendRecord(c echo.Context) error {
	key, err := recordKey(c)
	if err != nil {
		return err
	}
	var req struct {
		Dose   issuer.Dose `json:"dose"`
		Reason string      `json:"reason"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	d, err := s.svc.AmendRecord(c.Request().Context(), actor(c), key, req.Dose, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, recordOf(d))
}

func (s *Server) voidRecord(c echo.Context) error {
	key, err := recordKey(c)
	if err != nil {
		return err
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	d, err := s.svc.VoidRecord(c.Request().Context(), actor(c), key, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, recordOf(d))
}

func (s *Server) recordHistory(c echo.Context) error {
	key, err := recordKey(c)
	if err != nil {
		return err
	}
	ds, err := s.svc.RecordHistory(c.Request().Context(), actor(c), key)
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		return service.ErrNotFound
	}
	return c.JSON(http.StatusOK, map[string]any{"versions": recordsOf(ds)})
}

func (s *Server) listReviews(c echo.Context) error {
	q := newQuery(c)
	page := q.page()
	if err := q.err(); err != nil {
		return err
	}
	rs, err := s.svc.ListReviewQueue(c.Request().Context(), actor(c), page)
	if err != nil {
		return err
	}
	out := make([]reviewJSON, len(rs))
	var last int64
	for i, r := range rs {
		out[i], last = reviewOf(r), r.ID
	}
	return c.JSON(http.StatusOK, map[string]any{"reviews": out, "next_after": nextAfter(len(rs), page.Limit, last)})
}

func (s *Server) resolveReview(c echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var req struct {
		Record recordKeyJSON `json:"record"`
		Void   bool          `json:"void"`
		Dose   issuer.Dose   `json:"dose"`
		Reason string        `json:"reason"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	r, err := s.svc.ResolveReview(c.Request().Context(), actor(c), id, service.Resolution{Record: req.Record.key(),
		Void: req.Void, Dose: req.Dose, Reason: req.Reason})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, reviewOf(r))
}

func (s *Server) personRecords(c echo.Context) error {
	id, err := idParam(c, "person")
	if err != nil {
		return err
	}
	ds, err := s.svc.PersonRecords(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"records": recordsOf(ds)})
}

// amendPerson corrects a person's names or birth date, which uploads may
// no longer change once a record of theirs is finalised.
func (s *Server) amendPerson(c echo.Context) error {
	id, err := idParam(c, "person")
	if err != nil {
		return err
	}
	var req struct {
		Person personDetailsJSON `json:"person"`
		Reason string            `json:"reason"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := s.svc.AmendPerson(c.Request().Context(), actor(c), id, req.Person.person(), req.Reason); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// batch returns the stored outcome of an upload made under an
// Idempotency-Key (or the batch id the service assigned): ?after_row= and
// ?limit= page through its rows.
func (s *Server) batch(c echo.Context) error {
	key, err := pathParam(c, "key")
	if err != nil {
		return err
	}
	q := newQuery(c)
	page := q.page()
	after := 0
	if v := q.v.Get("after_row"); v != "" {
		if after, err = strconv.Atoi(v); err != nil || after < 0 {
			q.bad("after_row")
		}
	}
	if err := q.err(); err != nil {
		return err
	}
	rep, err := s.svc.Batch(c.Request().Context(), actor(c), key, after, page.Limit)
	if err != nil {
		return err
	}
	out := batchJSON{Key: rep.Key, Kind: rep.Kind, Complete: rep.Complete, Error: rep.Error, LastRow: rep.LastRow,
		Summary: summaryOf(rep.Summary), Rows: make([]rowJSON, len(rep.Rows))}
	for i, r := range rep.Rows {
		out.Rows[i] = rowOf(r)
	}
	limit := page.Limit
	if limit <= 0 || limit > 1000 {
		limit = min(max(limit, 100), 1000) // the service's page bounds
	}
	if n := len(rep.Rows); n == limit {
		out.NextAfter = rep.Rows[n-1].Row
	}
	return c.JSON(http.StatusOK, out)
}

// identityClaims lists a person's identity claims (reviewers).
func (s *Server) identityClaims(c echo.Context) error {
	id, err := idParam(c, "person")
	if err != nil {
		return err
	}
	cs, err := s.svc.IdentityClaims(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	out := make([]identityClaimJSON, len(cs))
	for i, cl := range cs {
		out[i] = identityClaimJSON{ID: cl.ID, Site: cl.Site, RecordID: cl.RecordID, FamilyName: cl.FamilyName,
			GivenName: cl.GivenName, BirthDate: cl.BirthDate, FiledAt: cl.FiledAt, Resolved: !cl.ResolvedAt.IsZero()}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]any{"claims": out})
}

// sitePermission returns a site's permissions.
func (s *Server) sitePermission(c echo.Context) error {
	site, err := pathParam(c, "site")
	if err != nil {
		return err
	}
	p, err := s.svc.GetSitePermission(c.Request().Context(), actor(c), site)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sitePermissionJSON{Site: p.Site, Finalise: p.Finalise, GrantedBy: p.GrantedBy, GrantedAt: p.GrantedAt})
}

// setSitePermission grants or withdraws a site's permission to finalise at
// the source (admins).
func (s *Server) setSitePermission(c echo.Context) error {
	site, err := pathParam(c, "site")
	if err != nil {
		return err
	}
	var req struct {
		Finalise *bool `json:"finalise_at_source"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Finalise == nil {
		return errInvalid(fieldJSON{Field: "finalise_at_source", Code: "missing"})
	}
	p, err := s.svc.SetSitePermission(c.Request().Context(), actor(c), site, *req.Finalise)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sitePermissionJSON{Site: p.Site, Finalise: p.Finalise, GrantedBy: p.GrantedBy, GrantedAt: p.GrantedAt})
}
