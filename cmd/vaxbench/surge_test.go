//go:build surge

package main

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/store/storetest"
)

// TestSurge ramps citizens' reads to 10 times the base clients on both
// engines and checks what does not depend on the machine's speed: nothing
// fails, every refusal (429 or 503) carries Retry-After, requests are
// still admitted at every stage, the top stage is refused in part (the
// admission limit works), and memory stays bounded (RSS at 10× within
// twice that at 1×, plus 64 MiB). Latencies are logged, with each stage's
// graceful verdict: they are a measurement (make surge prints them), not a
// pass condition, on a shared machine.
func TestSurge(t *testing.T) {
	t.Log(sharedNote())
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			o := options{records: 2000, doses: 2, clients: 32, duration: 3 * time.Second, warmup: time.Second}
			if engine == "postgres" {
				if o.dbURL = os.Getenv(storetest.EnvPostgres); o.dbURL == "" {
					t.Fatalf("set %s: the surge runs on both engines", storetest.EnvPostgres)
				}
			}
			res, err := surge(context.Background(), o, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Stages) != len(surgeMultiples) {
				t.Fatalf("%d stages", len(res.Stages))
			}
			for _, s := range res.Stages {
				ok, why := s.Graceful()
				t.Logf("%d× (%d clients): %.0f admitted/s p50 %.1f p99 %.1f ms; %.0f refused/s (429: %d, 503: %d) p99 %.1f ms; "+
					"%d errors; %.0f µs CPU a request; heap %.0f MiB, RSS %.0f MiB; load %.1f; graceful %v %s", s.Multiple,
					s.Clients, s.AdmittedPerSecond, s.Admitted.P50, s.Admitted.P99, s.RefusedPerSecond, s.Status429,
					s.Status503, s.Refused.P99, s.Errors, s.CPUPerRequestMicros, s.HeapPeakMiB, s.RSSPeakMiB,
					s.LoadAverage, ok, why)
				if s.Errors != 0 || s.MissingRetryAfter != 0 || s.Admitted.Requests == 0 {
					t.Errorf("%d×: %d errors (first: %s), %d refusals without Retry-After, %d admitted", s.Multiple,
						s.Errors, s.FirstError, s.MissingRetryAfter, s.Admitted.Requests)
				}
			}
			first, top := res.Stages[0], res.Stages[len(res.Stages)-1]
			if top.Refused.Requests == 0 {
				t.Errorf("%d clients and nothing refused: the admission limit did not act", top.Clients)
			}
			if top.RSSPeakMiB > 2*first.RSSPeakMiB+64 {
				t.Errorf("RSS %.0f MiB at 10× against %.0f MiB at 1×: memory grows with the crowd", top.RSSPeakMiB,
					first.RSSPeakMiB)
			}
		})
	}
}
