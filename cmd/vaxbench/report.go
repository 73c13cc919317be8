package main

import (
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// writeTable prints the result as tables.
func writeTable(w io.Writer, r *Result) error {
	upload := "uploaded finalised"
	if r.UploadedAsDrafts {
		upload = "uploaded as drafts, then finalised"
	}
	fmt.Fprintf(w, "vaxbench: %s, %s records × %d doses (%s), %d CPUs, %s, load average %.2f before, %.2f after\n\n",
		r.Engine, thousands(int64(r.Records)), r.DosesPerRecord, upload, r.CPUs, r.GoVersion, r.LoadAverage.Start,
		r.LoadAverage.End)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\titems\tunit\tseconds\tper second\ttarget\t\t")
	row := func(name string, p Phase, target string, ok bool) {
		verdict := ""
		if target != "" {
			verdict = "MISSED"
			if ok {
				verdict = "ok"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%s\t%s\t%s\t\n", name, thousands(p.Items), p.Unit, p.Seconds,
			thousands(int64(p.PerSecond+0.5)), target, verdict)
	}
	row("ingest", r.Ingest, "≥ "+thousands(targetIngest), r.Ingest.PerSecond >= targetIngest)
	fmt.Fprintf(tw, "\t%s\tdoses\t\t%s\t\t\t\n", thousands(r.Ingest.Doses), thousands(int64(r.Ingest.DosesPerSecond+0.5)))
	if r.Finalise != nil {
		row("finalise", *r.Finalise, "", false)
	}
	row("issue (service)", r.Issue, "≥ "+thousands(targetIssue), r.Issue.PerSecond >= targetIssue)
	row("issue (library alone)", r.Library, "", false)
	fmt.Fprintf(tw, "service / library\t%.1f %%\t\t\t\t≈ %.0f %%\t\t\n", 100*r.ServiceToLibrary, 100*targetRatio)
	fmt.Fprintf(tw, "the same in CPU per certificate\t%.1f %%\t%.0f / %.0f µs\t\t\t\t\t\n", 100*r.CPUServiceToLibrary,
		r.Library.CPUus(), r.Issue.CPUus())
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nmemory, peak up to each point of progress (MiB; includes the client side)")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := []string{"step", "measure"}
	for _, m := range progressMarks {
		header = append(header, strconv.Itoa(m)+" %")
	}
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	memRows := func(name string, p *Phase) {
		heap, rss := []string{name, "heap in use"}, []string{"", "RSS"}
		for _, m := range p.Memory {
			heap, rss = append(heap, mibText(m.HeapInuseMiB, m.Samples)), append(rss, mibText(m.RSSMiB, m.Samples))
		}
		fmt.Fprintln(tw, strings.Join(heap, "\t")+"\t")
		fmt.Fprintln(tw, strings.Join(rss, "\t")+"\t")
	}
	memRows("ingest", &r.Ingest)
	if r.Finalise != nil {
		memRows("finalise", r.Finalise)
	}
	memRows("issue", &r.Issue)
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nQR PNG download (%d citizens): first (rendered) median %.2f ms, second (stored) median %.2f ms\n",
		len(r.PNG.FirstMS), r.PNG.FirstMedianMS, r.PNG.SecondMedianMS)

	l := r.Load
	fmt.Fprintf(w, "\ncitizen load: %d clients in this process, %.0fs after %.0fs of warm-up: %s requests/s, %d errors\n",
		l.Clients, l.DurationSeconds, l.WarmupSeconds, thousands(int64(l.RequestsPerSecond+0.5)), l.Errors)
	if l.FirstError != "" {
		fmt.Fprintf(w, "first error: %s\n", l.FirstError)
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "route\trequests\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\t")
	for _, x := range []struct {
		name string
		l    Latency
	}{{"both", l.All}, {routeMyList, l.List}, {routeMyCert, l.Cert}} {
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", x.name, thousands(int64(x.l.Requests)), x.l.P50,
			x.l.P90, x.l.P99, x.l.P999, x.l.Max)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if l.Clients == targetClients {
		verdict := "MISSED"
		if l.Cert.P99 <= targetP99MS && l.Errors == 0 {
			verdict = "ok"
		}
		fmt.Fprintf(w, "target: p99 ≤ %d ms for the JSON form at %d clients, without errors: %s\n", targetP99MS,
			targetClients, verdict)
	}

	if x := r.Wrk; x != nil {
		fmt.Fprintf(w, "\nwrk (own process, %d threads, %d connections, %.0fs): %s requests/s, %d errors, "+
			"p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n", x.Threads, x.Connections, x.DurationSeconds,
			thousands(int64(x.RequestsPerSecond+0.5)), x.Errors, x.P50, x.P90, x.P99, x.Max)
	}
	return nil
}

// mibText formats a memory peak, or "-" when no sample was taken.
func mibText(v float64, samples int) string {
	if samples == 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// thousands formats n with comma separators: 1234567 → "1,234,567".
func thousands(n int64) string { return message.NewPrinter(language.English).Sprint(n) }
