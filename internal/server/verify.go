package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/netguard"
	"github.com/vaxcert/vaxcert/internal/textcheck"
)

// bodyVerify bounds POST /v1/verify: the HC1 text, or a small JSON object
// holding it.
const bodyVerify = int64(limits.MaxVerifyBody)

// verifyRequest is the JSON form of a POST /v1/verify body.
type verifyRequest struct {
	QR string `json:"qr"`
}

// verify checks a QR payload with Config.Checker (the service's own
// signed lists: trust, revocations, vaccination policy) and answers with
// the venue answer (venue.Answer), whatever the verdict: 200 means the
// check ran, "decision" and "valid" say how it went.
func (s *Server) verify(c echo.Context) error {
	if s.cfg.Checker == nil {
		return newError(http.StatusServiceUnavailable, codeUnavailable, "verification is not configured",
			"start the service with the trust sources to verify against")
	}
	var qr []byte
	switch mediaType(c) {
	case echo.MIMETextPlain:
		b, err := netguard.ReadBody(c.Request(), bodyVerify) // bounded by bodyLimit
		if err != nil {
			return err
		}
		qr = bytes.TrimRight(b, "\r\n")
		if !textcheck.ValidBytes(qr) {
			return errControl("qr")
		}
	case echo.MIMEApplicationJSON:
		var req verifyRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		qr = []byte(req.QR)
	default:
		return errMediaType("text/plain (the HC1 text) or application/json ({\"qr\": \"HC1:…\"})")
	}
	now := time.Now
	if s.cfg.Clock != nil {
		now = s.cfg.Clock
	}
	at := now()
	if err := s.refreshChecker(c, at); err != nil {
		if s.cfg.Checker.State() == nil {
			return err
		}
		// Answer from the lists held, as a venue verifier would when the
		// issuer is unreachable: the answer says how old they are.
		s.log.WarnContext(c.Request().Context(), "signed lists not refreshed", "error", err)
	}
	// The venue view only: the Result (and with it the full payload) is
	// not rendered here.
	answer, _ := s.cfg.Checker.Check(qr, at)
	h := c.Response().Header()
	h[echo.HeaderCacheControl], h[echo.HeaderContentType] = noStore, jsonType
	c.Response().WriteHeader(http.StatusOK)
	return json.NewEncoder(c.Response()).Encode(answer)
}

// Shared header values of the verify answer: assigning them allocates
// nothing (net/http only reads them). Writing the answer directly skips
// c.JSON's per-request query parsing (?pretty) on the hot path.
var (
	noStore  = []string{"no-store"}
	jsonType = []string{echo.MIMEApplicationJSON}
)

// noScan answers /scan when the service was started without a scan page.
func noScan(echo.Context) error {
	return newError(http.StatusServiceUnavailable, codeUnavailable, "the scan page is not configured",
		"start the service with the pinned root and trust list for the scan page")
}
