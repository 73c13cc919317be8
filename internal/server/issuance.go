package server

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
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
// Location; 409 while another runs.
func (s *Server) startIssuanceJob(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	id, err := s.svc.StartIssueAll(ctx, a)
	if err != nil {
		return err
	}
	st, err := s.svc.Job(ctx, a, id)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/issuance-jobs/"+url.PathEscape(id))
	return c.JSON(http.StatusAccepted, jobOf(st))
}

func (s *Server) issuanceJob(c echo.Context) error {
	id, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	st, err := s.svc.Job(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, jobOf(st))
}
