package logsink

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingWriter counts the writes that reach it.
type countingWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	return w.buf.Write(p)
}

func (w *countingWriter) state() (string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String(), w.writes
}

// TestBatchesAndFlushesOnStop logs many lines into a long-interval sink:
// nothing reaches the writer before Stop, then every line does, in order,
// in far fewer writes than lines.
func TestBatchesAndFlushesOnStop(t *testing.T) {
	var w countingWriter
	s := New(&w, time.Hour)
	log := slog.New(slog.NewJSONHandler(s, nil))
	const n = 1000
	for i := range n {
		log.Info("request", "n", i)
	}
	if got, writes := w.state(); writes != 0 || got != "" {
		t.Fatalf("%d writes before the flush interval or a full buffer", writes)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	got, writes := w.state()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d lines after Stop, want %d", len(lines), n)
	}
	for i, l := range lines {
		if !strings.Contains(l, fmt.Sprintf(`"n":%d}`, i)) {
			t.Fatalf("line %d out of order or cut: %s", i, l)
		}
	}
	if writes >= n/10 {
		t.Errorf("%d writes for %d lines: not batched", writes, n)
	}
}

// TestFlushInterval: a line reaches the writer within the interval,
// without Stop.
func TestFlushInterval(t *testing.T) {
	var w countingWriter
	s := New(&w, 20*time.Millisecond)
	defer s.Stop()
	fmt.Fprintln(s, "one line")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got, _ := w.state(); got == "one line\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the line was not flushed within 5 s of a 20 ms interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestUnbuffered: flush 0 writes every line at once.
func TestUnbuffered(t *testing.T) {
	var w countingWriter
	s := New(&w, 0)
	fmt.Fprintln(s, "a")
	fmt.Fprintln(s, "b")
	if got, writes := w.state(); got != "a\nb\n" || writes != 2 {
		t.Errorf("%q in %d writes, want two lines in two writes", got, writes)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
}
