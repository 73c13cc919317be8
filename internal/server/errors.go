package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/issuer"
)

// ErrInvalidConfig is returned by [New] for a missing or out-of-range
// [Config] field or a nil service.
var ErrInvalidConfig = errors.New("server: invalid config")

// Error codes of the JSON error body. Field codes are those of
// [service.Code].
const (
	codeUnauthenticated  = "unauthenticated"
	codeForbidden        = "forbidden"
	codeNotFound         = "not_found"
	codeMethod           = "method_not_allowed"
	codeMalformed        = "malformed"
	codeInvalid          = "invalid"
	codeConflict         = "conflict"
	codeJobRunning       = "job_running"
	codeCannotJoin       = "cannot_join"
	codeImmutable        = "immutable"
	codeContradictory    = "contradictory"
	codeNoRecords        = "no_records"
	codeUVCIReused       = "uvci_reused"
	codeTooLarge         = "too_large"
	codeTooManyRows      = "too_many_rows"
	codeMediaType        = "unsupported_media_type"
	codeRateLimited      = "rate_limited"
	codeUnavailable      = "unavailable"
	codeOverloaded       = "overloaded"
	codeBusy             = "busy"
	codeInternal         = "internal"
	codeClientCancelled  = "cancelled"
	statusClientCanceled = 499 // nginx's "client closed request"; only logged
)

// busyRetryAfter is the Retry-After of a 503 busy answer, in seconds: the
// store's own retries span a fraction of a second, so the collision that
// outlasted them is usually gone a second later.
const busyRetryAfter = 1

// apiError is an error response. Message and Hint are fixed text; Fields
// name request fields, never their values.
type apiError struct {
	Status  int         `json:"-"`
	Code    string      `json:"code"`
	Message string      `json:"message"`
	Hint    string      `json:"hint,omitempty"`
	Fields  []fieldJSON `json:"fields,omitempty"`
	// Job is the running job that refused a new one (job_running).
	Job *service.JobStatus `json:"job,omitempty"`
	// retryAfter is the Retry-After header in seconds (429, 503, 409), when
	// positive.
	retryAfter int
	// cause is logged for server errors; it is never sent.
	cause error
}

func (e *apiError) Error() string { return "server: " + e.Code + ": " + e.Message }

// fieldJSON names a rejected field and why.
type fieldJSON struct {
	Field string `json:"field"`
	Code  string `json:"code"`
}

func fieldsOf(fes []*issuer.FieldError) []fieldJSON {
	out := make([]fieldJSON, len(fes))
	for i, f := range fes {
		out[i] = fieldJSON{Field: f.Field, Code: service.Code(f.Err)}
	}
	return out
}

func newError(status int, code, message, hint string) *apiError {
	return &apiError{Status: status, Code: code, Message: message, Hint: hint}
}

// errInvalid rejects request fields.
func errInvalid(fields ...fieldJSON) *apiError {
	e := newError(http.StatusUnprocessableEntity, codeInvalid, "the request has invalid fields",
		"see fields for what to fix")
	e.Fields = fields
	return e
}

