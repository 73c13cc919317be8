package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"
)

// runSweep grows a fresh database to each size of o.persons and prints the
// CPU cost per item by tenth of each phase.
func runSweep(ctx context.Context, o options, stdout, stderr io.Writer) int {
	var results []*Result
	for _, n := range o.persons {
		o.records = n
		res, err := grow(ctx, o, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "vaxbench: error: %v\n", err)
			return exitFailed
		}
		results = append(results, res)
		if !o.jsonOut && len(o.persons) > 1 {
			// Each size's rows as soon as they are known (on standard
			// error: the table at the end goes to standard output).
			writeSweep(stderr, results)
		}
	}
	var err error
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(results)
	} else {
		err = writeSweep(stdout, results)
	}
	if err != nil {
		fmt.Fprintf(stderr, "vaxbench: error: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// grow runs the growing phases on a new harness and removes it afterwards.
func grow(ctx context.Context, o options, log io.Writer) (res *Result, err error) {
	res = &Result{Engine: "sqlite", Records: o.records, DosesPerRecord: o.doses, UploadedAsDrafts: o.drafts,
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if o.dbURL != "" {
		res.Engine = "postgres"
	}
	res.LoadAverage.Start = loadAverage()
	fmt.Fprintf(log, "vaxbench: sweep, %s, %s persons × %d doses, load average %.2f\n", res.Engine,
		thousands(int64(o.records)), o.doses, res.LoadAverage.Start)
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
	res.LoadAverage.End = loadAverage()
	return res, nil
}

// writeSweep prints one row per size and phase: rate, CPU µs per item
// overall and by tenth, the last tenth over the first, and the overall
// cost over the smallest size's.
func writeSweep(w io.Writer, rs []*Result) error {
	if len(rs) == 0 {
		return nil
	}
	upload := "uploaded finalised"
	if rs[0].UploadedAsDrafts {
		upload = "uploaded as drafts, then finalised"
	}
	fmt.Fprintf(w, "vaxbench sweep: %s, %d doses per person (%s), %d CPUs, %s\n", rs[0].Engine, rs[0].DosesPerRecord,
		upload, rs[0].CPUs, rs[0].GoVersion)
	fmt.Fprintln(w, "CPU µs per item: this process (client, HTTP, service) + database backends, by tenth of each phase")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	head := []string{"persons", "load", "phase", "items/s", "µs/item"}
	for i := 1; i <= 10; i++ {
		head = append(head, fmt.Sprintf("t%d", i))
	}
	head = append(head, "last/first", "vs smallest")
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	base := map[string]float64{}
	for _, r := range rs {
		phases := []struct {
			name string
			p    *Phase
		}{{"ingest (doses)", &r.Ingest}, {"finalise (doses)", r.Finalise}, {"issue", &r.Issue}}
		for _, ph := range phases {
			if ph.p == nil || ph.p.Unit == "" { // no finalise without --drafts, no issue with --intake
				continue
			}
			rate := ph.p.PerSecond
			if ph.p == &r.Ingest {
				rate = r.Ingest.DosesPerSecond
			}
			cost := ph.p.CPUus()
			if _, ok := base[ph.name]; !ok {
				base[ph.name] = cost
			}
			row := []string{thousands(int64(r.Records)), fmt.Sprintf("%.1f", r.LoadAverage.Start), ph.name,
				thousands(int64(rate + 0.5)), fmt.Sprintf("%.0f", cost)}
			for i := range 10 {
				cell := "-"
				if i < len(ph.p.Tenths) {
					cell = fmt.Sprintf("%.0f", ph.p.Tenths[i].CPUus())
				}
				row = append(row, cell)
			}
			vs := "-"
			if base[ph.name] > 0 {
				vs = fmt.Sprintf("%.2f", cost/base[ph.name])
			}
			row = append(row, fmt.Sprintf("%.2f", ph.p.Flatness), vs)
			fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
		}
	}
	return tw.Flush()
}
