package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/scanpage"
)

// Body limits of the routes.
const (
	bodyAPI   = int64(limits.MaxAPIBody)
	bodyBatch = int64(limits.MaxBatchBody)
	// bodyCorrection leaves room for the JSON part and the multipart
	// framing around the photo.
	bodyCorrection = int64(limits.MaxPhoto + limits.MaxAPIBody + 16<<10)
)

// photoTimeout bounds a correction request with a photo: 5 MiB at about
// 20 KB/s, a slow mobile link.
const photoTimeout = 5 * time.Minute

// routes registers every route. Each /v1/ route authenticates, takes a
// rate-limit token, checks its access rule, refuses control characters in
// its parameters, then bounds its body.
func (s *Server) routes() {
	e := s.e
	e.Pre(escapedPath)
	e.Use(defaults, s.observe, s.recoverPanic)
	e.GET("/healthz", s.healthz, cleanParams)
	e.GET("/readyz", s.readyz, cleanParams)
	e.GET("/metrics", s.metrics.handler, cleanParams)

	v1 := func(method, path string, h echo.HandlerFunc, a access, body int64) {
		mw := []echo.MiddlewareFunc{s.identify, s.rateLimit(classAnonymous), a.guard, cleanParams, bodyLimit(body)}
		if a.public || a.citizen {
			mw = append([]echo.MiddlewareFunc{s.admitOrShed}, mw...)
		}
		switch body {
		case bodyBatch:
			mw = append(mw, extendDeadlines(s.cfg.UploadTimeout))
		case bodyCorrection:
			mw = append(mw, extendDeadlines(photoTimeout))
		}
		e.Add(method, "/v1"+path, h, mw...)
	}
	const get, post, del = http.MethodGet, http.MethodPost, http.MethodDelete
	upload := staff(auth.PermUpload)
	finalise := staff(auth.PermFinalise)
	amend := staff(auth.PermFinalise, auth.PermReviewCorrections)
	issue := staff(auth.PermIssue)
	review := staff(auth.PermReviewCorrections)
	admin := staff(auth.PermManageTokens)

	v1(get, "/openapi.yaml", serveOpenAPI, public, bodyAPI)
	// No identify: the venue route is public and keyed by address, so a
	// credential sent along costs no verification.
	e.POST("/v1/verify", s.verify, s.admit, s.rateLimit(classVenue), cleanParams, bodyLimit(bodyVerify))
	if s.cfg.Scan != nil {
		scanpage.Register(e, *s.cfg.Scan, cleanParams)
	} else {
		e.GET("/scan", noScan, cleanParams)
	}
	v1(get, "/revocations", s.revocations, public, bodyAPI)
	v1(get, "/trust-list", s.trustList, public, bodyAPI)
	v1(get, "/rule-set", s.ruleSet, public, bodyAPI)
	v1(post, "/revocations", s.revoke, review, bodyAPI)

	v1(post, "/dose-records", s.submitRecord, upload, bodyAPI)
	v1(post, "/dose-records/batch", s.uploadBatch, upload, bodyBatch)
	v1(get, "/dose-records/batches/:key", s.batch, upload, bodyAPI)
	v1(post, "/dose-records/finalise", s.finaliseBatch, finalise, bodyAPI)
	v1(post, "/dose-records/:site/:record_id/finalise", s.finaliseRecord, finalise, bodyAPI)
	v1(post, "/dose-records/:site/:record_id/amend", s.amendRecord, amend, bodyAPI)
	v1(post, "/dose-records/:site/:record_id/void", s.voidRecord, amend, bodyAPI)
	v1(get, "/dose-records/:site/:record_id/history", s.recordHistory,
		staff(auth.PermUpload, auth.PermFinalise, auth.PermReviewCorrections, auth.PermReadAudit), bodyAPI)
	v1(get, "/reviews", s.listReviews, amend, bodyAPI)
	v1(post, "/reviews/:id/resolve", s.resolveReview, amend, bodyAPI)
	v1(get, "/persons/:person/records", s.personRecords, amend, bodyAPI)
	v1(post, "/persons/:person/amend", s.amendPerson, amend, bodyAPI)
	v1(get, "/persons/:person/identity-claims", s.identityClaims, amend, bodyAPI)
	v1(get, "/persons/:person/certificates", s.personCertificates,
		staff(auth.PermIssue, auth.PermReviewCorrections), bodyAPI)

	v1(post, "/persons/issue", s.issueForPerson, issue, bodyAPI)
	v1(post, "/issuance-jobs", s.startIssuanceJob, issue, bodyAPI)
	v1(get, "/issuance-jobs", s.listIssuanceJobs, issue, bodyAPI)
	v1(get, "/issuance-jobs/:id", s.issuanceJob, issue, bodyAPI)
	v1(post, "/issuance-jobs/:id/workers", s.joinIssuanceJob, issue, bodyAPI)

	v1(get, "/me/certificates", s.myCertificates, citizenOnly, bodyAPI)
	v1(get, "/me/certificates/:uvci", s.myCertificate, citizenOnly, bodyAPI)
	v1(post, "/me/corrections", s.fileCorrection, citizenOnly, bodyCorrection)
	v1(get, "/me/corrections", s.myCorrections, citizenOnly, bodyAPI)

	v1(get, "/corrections", s.listCorrections, review, bodyAPI)
	v1(get, "/corrections/:id/photo", s.correctionPhoto, review, bodyAPI)
	v1(post, "/corrections/:id/decision", s.decideCorrection, review, bodyAPI)

	v1(get, "/tokens", s.listTokens, admin, bodyAPI)
	v1(post, "/tokens", s.createToken, admin, bodyAPI)
	v1(del, "/tokens/:id", s.revokeToken, admin, bodyAPI)
	v1(get, "/audit", s.listAudit, staff(auth.PermReadAudit), bodyAPI)
	v1(get, "/sites/:site/permissions", s.sitePermission, staff(auth.PermManageTokens, auth.PermUpload), bodyAPI)
	v1(http.MethodPut, "/sites/:site/permissions", s.setSitePermission, admin, bodyAPI)
}

// healthz reports that the process serves requests.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reports whether the database answers and Config.Ready passes.
// The database check is a ping: it used to read the service's counts,
// which count whole tables (every certificate ever issued, the issuance
// queue), a cost that grows with the nation, on every probe of every
// instance.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "keys": "ok"}
	dbErr := s.svc.Ping(ctx)
	var keyErr error
	if s.cfg.Ready != nil {
		keyErr = s.cfg.Ready(ctx)
	}
	for name, err := range map[string]error{"database": dbErr, "keys": keyErr} {
		if err != nil {
			checks[name] = "failed"
			s.log.WarnContext(ctx, "not ready", "check", name, "error", err)
		}
	}
	if err := errors.Join(dbErr, keyErr); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "checks": checks})
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ok", "checks": checks})
}
