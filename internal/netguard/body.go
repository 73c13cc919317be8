package netguard

import (
	"io"
	"net/http"
)

// ReadBody reads a request body that a body limit already bounds. When the
// request gives its length, as venue scanners do, and it is at most max,
// the body is read in one allocation of that length instead of
// io.ReadAll's growing from 512 bytes; otherwise it is io.ReadAll (the
// limit still applies).
func ReadBody(r *http.Request, max int64) ([]byte, error) {
	if n := r.ContentLength; n > 0 && n <= max {
		b := make([]byte, n)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	return io.ReadAll(r.Body)
}
