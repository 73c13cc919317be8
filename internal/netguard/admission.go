package netguard

import (
	"context"
	"sync/atomic"
	"time"
)

// Admission bounds the requests in flight. A request that finds every slot
// taken waits at most the configured time (and only while fewer than the
// queue bound are waiting); otherwise it is refused at once, so that under a
// surge the admitted requests keep their latency and the rest learn quickly
// to come back later. It is safe for concurrent use; a nil *Admission
// admits everything.
type Admission struct {
	slots   chan struct{}
	queue   int64
	wait    time.Duration
	waiting atomic.Int64
	refused atomic.Int64
}

// NewAdmission admits inFlight requests at once, lets up to queue more wait
// at most wait for a slot, and refuses the rest. inFlight < 1 returns nil
// (no limit).
func NewAdmission(inFlight, queue int, wait time.Duration) *Admission {
	if inFlight < 1 {
		return nil
	}
	return &Admission{slots: make(chan struct{}, inFlight), queue: int64(max(queue, 0)), wait: max(wait, 0)}
}

// Acquire takes a slot. It returns a release function, or false when the
// request is refused (no slot within the wait, the queue full, or ctx
// done).
func (a *Admission) Acquire(ctx context.Context) (func(), bool) {
	if a == nil {
		return func() {}, true
	}
	select {
	case a.slots <- struct{}{}:
		return a.release, true
	default:
	}
	if a.wait == 0 || a.waiting.Add(1) > a.queue {
		if a.wait != 0 {
			a.waiting.Add(-1)
		}
		a.refused.Add(1)
		return nil, false
	}
	defer a.waiting.Add(-1)
	t := time.NewTimer(a.wait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return a.release, true
	case <-t.C:
	case <-ctx.Done():
	}
	a.refused.Add(1)
	return nil, false
}

func (a *Admission) release() { <-a.slots }

// InFlight returns the requests admitted and not yet released.
func (a *Admission) InFlight() int {
	if a == nil {
		return 0
	}
	return len(a.slots)
}

// Refused returns how many requests were refused so far.
func (a *Admission) Refused() int64 {
	if a == nil {
		return 0
	}
	return a.refused.Load()
}
