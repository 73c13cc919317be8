package main

import (
	"fmt"
	"slices"
	"time"
)

// phase is one measured phase: the library on every core, or a service
// under load.
type phase struct {
	ops     int64         // checks, or 200 answers
	wall    time.Duration // the phase's length
	cpu     time.Duration // this process's CPU (user + system) during the phase
	clients time.Duration // the out-of-process clients' CPU, when known
	p50     float64       // ms, services only
	p99     float64       // ms, services only
	refused int64         // answers other than 200 (503 from admission, 429)
	errs    int64         // transport errors
}

// rate is ops per second of wall time.
func (p phase) rate() float64 {
	if p.wall <= 0 {
		return 0
	}
	return float64(p.ops) / p.wall.Seconds()
}

// cpuPerOp is this process's CPU per op (0 without ops).
func (p phase) cpuPerOp() time.Duration {
	if p.ops == 0 {
		return 0
	}
	return p.cpu / time.Duration(p.ops)
}

// roundRatio compares a service phase with the library phases measured
// just before and just after it (their mean rate, and their mean CPU per
// check), so that a drift of the host's speed during the round weighs on
// both sides: the throughput ratio (service answers/s ÷ library checks/s,
// the figure of the target) and the CPU ratio (library CPU per check ÷
// service-process CPU per answer: the share of the service's own CPU
// that is the check; 1 would be a service costing nothing beyond it).
func roundRatio(before, svc, after phase) (throughput, cpu float64) {
	lib := (before.rate() + after.rate()) / 2
	if lib > 0 {
		throughput = svc.rate() / lib
	}
	libCPU := (before.cpuPerOp() + after.cpuPerOp()) / 2
	if s := svc.cpuPerOp(); s > 0 {
		cpu = float64(libCPU) / float64(s)
	}
	return throughput, cpu
}

// sameRound compares a service phase with the floor's phase of the same
// round: throughput (service ÷ floor) and CPU (floor CPU per answer ÷
// service CPU per answer).
func sameRound(floor, svc phase) (throughput, cpu float64) {
	if f := floor.rate(); f > 0 {
		throughput = svc.rate() / f
	}
	if s := svc.cpuPerOp(); s > 0 {
		cpu = float64(floor.cpuPerOp()) / float64(s)
	}
	return throughput, cpu
}

// spread is the median and the range of per-round figures.
type spread struct{ median, min, max float64 }

// summarize returns the median (the mean of the middle two for an even
// count) and the range of xs; zeros for none.
func summarize(xs []float64) spread {
	if len(xs) == 0 {
		return spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return spread{median: m, min: s[0], max: s[len(s)-1]}
}

// String prints "median (min–max)" with the given verb.
func (s spread) format(verb string) string {
	return fmt.Sprintf(verb+" ("+verb+"–"+verb+")", s.median, s.min, s.max)
}

// quantile returns the p-quantile (nearest rank below) of sorted
// latencies in milliseconds; 0 for none.
func quantile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(p*float64(len(sorted)-1))].Microseconds()) / 1000
}
