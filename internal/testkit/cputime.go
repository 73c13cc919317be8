package testkit

import (
	"testing"
)

// ReportCPU starts measuring the process's CPU time (user + system, every
// thread, so garbage collection counts); the function it returns, called
// after the benchmark loop, reports it per iteration as "cpu-ns/op".
// Setup before the call and the process's start-up do not count, and
// neither does time the process waits for a CPU, so the figure holds on a
// shared machine where wall-clock ns/op does not. Use it as
//
//	defer testkit.ReportCPU(b)()
//	for b.Loop() { … }
//
// Where the platform has no such clock, it reports nothing.
func ReportCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		end, ok2 := processCPU()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64((end-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}
