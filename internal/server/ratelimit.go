package server

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// clientClass selects a client's rate.
type clientClass int

const (
	classAnonymous clientClass = iota
	classStaff
	classCitizen
)

// Bounds of the limiter's memory: buckets idle for longer than
// bucketIdle are dropped (by then they have refilled at the default
// rates), at most every sweepEvery; past maxBuckets, new clients are
// refused until a sweep frees room.
const (
	bucketIdle = 5 * time.Minute
	sweepEvery = time.Minute
	maxBuckets = 100_000
)

// limiter holds one token bucket per client. It is safe for concurrent use.
type limiter struct {
	rates map[clientClass]Rate
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(rates map[clientClass]Rate, now func() time.Time) *limiter {
	return &limiter{rates: rates, now: now, buckets: map[string]*bucket{}, lastSweep: now()}
}

// allow takes a token from the client's bucket. When it is empty, it
// returns false and how long until a token is available.
func (l *limiter) allow(class clientClass, key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= sweepEvery || len(l.buckets) >= maxBuckets {
		l.sweep(now)
	}
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			return false, sweepEvery
		}
		r := l.rates[class]
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

func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.seen) >= bucketIdle {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
}

// clientIP is the rate-limit key of an address: IPv4 addresses as they
// are, IPv6 addresses by their /64 prefix (one subscriber's allocation).
func clientIP(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return s
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
