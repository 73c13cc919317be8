package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/vaxcert/vaxcert/internal/server"
)

// The citizen surge: citizens' reads ramped to 10 times the clients the
// service sustains. Graceful degradation means that the admitted requests
// keep their latency, the rest are refused quickly with 429 or 503 and a
// Retry-After, nothing fails otherwise, and memory stays bounded.
const (
	// surgeP99MS bounds the p99 latency of admitted requests, and of
	// refusals, at every stage.
	surgeP99MS = 100
	// refusalPause is how long a refused client waits before its next
	// request: twenty times sooner than the Retry-After of 1 s it is
	// told, an impatient app; waiting not at all would only measure the
	// load generator's own CPU on the cores the service needs.
	refusalPause = 50 * time.Millisecond
)

// surgeMultiples are the ramp's stages, in multiples of --clients.
var surgeMultiples = []int{1, 2, 5, 10}

// SurgeStage is one stage of the ramp.
type SurgeStage struct {
	Multiple int `json:"multiple"`
	Clients  int `json:"clients"`
	// Admitted are the 200 answers, Refused the 429 and 503 ones (each
	// must carry Retry-After: MissingRetryAfter counts those that did
	// not); Errors everything else, transport failures included.
	Admitted          Latency `json:"admitted"`
	Refused           Latency `json:"refused"`
	AdmittedPerSecond float64 `json:"admitted_per_second"`
	RefusedPerSecond  float64 `json:"refused_per_second"`
	Status429         uint64  `json:"status_429"`
	Status503         uint64  `json:"status_503"`
	MissingRetryAfter uint64  `json:"missing_retry_after"`
	Errors            uint64  `json:"errors"`
	FirstError        string  `json:"first_error,omitempty"`
	// HeapPeakMiB and RSSPeakMiB are this process's peaks during the
	// stage (server, service and the load generator).
	HeapPeakMiB float64 `json:"heap_peak_mib"`
	RSSPeakMiB  float64 `json:"rss_peak_mib"`
	LoadAverage float64 `json:"load_average_1m"`
	// CPUPerRequestMicros is the CPU time of this process (server, SQLite
	// and the load generator) and of the PostgreSQL backends, over the
	// whole stage, per request sent in it (admitted or refused, warm-up
	// included): unlike the latencies, it does not depend on how much of
	// the machine the stage got.
	CPUPerRequestMicros float64 `json:"cpu_per_request_us"`
	sent                uint64
}

// Graceful reports whether the stage degraded gracefully, and why not.
func (s SurgeStage) Graceful() (bool, string) {
	var why []string
	if s.Admitted.Requests == 0 {
		why = append(why, "nothing admitted")
	}
	if s.Admitted.P99 > surgeP99MS {
		why = append(why, fmt.Sprintf("admitted p99 %.1f ms", s.Admitted.P99))
	}
	if s.Refused.Requests > 0 && s.Refused.P99 > surgeP99MS {
		why = append(why, fmt.Sprintf("refusal p99 %.1f ms", s.Refused.P99))
	}
	if s.Errors > 0 {
		why = append(why, fmt.Sprintf("%d errors", s.Errors))
	}
	if s.MissingRetryAfter > 0 {
		why = append(why, fmt.Sprintf("%d refusals without Retry-After", s.MissingRetryAfter))
	}
	return len(why) == 0, strings.Join(why, ", ")
}

// SurgeResult is the ramp.
type SurgeResult struct {
	Engine  string `json:"engine"`
	Records int    `json:"records"`
	// Shedding is the server's load shedding target ("5ms"), or "off".
	Shedding string       `json:"shedding"`
	Stages   []SurgeStage `json:"stages"`
}

