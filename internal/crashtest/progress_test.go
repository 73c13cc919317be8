package crashtest

import (
	"fmt"
	"testing"
	"time"
)

// Deadlines of the crash tests come from measured progress, not from the
// wall clock: a run on a loaded machine is slower, not wrong. A watch
// fails only when a counter (rows reported, persons issued) has stood
// still for stallFactor times the slowest step it has taken so far, and at
// least for its floor, itself a multiple of a measured duration (how long
// the server took to start on this machine in this run).
const stallFactor = 20

// watch follows a counter that must keep growing.
type watch struct {
	what    string
	floor   time.Duration
	last    int64
	lastAt  time.Time
	slowest time.Duration // the longest wait between two increases seen
}

func newWatch(what string, floor time.Duration, now time.Time) *watch {
	return &watch{what: what, floor: floor, lastAt: now}
}

// limit is how long the counter may stand still now.
func (w *watch) limit() time.Duration { return max(w.floor, stallFactor*w.slowest) }

// see records the counter's value v at now and returns an error when it
// has not grown for longer than the limit.
func (w *watch) see(v int64, now time.Time) error {
	if v > w.last {
		w.slowest = max(w.slowest, now.Sub(w.lastAt))
		w.last, w.lastAt = v, now
		return nil
	}
	if still := now.Sub(w.lastAt); still > w.limit() {
		return fmt.Errorf("%s stood still at %d for %v (limit %v: %d× its slowest step so far, %v, and at least %v)",
			w.what, w.last, still.Round(time.Millisecond), w.limit(), stallFactor, w.slowest.Round(time.Millisecond), w.floor)
	}
	return nil
}

func TestWatch(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	w := newWatch("rows", 5*time.Second, t0)
	steps := []struct {
		at     time.Duration
		v      int64
		failed bool
	}{
		{4 * time.Second, 0, false},     // within the floor
		{5 * time.Second, 10, false},    // the first step took 5 s: limit now 100 s
		{90 * time.Second, 10, false},   // slow, but within 20× the slowest step
		{100 * time.Second, 20, false},  // a 95 s step: limit now 1900 s
		{1000 * time.Second, 20, false}, // a loaded machine: still waiting
		{1999 * time.Second, 20, false}, // 1899 s still
		{2001 * time.Second, 20, true},  // 1901 s still: stalled
		{2002 * time.Second, 21, false}, // progress resets the wait
	}
	for _, s := range steps {
		if err := w.see(s.v, at(s.at)); (err != nil) != s.failed {
			t.Errorf("at %v value %d: error %v, want failure %v", s.at, s.v, err, s.failed)
		}
	}
	quick := newWatch("persons", 2*time.Second, t0)
	for i := range 10 {
		if err := quick.see(int64(i+1), at(time.Duration(i+1)*10*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if err := quick.see(10, at(100*time.Millisecond+2100*time.Millisecond)); err == nil {
		t.Error("a stall beyond the floor passed, though every step took 10 ms")
	}
}
