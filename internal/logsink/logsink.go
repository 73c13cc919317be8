// Package logsink buffers a service's log lines (the JSON access log
// above all) and writes them out in batches: one write(2) every flush
// interval or every 256 KiB instead of one per request, the largest cost
// the HTTP services had of their own after the work itself.
//
// The buffering is go.uber.org/zap's zapcore.BufferedWriteSyncer, not a
// hand-written one. Lines are whole (slog's handlers write one line per
// call) and kept in order; what is buffered when the process is killed
// (at most one flush interval) is lost, which is why the interval is
// short and Stop flushes.
package logsink

import (
	"io"
	"time"

	"go.uber.org/zap/zapcore"
)

// DefaultFlush is how long a line waits at most before it is written.
const DefaultFlush = 200 * time.Millisecond

// bufferSize is flushed early when full.
const bufferSize = 256 << 10

// Sink is a log destination. Write it like any io.Writer; Stop it once,
// when the service ends, to flush what is buffered.
type Sink struct {
	io.Writer
	stop func() error
}

// Stop flushes the buffer and stops the flushing goroutine. Writes after
// Stop go straight to the underlying writer.
func (s *Sink) Stop() error { return s.stop() }

// New returns a Sink writing to w: buffered and flushed at least every
// flush, or, for flush 0, unbuffered (every line written at once).
func New(w io.Writer, flush time.Duration) *Sink {
	if flush <= 0 {
		return &Sink{Writer: w, stop: func() error { return nil }}
	}
	ws := &zapcore.BufferedWriteSyncer{WS: zapcore.AddSync(w), Size: bufferSize, FlushInterval: flush}
	return &Sink{Writer: ws, stop: ws.Stop}
}