// surge runs the ramp on a deployment of o.records persons: each stage
// runs o.clients × multiple citizen clients for o.duration after o.warmup.
func surge(ctx context.Context, o options, log io.Writer) (res *SurgeResult, err error) {
	res = &SurgeResult{Engine: "sqlite", Records: o.records, Shedding: "off"}
	if o.shedTarget >= 0 {
		res.Shedding = cmp.Or(o.shedTarget, server.DefaultShedTarget).String()
	}
	if o.dbURL != "" {
		res.Engine = "postgres"
	}
	g := &Result{}
	fmt.Fprintf(log, "vaxbench: surge, %s, %s persons, load average %.2f; %s\n", res.Engine, thousands(int64(o.records)),
		loadAverage(), sharedNote())
	h, err := startHarness(ctx, o.dbURL, o.shedTarget)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, h.close()) }()
	if err := h.grow(ctx, o, g, log); err != nil {
		return nil, err
	}
	most := o.clients * surgeMultiples[len(surgeMultiples)-1]
	cs, err := h.citizens(ctx, min(most, o.records), o.records, o.warmup+o.duration*time.Duration(len(surgeMultiples))+time.Hour)
	if err != nil {
		return nil, err
	}
	for _, m := range surgeMultiples {
		n := o.clients * m
		fmt.Fprintf(log, "vaxbench: surge stage %d×: %d clients, %v warm-up then %v\n", m, n, o.warmup, o.duration)
		cpu0 := processCPU() + h.cpu.cpu()
		st, err := runSurgeStage(ctx, h.base, cs, n, o.warmup, o.duration)
		if err != nil {
			return nil, err
		}
		if st.sent > 0 {
			st.CPUPerRequestMicros = float64((processCPU() + h.cpu.cpu() - cpu0).Microseconds()) / float64(st.sent)
		}
		st.Multiple = m
		res.Stages = append(res.Stages, st)
		fmt.Fprintf(log, "vaxbench: surge stage %d×: %.0f admitted/s (p99 %.1f ms), %.0f refused/s (p99 %.1f ms), %d errors, %.0f µs CPU a request\n",
			m, st.AdmittedPerSecond, st.Admitted.P99, st.RefusedPerSecond, st.Refused.P99, st.Errors, st.CPUPerRequestMicros)
	}
	return res, nil
}

// sharedNote says where the load generator runs.
func sharedNote() string {
	return fmt.Sprintf("the load generator runs in this process, on the same %d CPUs (GOMAXPROCS) as the server "+
		"and, on SQLite, the database", runtime.GOMAXPROCS(0))
}

// surgeClient is one citizen's app during a stage.
type surgeClient struct {
	req                 [2]*http.Request
	admitted, refused   histogram
	s429, s503, missing uint64
	errors              uint64
	firstErr            error
	sent                uint64 // warm-up included
}

// runSurgeStage runs n clients (citizens cs[i%len(cs)]) for warmup and
// then duration, counting the requests started after the warm-up.
func runSurgeStage(ctx context.Context, base string, cs []citizen, n int, warmup, duration time.Duration) (SurgeStage, error) {
	tr := &http.Transport{MaxIdleConns: n, MaxIdleConnsPerHost: n, IdleConnTimeout: time.Minute, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	clients := make([]*surgeClient, n)
	for i := range clients {
		c := cs[i%len(cs)]
		sc := &surgeClient{}
		for k, path := range []string{"/v1/me/certificates", c.self} {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
			if err != nil {
				return SurgeStage{}, err
			}
			req.Header.Set("Authorization", "Bearer "+c.token)
			sc.req[k] = req
		}
		clients[i] = sc
	}
	runtime.GC()
	var heap, rssPeak atomic.Uint64
	stopMem := make(chan struct{})
	var memWG sync.WaitGroup
	memWG.Go(func() {
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap.Store(max(heap.Load(), ms.HeapInuse))
			rssPeak.Store(max(rssPeak.Load(), rss()))
			select {
			case <-stopMem:
				return
			case <-t.C:
			}
		}
	})
	from := time.Now().Add(warmup)
	until := from.Add(duration)
	var wg sync.WaitGroup
	for _, sc := range clients {
		wg.Go(func() { sc.run(client, from, until) })
	}
	wg.Wait()
	close(stopMem)
	memWG.Wait()
	if err := ctx.Err(); err != nil {
		return SurgeStage{}, err
	}
	st := SurgeStage{Clients: n, HeapPeakMiB: mib(heap.Load()), RSSPeakMiB: mib(rssPeak.Load()), LoadAverage: loadAverage()}
	var admitted, refused histogram
	for _, sc := range clients {
		admitted.merge(&sc.admitted)
		refused.merge(&sc.refused)
		st.Status429 += sc.s429
		st.Status503 += sc.s503
		st.MissingRetryAfter += sc.missing
		st.sent += sc.sent
		st.Errors += sc.errors
		if st.FirstError == "" && sc.firstErr != nil {
			st.FirstError = sc.firstErr.Error()
		}
	}
	st.Admitted, st.Refused = latencyOf(&admitted), latencyOf(&refused)
	st.AdmittedPerSecond = float64(admitted.n) / duration.Seconds()
	st.RefusedPerSecond = float64(refused.n) / duration.Seconds()
	return st, nil
}

