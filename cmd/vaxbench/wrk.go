package main

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
	"runtime"
	"strconv"
	"strings"
	"time"
)

// errNoWrk is returned for --wrk when wrk is not installed.
var errNoWrk = errors.New("--wrk needs wrk(1) on the PATH (Debian: apt-get install wrk)")

// errWrkOutput is returned when wrk's report cannot be read.
var errWrkOutput = errors.New("unexpected wrk output")

// WrkResult is wrk's measurement of the citizen load, from its own
// process: the same clients and requests, one connection per client.
type WrkResult struct {
	Threads           int     `json:"threads"`
	Connections       int     `json:"connections"`
	DurationSeconds   float64 `json:"duration_seconds"`
	RequestsPerSecond float64 `json:"requests_per_second"`
	// Errors counts socket errors and answers other than 2xx or 3xx.
	Errors int64   `json:"errors"`
	P50    float64 `json:"p50_ms"`
	P90    float64 `json:"p90_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
}

// runWrk runs wrk against base for duration, with one thread per CPU and
// one connection per citizen, cycling through the citizens' two requests.
// The Lua script goes to dir.
func runWrk(ctx context.Context, base, dir string, cs []citizen, duration time.Duration) (*WrkResult, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return nil, errNoWrk
	}
	script := filepath.Join(dir, "citizens.lua")
	if err := os.WriteFile(script, wrkScript(cs), 0o600); err != nil {
		return nil, err
	}
	threads := min(runtime.NumCPU(), len(cs))
	secs := int(math.Ceil(duration.Seconds()))
	cmd := exec.CommandContext(ctx, bin, "--threads", strconv.Itoa(threads), "--connections", strconv.Itoa(len(cs)),
		"--duration", strconv.Itoa(secs)+"s", "--timeout", "30s", "--latency", "--script", script, base)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("wrk failed: %w", err)
	}
	r, err := parseWrk(out)
	if err != nil {
		return nil, err
	}
	r.Threads, r.Connections, r.DurationSeconds = threads, len(cs), float64(secs)
	return r, nil
}

// wrkScript is a wrk Lua script that sends each citizen's certificate
// list and certificate in turn.
func wrkScript(cs []citizen) []byte {
	var b bytes.Buffer
	b.WriteString("-- Written by vaxbench: each citizen's list, then certificate, in turn.\nlocal citizens = {\n")
	for _, c := range cs {
		fmt.Fprintf(&b, "  {%q, %q},\n", c.token, c.self)
	}
	b.WriteString(`}
local reqs = {}
init = function(args)
  for _, c in ipairs(citizens) do
    local h = { ["Authorization"] = "Bearer " .. c[1] }
    reqs[#reqs + 1] = wrk.format("GET", "/v1/me/certificates", h)
    reqs[#reqs + 1] = wrk.format("GET", c[2], h)
  end
end
local n = 0
request = function()
  n = n % #reqs + 1
  return reqs[n]
end
`)
	return b.Bytes()
}

// parseWrk reads wrk's --latency report.
func parseWrk(out []byte) (*WrkResult, error) {
	r := &WrkResult{}
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
			r.Max, err = wrkMS(f[3])
		case f[0] == "50%" && len(f) == 2:
			r.P50, err = wrkMS(f[1])
		case f[0] == "90%" && len(f) == 2:
			r.P90, err = wrkMS(f[1])
		case f[0] == "99%" && len(f) == 2:
			r.P99, err = wrkMS(f[1])
		case f[0] == "Requests/sec:" && len(f) == 2:
			r.RequestsPerSecond, err = strconv.ParseFloat(f[1], 64)
		case strings.HasPrefix(sc.Text(), "  Non-2xx or 3xx responses:"):
			var n int64
			n, err = strconv.ParseInt(f[len(f)-1], 10, 64)
			r.Errors += n
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
			return nil, fmt.Errorf("%w: %w", errWrkOutput, err)
		}
		seen[f[0]] = true
	}
	for _, k := range []string{"Latency", "50%", "90%", "99%", "Requests/sec:"} {
		if !seen[k] {
			return nil, fmt.Errorf("%w: no %q line", errWrkOutput, k)
		}
	}
	return r, nil
}

// wrkMS converts a wrk duration ("635.91us", "1.33ms", "2.01s", "1.00m")
// to milliseconds.
func wrkMS(s string) (float64, error) {
	for _, u := range []struct {
		suffix string
		ms     float64
	}{{"us", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			x, err := strconv.ParseFloat(v, 64)
			return x * u.ms, err
		}
	}
	return 0, fmt.Errorf("%w: duration %q", errWrkOutput, s)
}
