package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"time"
)

// Targets of issue #3 on the 2-core development machine.
const (
	targetIngest  = 20_000 // records per second
	targetIssue   = 6_000  // certificates per second
	targetRatio   = 0.70   // service issuance rate / library rate, "about"
	targetP99MS   = 50     // citizen JSON downloads at targetClients
	targetClients = 100
)

// Result is everything one run measured; --json prints it.
type Result struct {
	Engine         string `json:"engine"`
	Records        int    `json:"records"`
	DosesPerRecord int    `json:"doses_per_record"`
	// UploadedAsDrafts: the doses were uploaded as drafts and finalised
	// through the finalise route; otherwise they were uploaded finalised.
	UploadedAsDrafts bool   `json:"uploaded_as_drafts"`
	CPUs             int    `json:"cpus"`
	GoVersion        string `json:"go_version"`
	// LoadAverage is the machine's 1-minute load average before and after
	// the run (-1 where unknown).
	LoadAverage struct {
		Start float64 `json:"start"`
		End   float64 `json:"end"`
	} `json:"load_average_1m"`
	Ingest   Phase  `json:"ingest"`
	Finalise *Phase `json:"finalise,omitempty"`
	Issue    Phase  `json:"issue"`
	Library  Phase  `json:"library"`
	// ServiceToLibrary is Issue.PerSecond / Library.PerSecond.
	ServiceToLibrary float64 `json:"service_to_library"`
	// CPUServiceToLibrary is the library's CPU time per certificate over
	// the service's (this process and the database backends): the ratio
	// the wall-clock one tends to when both are bound by the same cores,
	// and one that other work on the machine moves far less.
	CPUServiceToLibrary float64    `json:"cpu_service_to_library"`
	PNG                 PNGResult  `json:"png"`
	Load                LoadResult `json:"citizen_load"`
	Wrk                 *WrkResult `json:"wrk,omitempty"`
}