// toAPIError maps any handler error to its response.
func toAPIError(err error) *apiError {
	var ae *apiError
	var ve *service.ValidationError
	var fe *issuer.FieldError
	var he *echo.HTTPError
	var mbe *http.MaxBytesError
	var jre *service.JobRunningError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &mbe):
		return newError(http.StatusRequestEntityTooLarge, codeTooLarge, "the request body is too large",
			"see the route's body limit in the OpenAPI document")
	case errors.As(err, &ve):
		return errInvalid(fieldsOf(ve.Fields)...)
	case errors.As(err, &fe):
		return errInvalid(fieldsOf([]*issuer.FieldError{fe})...)
	case errors.Is(err, service.ErrInvalid):
		return errInvalid()
	case errors.Is(err, service.ErrUnauthenticated), errors.Is(err, auth.ErrUnauthenticated):
		return errUnauthenticated(err)
	case errors.Is(err, service.ErrForbidden):
		return newError(http.StatusForbidden, codeForbidden, "the credential does not permit this action",
			"uploader tokens act for their own site only")
	case errors.Is(err, service.ErrNotFound):
		return newError(http.StatusNotFound, codeNotFound, "no such resource", "")
	case errors.Is(err, service.ErrImmutable):
		return newError(http.StatusConflict, codeImmutable, "the record is finalised or void",
			"amend a finalised record with POST /v1/dose-records/{site}/{record_id}/amend; a void record never changes")
	case errors.Is(err, service.ErrContradictory):
		return newError(http.StatusConflict, codeContradictory, "the person's finalised records contradict each other",
			"resolve the person's review first (GET /v1/reviews)")
	case errors.Is(err, service.ErrNoRecords):
		return newError(http.StatusConflict, codeNoRecords, "the person has no finalised records", "finalise a record first")
	case errors.Is(err, service.ErrUVCIReused):
		return newError(http.StatusConflict, codeUVCIReused, "the derived uvci belongs to an earlier certificate",
			"retry; UVCIs carry a revision, so this means a bug or a changed UVCI secret: report it")
	case errors.As(err, &jre):
		e := newError(http.StatusConflict, codeJobRunning, "issuance job "+jre.Job.ID+" is running",
			"follow it at GET "+jobPath(jre.Job.ID)+", add this server to it with POST "+jobPath(jre.Job.ID)+
				"/workers (PostgreSQL), or start again after Retry-After seconds")
		e.Job, e.retryAfter = &jre.Job, int(max(time.Second, jre.RetryAfter)/time.Second)
		return e
	case errors.Is(err, service.ErrCannotJoin):
		return newError(http.StatusConflict, codeCannotJoin, "this database has a single writer: a job runs in one process",
			"run several issuance processes on PostgreSQL only")
	case errors.Is(err, service.ErrBusy):
		e := newError(http.StatusServiceUnavailable, codeBusy, "the database is busy with concurrent writes",
			"retry after the seconds in Retry-After with the same Idempotency-Key; nothing was stored by this attempt")
		e.retryAfter = busyRetryAfter
		return e
	case errors.Is(err, service.ErrConflict):
		return newError(http.StatusConflict, codeConflict, "the resource changed concurrently or is busy",
			"retry later")
	case errors.Is(err, service.ErrTooManyRows):
		return newError(http.StatusRequestEntityTooLarge, codeTooManyRows, "the upload has too many rows",
			"split the upload; the rows before the limit were stored")
	case errors.As(err, &he):
		return fromHTTPError(he)
	case errors.Is(err, context.Canceled):
		return &apiError{Status: statusClientCanceled, Code: codeClientCancelled, Message: "the request was cancelled"}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable,
			Message: "the request took too long", Hint: "retry later", cause: err}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: codeInternal, Message: "internal error",
		Hint: "retry later; report the request id if it persists", cause: err}
}

func errUnauthenticated(err error) *apiError {
	e := newError(http.StatusUnauthorized, codeUnauthenticated, "missing or invalid credentials",
		"send Authorization: Bearer <staff token or citizen JWT>")
	e.cause = err
	var ae *auth.Error
	if errors.As(err, &ae) && ae.Reason == auth.ReasonExpired {
		e.Message = "the credential has expired"
		e.Hint = "sign in again"
	}
	return e
}

// fromHTTPError maps echo's own errors (404 and 405 from the router).
func fromHTTPError(he *echo.HTTPError) *apiError {
	switch he.Code {
	case http.StatusNotFound:
		return newError(http.StatusNotFound, codeNotFound, "no such route", "see GET /v1/openapi.yaml")
	case http.StatusMethodNotAllowed:
		return newError(http.StatusMethodNotAllowed, codeMethod, "method not allowed on this route",
			"see GET /v1/openapi.yaml")
	}
	return &apiError{Status: he.Code, Code: strings.ToLower(strings.ReplaceAll(http.StatusText(he.Code), " ", "_")),
		Message: strings.ToLower(http.StatusText(he.Code))}
}

// errorBody is the JSON error response.
type errorBody struct {
	Error *apiError `json:"error"`
}

// handleError is echo's HTTPErrorHandler: it writes the JSON error
// response (unless the response has started) and logs server errors.
func (s *Server) handleError(err error, c echo.Context) {
	ae := toAPIError(err)
	if ae.Status >= http.StatusInternalServerError && ae.cause != nil {
		s.log.ErrorContext(c.Request().Context(), "request failed", "request_id", requestID(c),
			"route", routeOf(c), "error", ae.cause)
	}
	if c.Response().Committed || ae.Status == statusClientCanceled {
		if !c.Response().Committed {
			c.Response().Status = ae.Status // for the access log
		}
		return
	}
	h := c.Response().Header()
	switch ae.Status {
	case http.StatusUnauthorized:
		v := `Bearer realm="vaxcert"`
		if !isMissing(ae.cause) {
			v += `, error="invalid_token"`
		}
		h.Set("WWW-Authenticate", v)
	}
	if ae.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(ae.retryAfter))
	}
	var werr error
	if c.Request().Method == http.MethodHead {
		werr = c.NoContent(ae.Status)
	} else {
		werr = c.JSON(ae.Status, errorBody{ae})
	}
	if werr != nil {
		s.log.DebugContext(c.Request().Context(), "failed to write error response", "request_id", requestID(c),
			"error", werr)
	}
}

// isMissing reports whether err says that no credential was sent.
func isMissing(err error) bool {
	var ae *auth.Error
	return errors.As(err, &ae) && ae.Reason == auth.ReasonMissing
}
