package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// maxAnswer bounds the answers the benchmark reads whole (a finalise
// report for 1000 records is about 70 KB).
const maxAnswer = 1 << 20

// statusError is an unexpected answer of the API: the route, the status
// and the API's error code (never a request value).
type statusError struct {
	Route  string
	Status int
	Code   string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s answered %d (%s)", e.Route, e.Status, e.Code)
}

// unexpected returns the statusError of res, reading the error code from
// its body.
func unexpected(route string, res *http.Response) error {
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	json.NewDecoder(io.LimitReader(res.Body, maxAnswer)).Decode(&body)
	return &statusError{Route: route, Status: res.StatusCode, Code: body.Error.Code}
}

// call sends a request with the bearer token and an optional JSON body,
// expects the status want and decodes the JSON answer into out (unless
// nil). route names the request in errors.
func (h *harness) call(ctx context.Context, route, method, path, token string, body io.Reader, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := h.http.Do(req)
	if err != nil {
		return transportError(route, err)
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		return unexpected(route, res)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, res.Body)
	} else {
		err = json.NewDecoder(io.LimitReader(res.Body, maxAnswer)).Decode(out)
	}
	if err != nil {
		return fmt.Errorf("%s: failed to read the answer: %w", route, err)
	}
	return nil
}

// transportError reports a failed exchange on route. It drops the URL that
// net/http puts in its errors: certificate paths hold UVCIs, which stay
// out of messages.
func transportError(route string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%s: %w", route, err)
}
