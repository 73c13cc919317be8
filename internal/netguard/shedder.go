package netguard

import (
	"math"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// Shedder refuses a share of requests while the process is congested, so
// that the clients it refuses wait (Retry-After) instead of queueing.
//
// An admission limit ([Admission]) bounds the requests inside their
// handlers, but on a saturated CPU requests queue before they reach a
// handler: read from their sockets late, behind every other runnable
// goroutine. No handler is then slow for long, the limit is rarely reached,
// and every client waits in that hidden queue. The Shedder watches the
// queue's delay instead (by default the time this process's goroutines wait
// to run, [SchedulingDelay]) and, as PIE (RFC 8033) does with a router's
// packets, refuses requests at random with a probability it raises while
// the delay is above the target and lowers while it is below. Once per
// interval:
//
//	p += gain × (delay − target) / target   (the step bounded to ±maxStep)
//
// with p kept within [0, maxShed], so that some requests are always
// admitted; a period with fewer than 50 requests (500 a second) lowers p
// whatever the delay: sparse requests are no crowd. A request is shed with probability p. It is hand-written: the
// controller is a few lines, and the rate-limit libraries at hand bound rates
// or concurrency, not a measured delay.
//
// A Shedder is safe for concurrent use; a nil *Shedder sheds nothing.
type Shedder struct {
	target   time.Duration
	interval time.Duration
	delay    func() time.Duration
	now      func() time.Time
	random   func() float64

	mu   sync.Mutex // held by the goroutine updating p
	next time.Time

	p        atomic.Uint64 // float64 bits
	shed     atomic.Int64
	arrivals atomic.Int64 // in the current period
}

// Shedder constants.
const (
	// ShedInterval is how often the probability is updated.
	ShedInterval = 100 * time.Millisecond
	// shedGain scales the step by the delay's distance from the target:
	// at twice the target, p rises by 0.1 a period.
	shedGain = 0.1
	// shedMaxStep bounds one period's step, so that one bad sample
	// (a pause of the whole process) does not shed everything at once.
	shedMaxStep = 0.2
	// shedMinArrivals is the fewest requests in a period (500 a second)
	// for its delay to raise p: sparse requests are no crowd to refuse
	// (a machine busy with other work, a page fetching three lists at
	// once), and a period with fewer lowers p as one below the target.
	shedMinArrivals = 50
	// maxShed is the highest share shed: a delay the service cannot
	// shorten (other processes starving the machine's CPUs) must not turn
	// most of its clients away; beyond it the admission limit acts.
	maxShed = 0.5
)

// NewShedder sheds requests while delay() is above target; it reads delay
// at most once per [ShedInterval] of the clock now, and draws from random
// (uniform in [0, 1)). target ≤ 0 returns nil (no shedding).
func NewShedder(target time.Duration, delay func() time.Duration, now func() time.Time, random func() float64) *Shedder {
	if target <= 0 {
		return nil
	}
	return &Shedder{target: target, interval: ShedInterval, delay: delay, now: now, random: random}
}

// Shed reports whether to refuse a request that arrives while others
// requests are in flight. A request alone (others == 0) is never shed: on a
// machine slowed by other processes, refusing it would not shorten any
// queue of this service's.
func (s *Shedder) Shed(others int) bool {
	if s == nil {
		return false
	}
	s.arrivals.Add(1)
	s.update()
	p := s.Probability()
	if others < 1 || p <= 0 || s.random() >= p {
		return false
	}
	s.shed.Add(1)
	return true
}

// update moves p once per interval; a request arriving while another one
// updates does not wait for it.
func (s *Shedder) update() {
	t := s.now()
	if !s.mu.TryLock() {
		return
	}
	defer s.mu.Unlock()
	if t.Before(s.next) {
		return
	}
	if s.next.IsZero() {
		// The first period starts now: what the delay measures from
		// its first call onwards belongs to it.
		s.delay()
		s.arrivals.Store(0)
		s.next = t.Add(s.interval)
		return
	}
	s.next = t.Add(s.interval)
	step := -shedGain
	if s.arrivals.Swap(0) >= shedMinArrivals {
		step = shedGain * float64(s.delay()-s.target) / float64(s.target)
		step = max(-shedMaxStep, min(shedMaxStep, step))
	} else {
		s.delay() // the next period's delay starts now
	}
	p := max(0, min(maxShed, s.Probability()+step))
	s.p.Store(math.Float64bits(p))
}

// Probability returns the share of requests shed now.
func (s *Shedder) Probability() float64 {
	if s == nil {
		return 0
	}
	return math.Float64frombits(s.p.Load())
}

// Count returns how many requests were shed so far.
func (s *Shedder) Count() int64 {
	if s == nil {
		return 0
	}
	return s.shed.Load()
}

// schedLatencies is the runtime's histogram of the time goroutines spent
// runnable before they ran.
const schedLatencies = "/sched/latencies:seconds"

// SchedulingDelay returns a function that reports the q-quantile (0 < q ≤
// 1) of the time this process's goroutines waited to run since its
// previous call (runtime/metrics, /sched/latencies:seconds), 0 when none
// ran. On a saturated CPU that wait grows with every runnable goroutine
// (a request read, a response written), whatever the database. The
// function is safe for concurrent use.
func SchedulingDelay(q float64) func() time.Duration {
	var mu sync.Mutex
	var prev []uint64
	sample := []metrics.Sample{{Name: schedLatencies}}
	return func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindFloat64Histogram {
			return 0
		}
		h := sample[0].Value.Float64Histogram()
		d := quantileSince(prev, h.Counts, h.Buckets, q)
		prev = append(prev[:0], h.Counts...)
		return d
	}
}

// quantileSince returns the q-quantile of the counts added to a cumulative
// histogram since prev (nil: since the start), as the upper bound of the
// bucket it falls in (buckets[i], buckets[i+1] bound counts[i]; an infinite
// bound counts as the finite one below it).
func quantileSince(prev, counts []uint64, buckets []float64, q float64) time.Duration {
	var total uint64
	delta := make([]uint64, len(counts))
	for i, c := range counts {
		if i < len(prev) && prev[i] <= c {
			c -= prev[i]
		}
		delta[i] = c
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, c := range delta {
		if seen += c; seen >= rank {
			upper := buckets[i+1]
			if math.IsInf(upper, 1) {
				upper = buckets[i]
			}
			return time.Duration(upper * float64(time.Second))
		}
	}
	return 0
}
