package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/issuer"
)

func (s *Server) listCorrections(c echo.Context) error {
	q := newQuery(c)
	status := q.str("status", 16)
	switch status {
	case "", service.CorrectionOpen, service.CorrectionAccepted, service.CorrectionRejected:
	default:
		q.bad("status")
	}
	page := q.page()
	if err := q.err(); err != nil {
		return err
	}
	cs, err := s.svc.ListCorrections(c.Request().Context(), actor(c), status, page)
	if err != nil {
		return err
	}
	var last int64
	if len(cs) > 0 {
		last = cs[len(cs)-1].ID
	}
	return c.JSON(http.StatusOK, map[string]any{"corrections": correctionsOf(cs, true),
		"next_after": nextAfter(len(cs), page.Limit, last)})
}

// correctionPhoto serves a correction request's photo; 404 when it has
// none.
func (s *Server) correctionPhoto(c echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	photo, typ, err := s.svc.CorrectionPhoto(c.Request().Context(), actor(c), id)
	if err != nil {
		return err
	}
	if len(photo) == 0 {
		return service.ErrNotFound
	}
	return c.Blob(http.StatusOK, typ, photo)
}

func (s *Server) decideCorrection(c echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var req struct {
		Accept    *bool        `json:"accept"`
		Reason    string       `json:"reason"`
		Amendment *issuer.Dose `json:"amendment"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Accept == nil {
		return errInvalid(fieldJSON{Field: "accept", Code: "missing"})
	}
	cr, cert, err := s.svc.DecideCorrection(c.Request().Context(), actor(c), id,
		service.Decision{Accept: *req.Accept, Reason: req.Reason, Amendment: req.Amendment})
	if err != nil {
		return err
	}
	out := map[string]any{"correction": correctionOf(cr, true), "certificate": nil}
	if cert != nil {
		out["certificate"] = staffCert(cert)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) listTokens(c echo.Context) error {
	ts, err := s.svc.ListTokens(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	out := make([]tokenJSON, len(ts))
	for i, t := range ts {
		out[i] = tokenOf(t)
	}
	return c.JSON(http.StatusOK, map[string]any{"tokens": out})
}

// createToken creates a staff token; the plaintext is in this response
// only.
func (s *Server) createToken(c echo.Context) error {
	var req struct {
		Role string `json:"role"`
		Site string `json:"site"`
		Name string `json:"name"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	plain, t, err := s.svc.CreateToken(c.Request().Context(), actor(c), auth.Role(req.Role), req.Site, req.Name)
	if err != nil {
		return err
	}
	out := tokenOf(t)
	out.Token = plain
	return c.JSON(http.StatusCreated, out)
}

func (s *Server) revokeToken(c echo.Context) error {
	id, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.svc.RevokeToken(c.Request().Context(), actor(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// listAudit pages through the audit trail, filtered by action, subject,
// actor and time.
func (s *Server) listAudit(c echo.Context) error {
	q := newQuery(c)
	f := service.AuditFilter{
		Action:  q.str("action", 64),
		Subject: q.str("subject", 2*limits.MaxRecordField+16),
		ActorID: q.str("actor", 64),
		Since:   q.time("since"),
		Until:   q.time("until"),
	}
	page := q.page()
	if err := q.err(); err != nil {
		return err
	}
	es, err := s.svc.ListAudit(c.Request().Context(), actor(c), f, page)
	if err != nil {
		return err
	}
	out := make([]auditJSON, len(es))
	var last int64
	for i, e := range es {
		out[i], last = auditOf(e), e.ID
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": out, "next_after": nextAfter(len(es), page.Limit, last)})
}
