package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vaxcert/vaxcert/internal/wrkrun"
)

// The clients: where the load comes from, and so what shares the cores
// with the measured service.
const (
	// clientChild: this program re-executed as the load generator, in its
	// own process with GOMAXPROCS=clientProcs. Its CPU is not the
	// service's and is reported beside it; it still runs on the same cores.
	clientChild = "child"
	// clientWrk: wrk(1), from its own process (Lua script for the POST).
	clientWrk = "wrk"
	// clientInproc: goroutines in this process, on the service's
	// GOMAXPROCS: the clients' CPU counts as the service's.
	clientInproc = "inproc"
)

// clientProcs is the child client's GOMAXPROCS.
const clientProcs = 1

// target is a service under load.
type target struct {
	name string // "verifier" (serve-verifier) or "issuer" (serve's POST /v1/verify)
	addr string // loopback host:port
	path string
}

// loadResult is what a client run reports.
type loadResult struct {
	Answers    int64   `json:"answers"` // 200s
	Refused    int64   `json:"refused"` // other statuses
	Errors     int64   `json:"errors"`  // transport errors
	Seconds    float64 `json:"seconds"`
	P50        float64 `json:"p50_ms"`
	P99        float64 `json:"p99_ms"`
	CPUSeconds float64 `json:"cpu_seconds"` // the client process's, out of process only
}

// drive puts t under load from mode's clients for d and measures the
// phase: this process's CPU is the service's alone unless mode is inproc.
func drive(ctx context.Context, mode string, t target, clients int, d time.Duration, qr []byte, dir string) (phase, error) {
	c0 := cpu()
	var r loadResult
	var err error
	switch mode {
	case clientInproc:
		r = load(t.addr, t.path, clients, d, qr)
	case clientChild:
		r, err = childClients(ctx, t, clients, d, qr)
	case clientWrk:
		r, err = wrkClients(ctx, t, clients, d, qr, dir)
	default:
		err = fmt.Errorf("unknown client %q (child, wrk or inproc)", mode)
	}
	if err != nil {
		return phase{}, err
	}
	return phase{ops: r.Answers, wall: time.Duration(r.Seconds * float64(time.Second)), cpu: cpu() - c0,
		clients: time.Duration(r.CPUSeconds * float64(time.Second)),
		p50:     r.P50, p99: r.P99, refused: r.Refused, errs: r.Errors}, nil
}

// childClients runs this program as the load generator (-child-clients).
func childClients(ctx context.Context, t target, clients int, d time.Duration, qr []byte) (loadResult, error) {
	self, err := os.Executable()
	if err != nil {
		return loadResult{}, err
	}
	cmd := exec.CommandContext(ctx, self, "-child-clients", t.addr, "-child-path", t.path,
		"-clients", strconv.Itoa(clients), "-duration", d.String())
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(clientProcs))
	cmd.Stdin, cmd.Stderr = bytes.NewReader(qr), os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return loadResult{}, fmt.Errorf("client process: %w", err)
	}
	var r loadResult
	if err := json.Unmarshal(out, &r); err != nil {
		return loadResult{}, fmt.Errorf("client process: %w: %q", err, out)
	}
	st := cmd.ProcessState
	r.CPUSeconds = (st.UserTime() + st.SystemTime()).Seconds()
	return r, nil
}

// runChildClients is the -child-clients process: the load, then its
// report as JSON on stdout.
func runChildClients(addr, path string, clients int, d time.Duration) error {
	qr, err := io.ReadAll(io.LimitReader(os.Stdin, 64<<10))
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(load(addr, path, clients, d, qr))
}

// wrkClients runs wrk(1), one thread per client process CPU.
func wrkClients(ctx context.Context, t target, clients int, d time.Duration, qr []byte, dir string) (loadResult, error) {
	script, err := wrkScript(qr)
	if err != nil {
		return loadResult{}, err
	}
	r, err := wrkrun.Run(ctx, wrkrun.Options{URL: "http://" + t.addr + t.path, Script: script, Dir: dir,
		Threads: clientProcs, Connections: clients, Duration: d})
	if err != nil {
		return loadResult{}, err
	}
	return fromWrk(r), nil
}

// fromWrk reads a wrk report as a load result: answers are the 2xx (wrk's
// latencies cover every answer), the length is wrk's own measured one
// (requests ÷ rate), or the requested one when nothing was answered.
func fromWrk(r *wrkrun.Result) loadResult {
	secs := r.DurationSeconds
	if r.RequestsPerSecond > 0 && r.Requests > 0 {
		secs = float64(r.Requests) / r.RequestsPerSecond
	}
	return loadResult{Answers: r.Requests - r.Non2xx, Refused: r.Non2xx, Errors: r.Errors - r.Non2xx,
		Seconds: secs, P50: r.P50, P99: r.P99, CPUSeconds: r.CPUSeconds}
}

// wrkScript is the Lua script posting qr as text/plain. The QR text of an
// HC1 certificate is Base45 (upper-case letters, digits, " $%*+-./:"),
// which needs no escaping in a Lua string; anything else is refused.
func wrkScript(qr []byte) ([]byte, error) {
	for _, c := range qr {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || slices.Contains([]byte(" $%*+-./:"), c)) {
			return nil, fmt.Errorf("the QR text holds %q, which the wrk script does not quote", c)
		}
	}
	return fmt.Appendf(nil, "-- Written by verifierload: POST the same QR text.\n"+
		"wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"text/plain\"\nwrk.body = \"%s\"\n", qr), nil
}

// load runs clients keep-alive clients against addr for d. Each client
// is one TCP connection writing a prepared request and reading the answer
// with http.ReadResponse: lighter than net/http's client.
func load(addr, path string, clients int, d time.Duration, qr []byte) loadResult {
	req := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
		path, addr, len(qr), qr)
	var mu sync.Mutex
	var lat []time.Duration
	var stop atomic.Bool
	var failed, refused atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				failed.Add(1)
				return
			}
			defer conn.Close()
			br := bufio.NewReader(conn)
			local := make([]time.Duration, 0, 4096)
			defer func() {
				mu.Lock()
				lat = append(lat, local...)
				mu.Unlock()
			}()
			for !stop.Load() {
				t := time.Now()
				if _, err := conn.Write(req); err != nil {
					failed.Add(1)
					return
				}
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					failed.Add(1)
					return
				}
				_, err = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if err != nil {
					failed.Add(1)
					return
				}
				if res.StatusCode != http.StatusOK {
					refused.Add(1)
					continue
				}
				local = append(local, time.Since(t))
			}
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	el := time.Since(start).Seconds()
	slices.Sort(lat)
	return loadResult{Answers: int64(len(lat)), Refused: refused.Load(), Errors: failed.Load(), Seconds: el,
		P50: quantile(lat, 0.5), P99: quantile(lat, 0.99)}
}
