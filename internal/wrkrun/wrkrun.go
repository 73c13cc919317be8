// Package wrkrun runs wrk(1), the HTTP load generator, from its own
// process against a loopback service and reads its --latency report: the
// load tools (cmd/vaxbench --wrk, internal/tools/verifierload -client wrk)
// use it so that the clients' CPU is not the measured process's.
//
// wrk is a C program driven by a Lua script (the requests); there is no
// Go library for it, so its text report is parsed here, strictly: a report
// without the lines a measurement needs is an error, not zeros.
package wrkrun

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrNoWrk is returned when wrk is not installed.
var ErrNoWrk = errors.New("wrk(1) is not on the PATH (Debian: apt-get install wrk)")

// ErrOutput is returned when wrk's report cannot be read.
var ErrOutput = errors.New("unexpected wrk output")

// Result is wrk's measurement, from its own process.
type Result struct {
	Threads           int     `json:"threads"`
	Connections       int     `json:"connections"`
	DurationSeconds   float64 `json:"duration_seconds"`
	RequestsPerSecond float64 `json:"requests_per_second"`
	// Requests counts the answers read, whatever their status.
	Requests int64 `json:"requests"`
	// Errors counts socket errors and answers other than 2xx or 3xx;
	// Non2xx the latter alone.
	Errors int64   `json:"errors"`
	Non2xx int64   `json:"non_2xx"`
	P50    float64 `json:"p50_ms"`
	P90    float64 `json:"p90_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
	// CPUSeconds is wrk's own CPU time (user + system).
	CPUSeconds float64 `json:"cpu_seconds"`
}

// Options is one wrk run.
type Options struct {
	URL         string        // the base URL (loopback)
	Script      []byte        // the Lua script (wrk's init/request functions)
	Dir         string        // where the script file goes
	Threads     int           // wrk threads (at least 1)
	Connections int           // keep-alive connections, spread over the threads
	Duration    time.Duration // rounded up to whole seconds, as wrk counts
}

// Run runs wrk once and returns its report.
func Run(ctx context.Context, o Options) (*Result, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return nil, ErrNoWrk
	}
	f, err := os.CreateTemp(o.Dir, "wrk-*.lua")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(o.Script)
	if err = errors.Join(err, f.Close()); err != nil {
		return nil, err
	}
	threads := max(1, min(o.Threads, o.Connections))
	secs := max(1, int(math.Ceil(o.Duration.Seconds())))
	cmd := exec.CommandContext(ctx, bin, "--threads", strconv.Itoa(threads), "--connections", strconv.Itoa(o.Connections),
		"--duration", strconv.Itoa(secs)+"s", "--timeout", "30s", "--latency", "--script", filepath.Clean(f.Name()), o.URL)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("wrk failed: %w", err)
	}
	r, err := Parse(out)
	if err != nil {
		return nil, err
	}
	r.Threads, r.Connections, r.DurationSeconds = threads, o.Connections, float64(secs)
	r.CPUSeconds = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return r, nil
}

// Parse reads wrk's --latency report.
func Parse(out []byte) (*Result, error) {
	r := &Result{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		var err error
		switch {
		case f[0] == "Latency" && len(f) >= 4:
			r.Max, err = MS(f[3])
		case f[0] == "50%" && len(f) == 2:
			r.P50, err = MS(f[1])
		case f[0] == "90%" && len(f) == 2:
			r.P90, err = MS(f[1])
		case f[0] == "99%" && len(f) == 2:
			r.P99, err = MS(f[1])
		case f[0] == "Requests/sec:" && len(f) == 2:
			r.RequestsPerSecond, err = strconv.ParseFloat(f[1], 64)
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			// "100323 requests in 20.00s, 56.88MB read"
			r.Requests, err = strconv.ParseInt(f[0], 10, 64)
			f[0] = "requests"
		case strings.HasPrefix(sc.Text(), "  Non-2xx or 3xx responses:"):
			r.Non2xx, err = strconv.ParseInt(f[len(f)-1], 10, 64)
			r.Errors += r.Non2xx
		case f[0] == "Socket" && len(f) > 2:
			// "Socket errors: connect 0, read 0, write 0, timeout 0"
			for i := 3; i < len(f); i += 2 {
				n, perr := strconv.ParseInt(strings.TrimSuffix(f[i], ","), 10, 64)
				err = errors.Join(err, perr)
				r.Errors += n
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrOutput, err)
		}
		seen[f[0]] = true
	}
	for _, k := range []string{"Latency", "50%", "90%", "99%", "requests", "Requests/sec:"} {
		if !seen[k] {
			return nil, fmt.Errorf("%w: no %q line", ErrOutput, k)
		}
	}
	return r, nil
}

// MS converts a wrk duration ("635.91us", "1.33ms", "2.01s", "1.00m")
// to milliseconds.
func MS(s string) (float64, error) {
	for _, u := range []struct {
		suffix string
		ms     float64
	}{{"us", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			x, err := strconv.ParseFloat(v, 64)
			return x * u.ms, err
		}
	}
	return 0, fmt.Errorf("%w: duration %q", ErrOutput, s)
}