// Phase is the throughput of one step.
type Phase struct {
	// Items were processed in Seconds: records (persons), doses or
	// certificates, as Unit says.
	Items     int64   `json:"items"`
	Unit      string  `json:"unit"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	// Doses and DosesPerSecond count the dose records of an ingest.
	Doses          int64   `json:"doses,omitempty"`
	DosesPerSecond float64 `json:"doses_per_second,omitempty"`
	// Memory holds the peaks at 0, 25, 50 and 100 % of progress.
	Memory []MemPoint `json:"memory,omitempty"`
	// Tenths is the CPU cost per item in each tenth of the phase, and
	// Flatness the last tenth's over the first's (see cost.go).
	Tenths   []Tenth `json:"tenths,omitempty"`
	Flatness float64 `json:"flatness,omitempty"`
}

func newPhase(items int64, unit string, r stepResult) Phase {
	return Phase{Items: items, Unit: unit, Seconds: r.d.Seconds(), PerSecond: float64(items) / r.d.Seconds(), Memory: r.mem,
		Tenths: r.tenths, Flatness: flatness(r.tenths)}
}

// CPUus is the phase's CPU cost per item over all its tenths.
func (p Phase) CPUus() float64 {
	var us float64
	var n int64
	for i, t := range p.Tenths {
		prev := int64(0)
		if i > 0 {
			prev = p.Tenths[i-1].Done
		}
		us += t.CPUus() * float64(t.Done-prev)
		n = t.Done
	}
	if n == 0 {
		return 0
	}
	return us / float64(n)
}

// measure runs every step on a new harness and removes it afterwards.
func measure(ctx context.Context, o options, log io.Writer) (res *Result, err error) {
	res = &Result{Engine: "sqlite", Records: o.records, DosesPerRecord: o.doses, UploadedAsDrafts: o.drafts,
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if o.dbURL != "" {
		res.Engine = "postgres"
	}
	res.LoadAverage.Start = loadAverage()
	fmt.Fprintf(log, "vaxbench: %s, %d records × %d doses, %d CPUs, load average %.2f\n", res.Engine, o.records,
		o.doses, res.CPUs, res.LoadAverage.Start)
	// No load shedding, as no rate limits: this measures what the service
	// serves (the surge measures what it refuses).
	h, err := startHarness(ctx, o.dbURL, -1)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, h.close()) }()

	if err := h.grow(ctx, o, res, log); err != nil {
		return nil, err
	}
	records := int64(o.records)
	r, err := step(log, "issuer library alone", "certificates", records, true, nil, func(done *atomic.Int64) error {
		return libraryIssue(ctx, h.iss, o, done)
	})
	if err != nil {
		return nil, err
	}
	res.Library = newPhase(records, "certificates", r)
	res.ServiceToLibrary = res.Issue.PerSecond / res.Library.PerSecond
	if us := res.Issue.CPUus(); us > 0 {
		res.CPUServiceToLibrary = res.Library.CPUus() / us
	}

	ttl := o.warmup + 2*o.duration + time.Hour
	cs, err := h.citizens(ctx, max(o.clients, o.pngSamples), o.records, ttl)
	if err != nil {
		return nil, err
	}
	// Distinct persons only: a second citizen of the same person would
	// find the image already stored.
	npng := min(o.pngSamples, o.records)
	if res.PNG, err = h.pngTimings(ctx, cs[:npng]); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "vaxbench: QR PNG, first download %.2f ms, second %.2f ms (medians of %d)\n",
		res.PNG.FirstMedianMS, res.PNG.SecondMedianMS, npng)

	fmt.Fprintf(log, "vaxbench: citizen load, %d clients, %v warm-up then %v\n", o.clients, o.warmup, o.duration)
	_, err = step(log, "citizen load", "requests", 0, false, nil, func(sent *atomic.Int64) error {
		var lerr error
		res.Load, lerr = runLoad(ctx, h.base, cs[:o.clients], o.warmup, o.duration, sent)
		return lerr
	})
	if err != nil {
		return nil, err
	}
	if o.wrk {
		fmt.Fprintf(log, "vaxbench: wrk, %d connections, %v\n", o.clients, o.duration)
		if res.Wrk, err = runWrk(ctx, h.base, h.dir, cs[:o.clients], o.duration); err != nil {
			return nil, err
		}
	}
	res.LoadAverage.End = loadAverage()
	return res, nil
}

// progressEvery is how often a step prints its progress.
const progressEvery = 2 * time.Second

// grow runs the phases that fill the database: ingest, finalise (with
// --drafts) and the batch issuance, with their CPU cost by tenth.
func (h *harness) grow(ctx context.Context, o options, res *Result, log io.Writer) error {
	records, doses := int64(o.records), int64(o.records*o.doses)
	r, err := step(log, "ingest", "doses", doses, true, h.cpu, func(done *atomic.Int64) error {
		return h.ingest(ctx, o, done)
	})
	if err != nil {
		return err
	}
	res.Ingest = newPhase(records, "records", r)
	res.Ingest.Doses, res.Ingest.DosesPerSecond = doses, float64(doses)/r.d.Seconds()
	if o.drafts {
		r, err := step(log, "finalise", "doses", doses, true, h.cpu, func(done *atomic.Int64) error {
			return h.finalise(ctx, o, done)
		})
		if err != nil {
			return err
		}
		p := newPhase(doses, "doses", r)
		res.Finalise = &p
	}
	if o.intake {
		return nil
	}
	var job jobStatus
	r, err = step(log, "issue", "certificates", records, true, h.cpu, func(done *atomic.Int64) error {
		stop, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			return err
		}
		var jerr error
		job, jerr = h.issueAll(ctx, records, done)
		return errors.Join(jerr, stop())
	})
	if err != nil {
		return err
	}
	if job.FinishedAt.After(job.StartedAt) {
		r.d = job.FinishedAt.Sub(job.StartedAt) // the job's own times, free of the polling interval
	}
	res.Issue = newPhase(records, "certificates", r)
	return nil
}

// stepResult is what a step measured.
type stepResult struct {
	d      time.Duration
	mem    []MemPoint
	tenths []Tenth
}

// step runs fn, which counts its progress in done, after a garbage
// collection; it prints the progress to log and, with sample, samples
// memory and the CPU cost per item by tenth (with the database backends'
// of db, which may be nil). total is the items to do (0 when open-ended).
func step(log io.Writer, name, unit string, total int64, sample bool, db *backendCPU, fn func(done *atomic.Int64) error) (stepResult, error) {
	runtime.GC()
	var done atomic.Int64
	var s *sampler
	var cost *costTracker
	if sample {
		s = startSampler(sampleEvery, done.Load)
		cost = startCost(total, done.Load, db)
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	start := time.Now()
	go func() {
		defer close(stopped)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				fmt.Fprintf(log, "vaxbench: %s %s\n", name, progressText(done.Load(), total, unit))
			}
		}
	}()
	err := fn(&done)
	var r stepResult
	r.d = time.Since(start)
	close(stop)
	<-stopped
	if s != nil {
		r.mem = s.finish(total)
		r.tenths = cost.finish()
	}
	if err == nil {
		fmt.Fprintf(log, "vaxbench: %s %s in %.2fs, %.0f/s\n", name, progressText(done.Load(), total, unit),
			r.d.Seconds(), float64(done.Load())/r.d.Seconds())
	}
	return r, err
}

// progressText is "52,000/100,000 doses", or "52,000 requests" without a
// total.
func progressText(done, total int64, unit string) string {
	if total == 0 {
		return thousands(done) + " " + unit
	}
	return thousands(done) + "/" + thousands(total) + " " + unit
}

// startCPUProfile starts a CPU profile written to path (nothing when path
// is empty); stop ends it.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
