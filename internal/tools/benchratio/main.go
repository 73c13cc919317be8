// Command benchratio runs the hot-path benchmarks beside their yardsticks
// and prints the ratios the README reports, made to hold on a shared
// machine:
//
//   - each package's test binary is built once, then every benchmark runs
//     in a process of its own for a fixed number of iterations, sized from
//     a calibration run to take about -target of CPU;
//
//   - rounds are interleaved: round r runs every pair once (benchmark and
//     yardstick back to back, their order alternating from round to round),
//     so a drift in load hits every pair and both sides alike;
//
//   - next to the wall-clock ratio (ns/op as go test reports it) it prints
//     the CPU-time ratio: the process's user+system time over the
//     benchmark loop alone, per iteration, as the benchmark reports it
//     (metric "cpu-ns/op", testkit.ReportCPU); for a benchmark that does
//     not, the user+system time of its whole process, less that of the
//     same binary running no benchmark and less the benchmark's own setup
//     (a run of one iteration), which RSA key generation, random in
//     length, makes noisy. Other work on the machine stretches wall time,
//     not CPU time;
//
//   - the benchmark processes run with GOMAXPROCS=1 (-procs): with a
//     second P idle, the garbage collector's idle mark workers burn CPU
//     there during every cycle, which counts as the process's CPU time
//     though no core was taken from other work, and more for the
//     benchmark that allocates more; on one P the collector's work is done
//     inline, in both wall and CPU time. Runs are sized in CPU time
//     (-target) where the benchmark reports it, so load does not shorten
//     them;
//
//   - median, minimum and maximum over the rounds are shown for both;
//
//   - where a package has an interleaved benchmark (the benchmark and its
//     yardstick alternately in one loop, reporting their ratio as metrics,
//     one of them in thread CPU time, which waiting for a CPU does not
//     stretch), it runs once per round too, and its ratios are shown the
//     same way.
//
//     go run ./internal/tools/benchratio [-rounds 9] [-target 1s] [-procs 1]
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

type pair struct {
	pkg, bench, yardstick, label string
}

var pairs = []pair{
	{"./verifier", "VerifyES256", "BareECDSAP256Verify", "verify ES256 / bare ECDSA P-256 verify"},
	{"./verifier", "VerifyPS256", "BareRSAPSSVerify", "verify PS256 / bare RSA-PSS verify"},
	{"./issuer", "IssueES256", "BareECDSAP256Sign", "issue ES256 / bare ECDSA P-256 sign"},
	{"./issuer", "IssuePS256", "BareRSAPSSSign", "issue PS256 / bare RSA-PSS sign"},
	{"./verifier/rules", "RuleSet20", "BareECDSAP256Verify", "20-rule set evaluation / bare ECDSA P-256 verify"},
	{"./verifier/venue", "RevocationLookup1M", "VenueCheck", "revocation lookup in 1M hashes / venue check"},
}

// interleaved is a benchmark that reports its own ratios: wall and thread
// CPU time of the benchmark over the yardstick, alternating in one loop.
type interleaved struct {
	pkg, bench, label     string
	wallMetric, cpuMetric string
}

var interleavedBenches = []interleaved{
	{"./verifier", "VerifyES256Interleaved", "verify ES256 / bare ECDSA P-256 verify, interleaved in one loop",
		"verify/ecdsa", "cpu-verify/ecdsa"},
}

// sample is one benchmark process: wall ns/op as reported, CPU ns/op as
// measured.
type sample struct {
	wall, cpu float64
	loopCPU   bool // cpu is the loop's own, reported by the benchmark
}

// perOp is a sample's cost per iteration for sizing runs: CPU time where
// the benchmark reports its loop's, which load does not stretch.
func (s sample) perOp() float64 {
	if s.loopCPU && s.cpu > 0 {
		return s.cpu
	}
	return s.wall
}

// procs is GOMAXPROCS in the benchmark processes (-procs).
var procs int

func main() {
	rounds := flag.Int("rounds", 9, "interleaved rounds")
	target := flag.Duration("target", time.Second, "approximate CPU time of each benchmark process")
	flag.IntVar(&procs, "procs", 1, "GOMAXPROCS of the benchmark processes (0: Go's default)")
	flag.Parse()
	if err := run(*rounds, *target); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}

