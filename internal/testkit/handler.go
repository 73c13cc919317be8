package testkit

import (
	"bytes"
	"net/http"
	"testing"
)

// BenchHandler serves req (whose body is body) to h b.N times in this
// goroutine, with no network and no httptest recorder: the request and a
// discarding ResponseWriter are reused, so the allocations b reports are
// the handler's own. Every answer must have status want.
func BenchHandler(b *testing.B, h http.Handler, req *http.Request, body []byte, want int) {
	b.Helper()
	var rd bytes.Reader
	rb := &reusableBody{Reader: &rd}
	w := &sinkWriter{header: http.Header{}}
	req.ContentLength = int64(len(body))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rd.Reset(body)
		req.Body = rb // middleware may have wrapped the previous one
		clear(w.header)
		w.status, w.n = 0, 0
		h.ServeHTTP(w, req)
		if w.status != want {
			b.Fatalf("status %d, want %d", w.status, want)
		}
	}
}

type reusableBody struct{ *bytes.Reader }

func (*reusableBody) Close() error { return nil }

// sinkWriter is a ResponseWriter that keeps the status and counts bytes.
type sinkWriter struct {
	header http.Header
	status int
	n      int
}

func (w *sinkWriter) Header() http.Header { return w.header }

func (w *sinkWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}

func (w *sinkWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(p)
	return len(p), nil
}
