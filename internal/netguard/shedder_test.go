package netguard

import (
	"math"
	"runtime"
	"sync"
	"testing"
	"time"
)

// shedRig drives a Shedder with a fixed clock, a delay the test sets and
// a sequence of random draws spread evenly over [0, 1).
type shedRig struct {
	now    time.Time
	delay  time.Duration
	reads  int
	draw   int
	s      *Shedder
	target time.Duration
}

func newShedRig(target time.Duration) *shedRig {
	r := &shedRig{now: time.Unix(1_700_000_000, 0), target: target}
	r.s = NewShedder(target, func() time.Duration { r.reads++; return r.delay },
		func() time.Time { return r.now },
		func() float64 { r.draw++; return float64(r.draw%100) / 100 })
	return r
}

// period sends n requests, then moves the clock one interval on; it
// returns how many were shed.
func (r *shedRig) period(n int) int {
	shed := 0
	for range n {
		if r.s.Shed(1) {
			shed++
		}
	}
	r.now = r.now.Add(ShedInterval)
	return shed
}

func TestShedderBelowTargetShedsNothing(t *testing.T) {
	r := newShedRig(5 * time.Millisecond)
	r.delay = 4 * time.Millisecond
	for i := range 50 {
		if n := r.period(100); n != 0 {
			t.Fatalf("period %d: %d of 100 shed with the delay below the target", i, n)
		}
	}
	if p := r.s.Probability(); p != 0 {
		t.Fatalf("probability %v", p)
	}
}

func TestShedderRisesAndFalls(t *testing.T) {
	r := newShedRig(5 * time.Millisecond)
	r.delay = 7500 * time.Microsecond // 1.5 times the target: +0.05 a period
	r.period(100)                     // the first period only starts the measurement
	var shares []float64
	for range 4 {
		shares = append(shares, float64(r.period(100))/100)
	}
	// p is updated at the first request of a period: 0.05, 0.1, 0.15, 0.2.
	for i, got := range shares {
		if want := 0.05 * float64(i+1); math.Abs(got-want) > 0.011 {
			t.Fatalf("period %d: shed %.2f, want %.2f (all: %v)", i+1, got, want, shares)
		}
	}
	r.delay = 100 * time.Millisecond // one step is bounded: +0.2, not +1.9
	r.period(100)
	if p := r.s.Probability(); math.Abs(p-0.4) > 1e-9 {
		t.Fatalf("probability %v after a far-off delay, want 0.4", p)
	}
	for range 10 {
		r.period(100)
	}
	if p := r.s.Probability(); p != maxShed {
		t.Fatalf("probability %v, want the cap %v", p, maxShed)
	}
	if n := r.period(100); n == 100 {
		t.Fatal("everything shed: some requests must be admitted")
	}
	r.delay = 0 // below the target: −0.1 a period, down to 0
	for range 6 {
		r.period(100)
	}
	if p := r.s.Probability(); p != 0 {
		t.Fatalf("probability %v after the delay fell, want 0", p)
	}
	if n := r.period(100); n != 0 {
		t.Fatalf("%d shed after the delay fell", n)
	}
}

func TestShedderSparesALoneRequest(t *testing.T) {
	r := newShedRig(5 * time.Millisecond)
	r.delay = time.Second
	for range 10 {
		r.period(100)
	}
	for i := range 100 {
		if r.s.Shed(0) {
			t.Fatalf("request %d shed with no other request in flight", i)
		}
	}
	if n := r.period(100); n == 0 {
		t.Fatal("nothing shed with others in flight")
	}
}

func TestShedderSparseRequestsAreNoCrowd(t *testing.T) {
	r := newShedRig(5 * time.Millisecond)
	r.delay = time.Second
	for i := range 20 {
		if n := r.period(shedMinArrivals - 1); n != 0 {
			t.Fatalf("period %d: %d shed among %d requests", i, n, shedMinArrivals-1)
		}
	}
	for range 5 {
		r.period(100)
	}
	if p := r.s.Probability(); p < 0.4 {
		t.Fatalf("probability %v after 5 crowded periods", p)
	}
	r.period(shedMinArrivals - 1)
	before := r.s.Probability()
	r.period(shedMinArrivals - 1) // its first request updates p for the sparse period before
	if p := r.s.Probability(); math.Abs(before-p-shedGain) > 1e-9 {
		t.Fatalf("probability %v after a sparse period, from %v: want it lowered by %v", p, before, shedGain)
	}
}

func TestShedderReadsDelayOncePerInterval(t *testing.T) {
	r := newShedRig(5 * time.Millisecond)
	for range 3 {
		r.period(1000)
	}
	if r.reads != 3 {
		t.Fatalf("the delay was read %d times over 3 intervals of 1000 requests, want 3", r.reads)
	}
}

func TestShedderCounts(t *testing.T) {
	r := newShedRig(5 * time.Millisecond)
	r.delay = time.Second
	total := 0
	for range 10 {
		total += r.period(100)
	}
	if total == 0 || r.s.Count() != int64(total) {
		t.Fatalf("Count %d, shed %d", r.s.Count(), total)
	}
}

func TestShedderOff(t *testing.T) {
	var s *Shedder = NewShedder(0, nil, nil, nil)
	if s != nil || s.Shed(1) || s.Probability() != 0 || s.Count() != 0 {
		t.Fatal("a zero target must shed nothing")
	}
}

func TestQuantileSince(t *testing.T) {
	buckets := []float64{0, 0.001, 0.002, 0.004, math.Inf(1)}
	prev := []uint64{10, 0, 0, 0}
	cur := []uint64{100, 9, 0, 1} // since prev: 90 below 1 ms, 9 below 2 ms, 1 beyond 4 ms
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, time.Millisecond}, {0.9, time.Millisecond}, {0.95, 2 * time.Millisecond}, {1, 4 * time.Millisecond}} {
		if got := quantileSince(prev, cur, buckets, c.q); got != c.want {
			t.Errorf("q %v: %v, want %v", c.q, got, c.want)
		}
	}
	if got := quantileSince(cur, cur, buckets, 0.9); got != 0 {
		t.Errorf("nothing new: %v, want 0", got)
	}
	if got := quantileSince(nil, []uint64{0, 0, 4, 0}, buckets, 0.5); got != 4*time.Millisecond {
		t.Errorf("no previous sample: %v, want 4ms", got)
	}
}

// TestSchedulingDelayGrowsWithContention runs far more busy goroutines than
// the process has CPUs: the waits the runtime reports must grow beyond
// those of an idle process.
func TestSchedulingDelayGrowsWithContention(t *testing.T) {
	delay := SchedulingDelay(0.9)
	delay()
	var wg sync.WaitGroup
	stop := time.Now().Add(200 * time.Millisecond)
	for range 50 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Now().Before(stop) {
				x := 0
				for i := range 100_000 {
					x += i
				}
				_ = x
				runtime.Gosched()
			}
		})
	}
	wg.Wait()
	if d := delay(); d < 100*time.Microsecond {
		t.Fatalf("p90 scheduling delay %v with %d busy goroutines per CPU, want ≥ 100µs", d, 50)
	}
}