func run(rounds int, target time.Duration) error {
	dir, err := os.MkdirTemp("", "benchratio-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bins := map[string]*binary{}
	for _, p := range pairs {
		if bins[p.pkg] != nil {
			continue
		}
		b, err := build(dir, p.pkg)
		if err != nil {
			return err
		}
		bins[p.pkg] = b
	}
	// Calibration: iterations for about target per benchmark.
	iters := map[string]int{}
	for _, p := range pairs {
		for _, name := range []string{p.bench, p.yardstick} {
			key := p.pkg + " " + name
			if iters[key] != 0 {
				continue
			}
			s, err := bins[p.pkg].bench(name, "200ms")
			if err != nil {
				return err
			}
			iters[key] = max(100, int(float64(target)/s.perOp()))
			if err := bins[p.pkg].calibrate(name); err != nil {
				return err
			}
		}
	}
	for _, il := range interleavedBenches {
		s, err := bins[il.pkg].bench(il.bench, "200ms")
		if err != nil {
			return err
		}
		iters[il.pkg+" "+il.bench] = max(100, int(float64(target)/s.perOp()))
	}
	ilWall, ilCPU := make([][]float64, len(interleavedBenches)), make([][]float64, len(interleavedBenches))
	wall := make([][]float64, len(pairs))
	cpu := make([][]float64, len(pairs))
	bs, ys := make([][]float64, len(pairs)), make([][]float64, len(pairs))
	for r := range rounds {
		fmt.Fprintf(os.Stderr, "benchratio: round %d of %d\n", r+1, rounds)
		for i, p := range pairs {
			names := []string{p.bench, p.yardstick}
			if r%2 == 1 {
				names[0], names[1] = names[1], names[0]
			}
			got := map[string]sample{}
			for _, name := range names {
				s, err := bins[p.pkg].bench(name, strconv.Itoa(iters[p.pkg+" "+name])+"x")
				if err != nil {
					return err
				}
				got[name] = s
			}
			b, y := got[p.bench], got[p.yardstick]
			wall[i] = append(wall[i], b.wall/y.wall)
			cpu[i] = append(cpu[i], b.cpu/y.cpu)
			bs[i], ys[i] = append(bs[i], b.wall), append(ys[i], y.wall)
		}
		for i, il := range interleavedBenches {
			m, err := bins[il.pkg].metrics(il.bench, strconv.Itoa(iters[il.pkg+" "+il.bench])+"x")
			if err != nil {
				return err
			}
			w, okW := m[il.wallMetric]
			c, okC := m[il.cpuMetric]
			if !okW || !okC {
				return fmt.Errorf("benchmark %s: metrics %s, %s missing", il.bench, il.wallMetric, il.cpuMetric)
			}
			ilWall[i], ilCPU[i] = append(ilWall[i], w), append(ilCPU[i], c)
		}
	}
	fmt.Printf("%d interleaved rounds, each benchmark in its own process for about %v of CPU, GOMAXPROCS=%d\n\n", rounds, target, procs)
	fmt.Println("| ratio | wall: median | min–max | CPU time: median | min–max | ns/op benchmark / yardstick (median) |")
	fmt.Println("|---|---|---|---|---|---|")
	for i, p := range pairs {
		fmt.Printf("| %s | %.3f | %.3f–%.3f | %.3f | %.3f–%.3f | %.0f / %.0f |\n", p.label, median(wall[i]),
			minOf(wall[i]), maxOf(wall[i]), median(cpu[i]), minOf(cpu[i]), maxOf(cpu[i]), median(bs[i]), median(ys[i]))
	}
	for i, il := range interleavedBenches {
		fmt.Printf("| %s | %.3f | %.3f–%.3f | %.3f (thread) | %.3f–%.3f | |\n", il.label, median(ilWall[i]),
			minOf(ilWall[i]), maxOf(ilWall[i]), median(ilCPU[i]), minOf(ilCPU[i]), maxOf(ilCPU[i]))
	}
	if s, err := bins["./issuer"].bench("QRPNG", "200x"); err == nil {
		fmt.Printf("\nQR PNG rendering (reported separately): %.2f ms per certificate\n", s.wall/1e6)
	}
	if b, err := build(dir, "./verifier/rules"); err == nil {
		if s, err := b.bench("LoadCorpus", "50x"); err == nil {
			fmt.Printf("\nRules corpus load (55 EU/DE/AT/CZ rules + 14 VN rules, validated and compiled): %.1f ms\n", s.wall/1e6)
		}
	}
	return nil
}

// binary is a package's compiled test binary and the CPU time it takes
// to start and run no benchmark.
type binary struct {
	path string
	dir  string // the package folder: benchmarks may read testdata
	idle time.Duration
	// setup is each benchmark's CPU time outside its iterations (keys,
	// test data), measured with -benchtime=1x.
	setup map[string]time.Duration
}

// calibrate measures a benchmark's setup: the least of three runs of one
// iteration (Go runs it twice: b.N = 1, then the measured 1x), less the
// idle binary's time and those two iterations' share, which is small.
func (b *binary) calibrate(name string) error {
	var least time.Duration
	for i := range 3 {
		_, t, err := b.exec("-test.run=^$", "-test.bench=^Benchmark"+name+"$", "-test.benchtime=1x", "-test.count=1")
		if err != nil {
			return err
		}
		if i == 0 || t < least {
			least = t
		}
	}
	b.setup[name] = max(least-b.idle, 0)
	return nil
}

func build(dir, pkg string) (*binary, error) {
	b := &binary{path: filepath.Join(dir, strings.NewReplacer("/", "_", ".", "_").Replace(pkg)+".test"), dir: pkg,
		setup: map[string]time.Duration{}}
	cmd := exec.Command("go", "test", "-c", "-o", b.path, pkg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("build %s: %w", pkg, err)
	}
	// The least of three: start-up costs vary a little.
	for i := range 3 {
		_, t, err := b.exec("-test.run=^$", "-test.bench=^$")
		if err != nil {
			return nil, err
		}
		if i == 0 || t < b.idle {
			b.idle = t
		}
	}
	return b, nil
}

// exec runs the binary in its package folder and returns its output and
// its user+system CPU time.
func (b *binary) exec(args ...string) ([]byte, time.Duration, error) {
	cmd := exec.Command(b.path, args...)
	cmd.Dir = b.dir
	if procs > 0 {
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(procs))
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, 0, fmt.Errorf("%s %v: %w\n%s", b.path, args, err, out.String())
	}
	return out.Bytes(), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// bench runs one benchmark for benchtime ("2000x" or a duration).
func (b *binary) bench(name, benchtime string) (sample, error) {
	out, cpu, err := b.exec("-test.run=^$", "-test.bench=^Benchmark"+name+"$", "-test.benchtime="+benchtime,
		"-test.count=1")
	if err != nil {
		return sample{}, err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark"+name) || f[3] != "ns/op" {
			continue
		}
		n, err1 := strconv.ParseFloat(f[1], 64)
		wall, err2 := strconv.ParseFloat(f[2], 64)
		if err1 != nil || err2 != nil || n <= 0 {
			continue
		}
		for i := 4; i+1 < len(f); i += 2 {
			if f[i+1] == "cpu-ns/op" {
				if c, err := strconv.ParseFloat(f[i], 64); err == nil {
					return sample{wall: wall, cpu: c, loopCPU: true}, nil
				}
			}
		}
		// Less the start-up (idle) and the benchmark's setup (calibrate);
		// Go runs b.N = 1 once before the measured run.
		return sample{wall: wall, cpu: float64(max(cpu-b.idle-b.setup[name], 0).Nanoseconds()) / (n + 1)}, nil
	}
	return sample{}, fmt.Errorf("benchmark %s missing from the output:\n%s", name, out)
}

// metrics runs one benchmark for benchtime and returns the metrics it
// reported (unit → value).
func (b *binary) metrics(name, benchtime string) (map[string]float64, error) {
	out, _, err := b.exec("-test.run=^$", "-test.bench=^Benchmark"+name+"$", "-test.benchtime="+benchtime,
		"-test.count=1")
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark"+name) {
			continue
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			if x, err := strconv.ParseFloat(f[i], 64); err == nil {
				m[f[i+1]] = x
			}
		}
		return m, nil
	}
	return nil, fmt.Errorf("benchmark %s missing from the output:\n%s", name, out)
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
