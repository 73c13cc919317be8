package server

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/vaxcert/vaxcert/internal/service"
)

// issueForPerson issues (idempotently) the certificate of the person whose
// national ID number is in the body: it never appears in a URL, so it stays
// out of proxy and access logs.
func (s *Server) issueForPerson(c echo.Context) error {
	var req struct {
		NationalID string `json:"national_id"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.NationalID == "" {
		return errInvalid(fieldJSON{Field: "national_id", Code: "missing"})
	}
	ctx, a := c.Request().Context(), actor(c)
	id, err := s.svc.FindPerson(ctx, a, req.NationalID)
	if err != nil {
		return err
	}
	cert, err := s.svc.IssueFor(ctx, a, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, staffCert(cert))
}

func (s *Server) personCertificates(c echo.Context) error {
	id, err := idParam(c, "person")
	if err != nil {
		return err
	}
	cs, err := s.svc.PersonCertificates(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	out := make([]certificateJSON, len(cs))
	for i, cert := range cs {
		out[i] = staffCert(cert)
	}
	return c.JSON(http.StatusOK, map[string]any{"certificates": out})
}

// startIssuanceJob starts the batch issuance: 202 with the job and its
// Location; while another runs, 409 naming it (see errors.go).
func (s *Server) startIssuanceJob(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	id, err := s.svc.StartIssueAll(ctx, a)
	if err != nil {
		return err
	}
	return s.acceptedJob(c, id)
}

// joinIssuanceJob makes this process a worker of the running job
// (PostgreSQL): 202 with the job.
func (s *Server) joinIssuanceJob(c echo.Context) error {
	id, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.svc.JoinIssueAll(c.Request().Context(), actor(c), id); err != nil {
		return err
	}
	return s.acceptedJob(c, id)
}

func (s *Server) acceptedJob(c echo.Context, id string) error {
	st, err := s.svc.Job(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, jobPath(id))
	return c.JSON(http.StatusAccepted, st)
}

func jobPath(id string) string { return "/v1/issuance-jobs/" + url.PathEscape(id) }

func (s *Server) issuanceJob(c echo.Context) error {
	id, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	st, err := s.svc.Job(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// maxJobID bounds the "before" cursor of the job list.
const maxJobID = 64

// listIssuanceJobs lists batch issuance jobs, newest first, with their
// state; "before" (a job id, from next_before) pages on, "limit" is 1–100
// (default 20).
func (s *Server) listIssuanceJobs(c echo.Context) error {
	q := newQuery(c)
	before := q.str("before", maxJobID)
	limit := 20
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			q.bad("limit")
		}
		limit = n
	}
	if err := q.err(); err != nil {
		return err
	}
	js, err := s.svc.Jobs(c.Request().Context(), actor(c), before, limit)
	if err != nil {
		return err
	}
	next := ""
	if len(js) == limit {
		next = js[len(js)-1].ID
	}
	if js == nil {
		js = []service.JobStatus{}
	}
	return c.JSON(http.StatusOK, map[string]any{"jobs": js, "next_before": next})
}
