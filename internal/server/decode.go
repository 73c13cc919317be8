package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/internal/textcheck"
)

// mediaType returns the request's media type, lowercased, without
// parameters ("" when absent or malformed).
func mediaType(c echo.Context) string {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil {
		return ""
	}
	return mt
}

func errMediaType(want string) *apiError {
	return newError(http.StatusUnsupportedMediaType, codeMediaType, "unsupported content type",
		"send Content-Type: "+want)
}

// decodeJSON decodes the request body strictly into v: Content-Type
// application/json, one JSON value, no unknown fields, nothing after it.
// Errors name the offset or the field, never a value.
func decodeJSON(c echo.Context, v any) error {
	if mediaType(c) != echo.MIMEApplicationJSON {
		return errMediaType(echo.MIMEApplicationJSON)
	}
	return decodeStrict(c.Request().Body, v)
}

// decodeStrict also refuses, naming the field, any string of the body
// that holds a control character ([textcheck.JSON]; line breaks are allowed
// in the free-text fields of [freeText]).
func decodeStrict(r io.Reader, v any) error {
	body, err := io.ReadAll(r) // bounded by bodyLimit or the caller
	if err != nil {
		return err
	}
	if field, bad := textcheck.JSON(body, freeText); bad {
		return errControl(field)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errTrailing
		}
	}
	if err == nil {
		return nil
	}
	var mbe *http.MaxBytesError
	var te *json.UnmarshalTypeError
	bad := newError(http.StatusBadRequest, codeMalformed, "the request body is not valid JSON for this route",
		"see the route's request schema in the OpenAPI document")
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.As(err, &te) && te.Field != "":
		bad.Message = "a field of the request body has the wrong JSON type"
		bad.Fields = []fieldJSON{{Field: te.Field, Code: "type"}}
	case errors.Is(err, errTrailing):
		bad.Message = "the request body has data after the JSON value"
	case isUnknownField(err):
		bad.Message = "the request body has an unknown field"
	}
	return bad
}

var errTrailing = errors.New("server: trailing data")

// freeText reports whether a JSON key holds free text, where a person may
// type line breaks: a correction's description, a change's reason.
func freeText(key string) bool { return key == "description" || key == "reason" }

// codeControl is the field code of a text field that holds a control
// character or invalid UTF-8.
const codeControl = "control_character"

// errControl refuses a request whose field (a path or query parameter, a
// JSON field path; "" for the body itself) holds a control character or
// invalid UTF-8. It names the field, never its value.
func errControl(field string) *apiError {
	if field == "" {
		field = "body"
	}
	return &apiError{Status: http.StatusBadRequest, Code: codeMalformed,
		Message: "a text field holds a control character or invalid UTF-8 / " +
			"một trường văn bản chứa ký tự điều khiển hoặc UTF-8 không hợp lệ",
		Hint: "remove control characters (NUL, ESC, line breaks…) from the named field and send UTF-8 / " +
			"hãy xoá các ký tự điều khiển khỏi trường được nêu và gửi văn bản UTF-8",
		Fields: []fieldJSON{{Field: field, Code: codeControl}}}
}

// cleanParams refuses a request whose path or query parameters hold a
// control character or invalid UTF-8 (after percent-decoding), naming the
// parameter. Every /v1/ route runs it after its access check.
func cleanParams(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for i, name := range c.ParamNames() {
			vals := c.ParamValues()
			if i >= len(vals) {
				break
			}
			v, err := url.PathUnescape(vals[i])
			if err == nil && !textcheck.Valid(v) {
				return errControl(name)
			}
		}
		for name, vs := range c.QueryParams() {
			if !textcheck.Valid(name) {
				return errControl("query")
			}
			for _, v := range vs {
				if !textcheck.Valid(v) {
					return errControl(name)
				}
			}
		}
		return next(c)
	}
}

// isUnknownField recognises encoding/json's DisallowUnknownFields error,
// which has no type of its own.
func isUnknownField(err error) bool {
	const prefix = "json: unknown field "
	s := err.Error()
	return len(s) > len(prefix) && s[:len(prefix)] == prefix
}

// query is a reader of query parameters that collects the invalid ones.
type query struct {
	v      url.Values
	fields []fieldJSON
}

func newQuery(c echo.Context) *query { return &query{v: c.QueryParams()} }

func (q *query) bad(name string) {
	q.fields = append(q.fields, fieldJSON{Field: name, Code: "invalid"})
}

func (q *query) str(name string, maxLen int) string {
	s := q.v.Get(name)
	if len(s) > maxLen {
		q.bad(name)
		return ""
	}
	return s
}

func (q *query) time(name string) time.Time {
	s := q.v.Get(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		q.bad(name)
	}
	return t
}

// page reads "after" (a cursor from a previous page's next_after) and
// "limit" (1-1000, default 100).
func (q *query) page() service.Page {
	var p service.Page
	if s := q.v.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			q.bad("after")
		}
		p.After = n
	}
	p.Limit = defaultPageSize
	if s := q.v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			q.bad("limit")
		}
		p.Limit = n
	}
	return p
}

// err returns the invalid parameters as one error, or nil.
func (q *query) err() error {
	if len(q.fields) == 0 {
		return nil
	}
	e := errInvalid(q.fields...)
	e.Status = http.StatusBadRequest
	e.Message = "the request has invalid query parameters"
	return e
}

// Page sizes of list routes, as [service.Page] applies them.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// nextAfter is the cursor of the next page: the last id of a full page,
// else nil (no more entries).
func nextAfter(n, limit int, last int64) *int64 {
	if n < limit || n == 0 {
		return nil
	}
	return &last
}
