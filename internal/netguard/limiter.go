package netguard

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a token bucket: PerSecond requests per second on average, up to
// Burst at once.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Valid reports whether the rate allows anything.
func (r Rate) Valid() bool { return r.PerSecond > 0 && r.Burst >= 1 }

// Bounds of a [Limiter]'s memory: buckets idle for longer than
// BucketIdle are dropped, at most every SweepEvery; past the limiter's
// key bound, new clients are refused until a sweep frees room.
const (
	BucketIdle = 5 * time.Minute
	SweepEvery = time.Minute
	// DefaultMaxKeys bounds the buckets of a limiter: about 100 bytes
	// each, so 10 MB at most.
	DefaultMaxKeys = 100_000
)

// Limiter holds one token bucket per key, in bounded memory. It is safe for
// concurrent use.
type Limiter struct {
	now     func() time.Time
	maxKeys int

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewLimiter returns a limiter of at most maxKeys buckets (0:
// [DefaultMaxKeys]) on the clock now (nil: time.Now).
func NewLimiter(maxKeys int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Limiter{now: now, maxKeys: maxKeys, buckets: map[string]*bucket{}, lastSweep: now()}
}

// Allow takes a token from key's bucket, created at rate r on first use.
// When the bucket is empty it returns false and how long until a token is
// available. Keys of different rates must differ (prefix them by class).
func (l *Limiter) Allow(r Rate, key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= SweepEvery || len(l.buckets) >= l.maxKeys {
		l.sweep(now)
	}
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.maxKeys {
			return false, SweepEvery
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst)}
		l.buckets[key] = b
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	res := b.lim.ReserveN(now, 1)
	wait := res.DelayFrom(now)
	res.CancelAt(now)
	return false, wait
}

// Len returns the number of buckets held.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.seen) >= BucketIdle {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
}

// RetryAfter rounds a wait up to whole seconds, at least 1: the value of a
// Retry-After header.
func RetryAfter(wait time.Duration) int {
	return max(1, int((wait+time.Second-1)/time.Second))
}

// ErrBadRate is returned by [ParseRate] for text that is not
// "PER_SECOND:BURST".
var ErrBadRate = errors.New(`netguard: a rate is "PER_SECOND:BURST", like 20:60`)

// ParseRate parses "PER_SECOND:BURST" ("20:60", "0.5:5"); "off" is an
// unlimited rate (a huge bucket), for benchmarks and trusted networks.
func ParseRate(s string) (Rate, error) {
	if strings.TrimSpace(s) == "off" {
		return Unlimited, nil
	}
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return Rate{}, ErrBadRate
	}
	ps, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	burst, err2 := strconv.Atoi(strings.TrimSpace(b))
	r := Rate{PerSecond: ps, Burst: burst}
	if err1 != nil || err2 != nil || !r.Valid() || math.IsInf(ps, 0) || math.IsNaN(ps) {
		return Rate{}, ErrBadRate
	}
	return r, nil
}

// Unlimited is a rate no client reaches.
var Unlimited = Rate{PerSecond: 1e9, Burst: 1 << 30}

// String formats r as [ParseRate] reads it.
func (r Rate) String() string {
	if r == Unlimited {
		return "off"
	}
	return strconv.FormatFloat(r.PerSecond, 'g', -1, 64) + ":" + strconv.Itoa(r.Burst)
}

// RateFlag is a [Rate] as a flag.Value.
type RateFlag struct{ Rate *Rate }

// Set parses the flag's text.
func (f RateFlag) Set(s string) error {
	r, err := ParseRate(s)
	if err != nil {
		return err
	}
	*f.Rate = r
	return nil
}

func (f RateFlag) String() string {
	if f.Rate == nil {
		return ""
	}
	return f.Rate.String()
}