// run alternates the citizen's list and certificate until the deadline.
func (sc *surgeClient) run(client *http.Client, from, until time.Time) {
	for k := 0; ; k++ {
		start := time.Now()
		if !start.Before(until) || sc.req[0].Context().Err() != nil {
			return
		}
		sc.sent++
		res, err := client.Do(sc.req[k%2])
		status, retryAfter := 0, ""
		if err == nil {
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			status, retryAfter = res.StatusCode, res.Header.Get("Retry-After")
		}
		elapsed := time.Since(start)
		counted := !start.Before(from)
		switch {
		case err == nil && status == http.StatusOK:
			if counted {
				sc.admitted.record(elapsed)
			}
		case err == nil && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable):
			if counted {
				sc.refused.record(elapsed)
				if status == http.StatusTooManyRequests {
					sc.s429++
				} else {
					sc.s503++
				}
				if retryAfter == "" {
					sc.missing++
				}
			}
			time.Sleep(refusalPause)
		default:
			if counted {
				sc.errors++
				if sc.firstErr == nil {
					if err == nil {
						err = fmt.Errorf("status %d", status)
					}
					sc.firstErr = transportError(routeMyList, err)
				}
			}
		}
	}
}

// writeSurge prints the ramp.
func writeSurge(w io.Writer, r *SurgeResult) error {
	fmt.Fprintf(w, "vaxbench surge: %s, %s persons; refused clients retry after %v; criteria: admitted and refusal p99 ≤ %d ms, 0 errors, Retry-After on every refusal\n",
		r.Engine, thousands(int64(r.Records)), refusalPause, surgeP99MS)
	fmt.Fprintf(w, "server: load shedding target %s (scheduling delay), admission limit %d per CPU with %v wait\n",
		r.Shedding, server.DefaultInFlightPerCPU, server.DefaultAdmissionWait)
	fmt.Fprintf(w, "%s: the latencies include its own waits for the CPU; CPU µs/req counts it too\n\n", sharedNote())
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tclients\tadmitted/s\tp50 ms\tp99 ms\trefused/s\t429\t503\trefusal p99 ms\terrors\tCPU µs/req\theap MiB\tRSS MiB\tload\tgraceful\t")
	for _, s := range r.Stages {
		ok, why := s.Graceful()
		verdict := "yes"
		if !ok {
			verdict = "NO: " + why
		}
		fmt.Fprintf(tw, "%d×\t%d\t%s\t%.1f\t%.1f\t%s\t%d\t%d\t%.1f\t%d\t%.0f\t%.0f\t%.0f\t%.1f\t%s\t\n", s.Multiple, s.Clients,
			thousands(int64(s.AdmittedPerSecond+0.5)), s.Admitted.P50, s.Admitted.P99, thousands(int64(s.RefusedPerSecond+0.5)),
			s.Status429, s.Status503, s.Refused.P99, s.Errors, s.CPUPerRequestMicros, s.HeapPeakMiB, s.RSSPeakMiB,
			s.LoadAverage, verdict)
	}
	return tw.Flush()
}

// runSurge is the --surge command.
func runSurge(ctx context.Context, o options, stdout, stderr io.Writer) int {
	res, err := surge(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "vaxbench: error: %v\n", err)
		return exitFailed
	}
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(res)
	} else {
		err = writeSurge(stdout, res)
	}
	if err != nil {
		fmt.Fprintf(stderr, "vaxbench: error: %v\n", err)
		return exitFailed
	}
	return exitOK
}
