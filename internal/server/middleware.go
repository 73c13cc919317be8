package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/service"
)

// Keys of values kept in the echo context.
const (
	keyRequestID = "vaxcert.request_id"
	keyRoute     = "vaxcert.route"
	keyPrincipal = "vaxcert.principal"
)

// routeUnmatched is the route label of requests no route matched.
const routeUnmatched = "unmatched"

// escapedPath makes the router match the escaped path, always: net/http
// keeps URL.RawPath only when it differs from the default escaping, so
// without this a route parameter would arrive escaped or not depending on
// its characters. Handlers unescape parameters with [pathParam]; a UVCI's
// "/" and "#" arrive as %2F and %23 and stay inside one segment.
func escapedPath(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := c.Request().URL
		u.RawPath = u.EscapedPath()
		return next(c)
	}
}

// defaults gives each request an id (a well-formed incoming X-Request-Id,
// or a random one) and the default response headers.
func defaults(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			var b [8]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(keyRequestID, id)
		h := c.Response().Header()
		h.Set(echo.HeaderXRequestID, id)
		h.Set("Cache-Control", "no-store")
		h.Set(echo.HeaderXContentTypeOptions, "nosniff")
		return next(c)
	}
}

func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func requestID(c echo.Context) string {
	id, _ := c.Get(keyRequestID).(string)
	return id
}

// routeOf returns the route template of the request: a handler's override
// (the .png and .pdf forms), echo's matched path, or routeUnmatched.
func routeOf(c echo.Context) string {
	if r, ok := c.Get(keyRoute).(string); ok {
		return r
	}
	if p := c.Path(); p != "" {
		return p
	}
	return routeUnmatched
}

// methodLabel bounds the method label to the standard methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodOptions:
		return m
	}
	return "OTHER"
}

// observe writes the response of a failed request, then logs the request
// and records its metrics. The log line holds no path, query, body or
// header values.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err == echo.ErrNotFound {
			c.Set(keyRoute, routeUnmatched)
		}
		if err != nil {
			c.Error(err)
		}
		elapsed := time.Since(start)
		req, res := c.Request(), c.Response()
		route, method := routeOf(c), methodLabel(req.Method)
		s.metrics.observe(route, method, res.Status, elapsed)
		actor := ""
		if p, ok := c.Get(keyPrincipal).(principal); ok {
			switch p.actor.Kind {
			case service.ActorStaff:
				actor = p.actor.ID
			case service.ActorCitizen:
				actor = "citizen"
			}
		}
		s.log.LogAttrs(req.Context(), slog.LevelInfo, "request",
			slog.String("request_id", requestID(c)),
			slog.String("method", method),
			slog.String("route", route),
			slog.Int("status", res.Status),
			slog.Float64("latency_ms", float64(elapsed.Microseconds())/1000),
			slog.Int64("bytes_in", max(req.ContentLength, 0)),
			slog.Int64("bytes_out", res.Size),
			slog.String("actor", actor))
		return nil
	}
}

// recoverPanic turns a handler panic into a 500 response. Only the panic
// value's type and the stack are logged: the value could hold request data.
func (s *Server) recoverPanic(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(c.Request().Context(), "panic", "request_id", requestID(c), "route", routeOf(c),
				"panic_type", fmt.Sprintf("%T", v), "stack", string(debug.Stack()))
			err = &apiError{Status: http.StatusInternalServerError, Code: codeInternal, Message: "internal error",
				Hint: "report the request id"}
		}()
		return next(c)
	}
}

// bodyLimit bounds the request body to n bytes: a larger Content-Length is
// refused at once, a longer body fails when read (both 413).
func bodyLimit(n int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength > n {
				return &http.MaxBytesError{Limit: n}
			}
			r.Body = http.MaxBytesReader(c.Response().Writer, r.Body, n)
			return next(c)
		}
	}
}

// extendDeadlines gives a long request (an upload) d to be read and
// answered, instead of the server's RequestTimeout.
func extendDeadlines(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			rc := http.NewResponseController(c.Response().Writer)
			t := time.Now().Add(d)
			// Not every ResponseWriter supports deadlines (httptest
			// recorders do not); the server's timeouts then apply.
			if err := errors.Join(rc.SetReadDeadline(t), rc.SetWriteDeadline(t)); err != nil &&
				!errors.Is(err, http.ErrNotSupported) {
				return err
			}
			return next(c)
		}
	}
}

// pathParam returns the unescaped path parameter, or a 400 error for a
// malformed escape or an oversized value.
func pathParam(c echo.Context, name string) (string, error) {
	v, err := url.PathUnescape(c.Param(name))
	if err != nil || v == "" || len(v) > limits.MaxRecordField {
		return "", &apiError{Status: http.StatusBadRequest, Code: codeMalformed, Message: "malformed path parameter",
			Hint: "percent-encode path parameters (RFC 3986)", Fields: []fieldJSON{{Field: name, Code: codeMalformed}}}
	}
	return v, nil
}

// idParam returns a positive integer path parameter.
func idParam(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "no such resource"}
	}
	return id, nil
}
