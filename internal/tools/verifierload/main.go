// Command verifierload measures the venue verifier (make verifier-perf),
// bounded and on loopback only, with its yardstick in the same run:
//
//  1. in -rounds interleaved rounds of -duration per phase, the library
//     (venue.Checker.Check: verify + revocation lookup + policy, on every
//     core) and, under -clients concurrent keep-alive clients posting the
//     same QR text, the venue verifier service (`serve-verifier`,
//     internal/verifysvc) and the issuer service's own POST /v1/verify
//     (`serve`, internal/server, SQLite, its own signed lists, default
//     admission limit): library, verifier, issuer, library, verifier,
//     issuer, …, library. Each service phase is compared with the library
//     phases just before and after it (throughput ratio, and CPU ratio:
//     library CPU per check ÷ the service process's CPU per answer), and
//     the per-round ratios are summarised as median (min–max);
//
//  2. the revocation lookup against a 1,000,000-hash list, as a share of
//     one Check;
//
//  3. in a fresh child process: loading a 5,000-DSC trust list and a
//     1,000,000-hash revocation list (time, RSS after, peak RSS).
//
// The clients (-client) run out of this process by default: "child" is
// this program re-executed with GOMAXPROCS=1, "wrk" is wrk(1); either way
// this process's CPU is the services' alone, and the clients' CPU is
// reported beside it. They still share the machine's cores with the
// services, which the throughput ratio pays and the CPU ratio does not.
// "inproc" runs them as goroutines in this process (the old method): their
// CPU then counts as the service's.
//
//	go run ./internal/tools/verifierload [-rounds 5] [-duration 3s] [-clients 64]
//	    [-client child|wrk|inproc] [-services verifier,issuer] [-dscs 5000] [-hashes 1000000]
//
// Run it on an otherwise idle machine; on a shared one, say how busy it
// was next to the figures (it prints the load average).
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vaxcert/vaxcert/internal/listsign"
	"github.com/vaxcert/vaxcert/internal/netguard"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/internal/verifysync"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/keys/issuing"
	"github.com/vaxcert/vaxcert/keys/keyfile"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

// Bounds: every phase and the whole run.
const (
	maxDuration = 30 * time.Second
	maxRounds   = 20
	maxTotal    = 15 * time.Minute
)

func main() {
	var o options
	flag.IntVar(&o.clients, "clients", 64, "concurrent service clients")
	flag.DurationVar(&o.duration, "duration", 3*time.Second, "length of each phase of a round (bounded: at most 30s)")
	flag.IntVar(&o.rounds, "rounds", 5, "interleaved rounds of library and service phases (at most 20)")
	flag.StringVar(&o.client, "client", clientChild, "where the load comes from: child (this program, own process), wrk, or inproc")
	flag.StringVar(&o.services, "services", "floor,verifier,issuer", "services to load: floor (bare net/http + Check: the HTTP layer's yardstick), verifier (serve-verifier), issuer (serve's POST /v1/verify)")
	flag.IntVar(&o.dscs, "dscs", 5000, "DSCs in the trust list of the load test")
	flag.IntVar(&o.hashes, "hashes", 1_000_000, "hashes in the revocation list of the load test")
	flag.IntVar(&o.checks, "checks", 0, "serve-verifier's --checks: checks at once, the others wait in arrival order (0: GOMAXPROCS; -1: no bound)")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the service phases (this process: the services, and the clients if inproc) to this file")
	child := flag.String("child-load", "", "internal: load the lists in this folder and report")
	childAddr := flag.String("child-clients", "", "internal: be the load generator against this address")
	childPath := flag.String("child-path", "/v1/verify", "internal: the path the load generator posts to")
	flag.Parse()
	var err error
	switch {
	case *child != "":
		childLoad(*child)
		return
	case *childAddr != "":
		err = runChildClients(*childAddr, *childPath, o.clients, min(o.duration, maxDuration))
	default:
		err = o.check()
		if err == nil {
			err = run(o)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// options are the command line's.
type options struct {
	clients, rounds, dscs, hashes int
	checks                        int
	duration                      time.Duration
	client, services              string
	names                         []string
}

// check bounds the options.
func (o *options) check() error {
	o.duration = min(o.duration, maxDuration)
	o.rounds = min(o.rounds, maxRounds)
	if o.clients < 1 || o.rounds < 1 || o.duration < 100*time.Millisecond {
		return errors.New("-clients and -rounds must be positive, -duration at least 100ms")
	}
	for _, n := range strings.Split(o.services, ",") {
		if n = strings.TrimSpace(n); n != "verifier" && n != "issuer" && n != "floor" {
			return fmt.Errorf("-services: unknown service %q (verifier, issuer, floor)", n)
		}
		o.names = append(o.names, strings.TrimSpace(n))
	}
	if total := time.Duration(o.rounds*(len(o.names)+1)+1) * o.duration; total > maxTotal {
		return fmt.Errorf("%d rounds of %v would run the load for %v, over %v", o.rounds, o.duration, total, maxTotal)
	}
	return nil
}

// env is an issuer key folder, its publisher, a certificate, and a
// checker holding the issuer's lists.
type env struct {
	dir     string
	ca      *issuing.CA
	pub     *trustpub.Publisher
	qr      []byte
	iss     *issuer.Issuer
	checker *venue.Checker
	sync    *verifysync.Syncer
	issuer  *httptest.Server
	checks  int // serve-verifier's Checks
}

func setup() (*env, error) {
	dir, err := os.MkdirTemp("", "verifierload")
	if err != nil {
		return nil, err
	}
	now := time.Now()
	ca, err := issuing.NewCSCA(issuing.CSCAOptions{Country: "VN", NotBefore: now.Add(-time.Hour)})
	if err != nil {
		return nil, err
	}
	dsc, err := ca.IssueDSC(issuing.DSCOptions{NotBefore: now.Add(-time.Hour)})
	if err != nil {
		return nil, err
	}
	keyDir := filepath.Join(dir, "keys")
	if err := keyfile.WriteDir(keyDir, ca, dsc); err != nil {
		return nil, err
	}
	pub, err := trustpub.New(trustpub.Config{KeyDir: keyDir})
	if err != nil {
		return nil, err
	}
	iss, err := issuer.New(dsc.Signer(), dsc.Cert, issuer.WithIssuerName("Ministry of Health of Viet Nam"),
		issuer.WithUVCISecret(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		return nil, err
	}
	cert, err := iss.Issue(issuer.Record{
		Person: issuer.Person{ID: "001090012345", FamilyName: "Nguyễn", GivenName: "Văn Đức", BirthDate: "1990-04-12"},
		Doses: []issuer.Dose{
			{RecordID: "r1", Site: "HN-001", Product: "EU/1/20/1528", Manufacturer: "ORG-100030215", Lot: "FF1234",
				DoseNumber: 1, SeriesDoses: 2, Date: now.AddDate(0, 0, -90).Format(time.DateOnly), Country: "VN", Status: issuer.StatusFinalised},
			{RecordID: "r2", Site: "HN-001", Product: "EU/1/20/1528", Manufacturer: "ORG-100030215", Lot: "FF5678",
				DoseNumber: 2, SeriesDoses: 2, Date: now.AddDate(0, 0, -60).Format(time.DateOnly), Country: "VN", Status: issuer.StatusFinalised},
		}})
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir, ca: ca, pub: pub, qr: []byte(cert.HC1), iss: iss}
	e.issuer = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b []byte
		var err error
		if r.URL.Path == "/v1/trust-list" {
			b, _, err = pub.TrustList()
		} else {
			b, err = pub.Revocations(r.Context(), noRevocations{}, 0)
		}
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write(b)
	}))
	if e.checker, err = venue.NewChecker(nil, 0); err != nil {
		return nil, err
	}
	e.sync, err = verifysync.New(verifysync.Config{Issuer: e.issuer.URL, Root: ca.Cert, Dir: filepath.Join(dir, "verifier")}, e.checker)
	if err != nil {
		return nil, err
	}
	if err := e.sync.Sync(context.Background()); err != nil {
		return nil, err
	}
	if a, _ := e.checker.Check(e.qr, time.Now()); a.Decision != "full" {
		return nil, fmt.Errorf("the test certificate answers %+v", a)
	}
	return e, nil
}

type noRevocations struct{}

func (noRevocations) RevokedCertificates(context.Context, int64, time.Time, int) ([]*store.RevokedCertificate, error) {
	return nil, nil
}

// cpuProfile is the -cpuprofile file, if any.
var cpuProfile string

func run(o options) error {
	fmt.Printf("verifierload: GOMAXPROCS=%d on %d CPUs, %d clients (%s), %d rounds of %v per phase, loopback only; load average %s\n",
		runtime.GOMAXPROCS(0), runtime.NumCPU(), o.clients, clientNote(o.client), o.rounds, o.duration, loadAverage())
	e, err := setup()
	if err != nil {
		return err
	}
	e.checks = o.checks
	defer os.RemoveAll(e.dir)
	defer e.issuer.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var targets []target
	for _, n := range o.names {
		var t target
		var err error
		switch n {
		case "verifier":
			t, err = e.serveVerifier(ctx)
		case "issuer":
			t, err = e.serveIssuer(ctx)
		default:
			t, err = e.serveFloor(ctx)
		}
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	if cpuProfile != "" {
		// The profile spans the rounds; the library phases are told apart
		// by their stacks (main.library).
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}

	// 1. Interleaved rounds: L S… L S… … L.
	libs := []phase{library(e, o.duration)}
	svc := make([][]phase, len(targets))
	for r := 0; r < o.rounds; r++ {
		for i, t := range targets {
			p, err := drive(ctx, o.client, t, o.clients, o.duration, e.qr, e.dir)
			if err != nil {
				pprof.StopCPUProfile()
				return fmt.Errorf("%s: %w", t.name, err)
			}
			svc[i] = append(svc[i], p)
		}
		libs = append(libs, library(e, o.duration))
	}
	pprof.StopCPUProfile()
	report(os.Stdout, o, libs, targets, svc)
	fmt.Printf("load average after the rounds: %s\n", loadAverage())

	// 2. Revocation lookup on a 1M list, against one Check.
	dataDir, err := os.MkdirTemp("", "verifierload-lists")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)
	if err := writeLists(e, dataDir, o.dscs, o.hashes); err != nil {
		return err
	}
	rl, err := os.ReadFile(filepath.Join(dataDir, "revocations.jws"))
	if err != nil {
		return err
	}
	revs, err := lists.ParseRevocations(rl, e.ca.Cert, time.Now())
	if err != nil {
		return err
	}
	rl = nil
	var h lists.Hashes
	rand.Read(h[0][:])
	const n = 200000
	t0 := time.Now()
	for i := 0; i < n; i++ {
		h[0][0] = byte(i)
		revs.Contains(&h)
	}
	lookup := time.Since(t0) / n
	t0 = time.Now()
	for i := 0; i < 2000; i++ {
		e.checker.Check(e.qr, time.Now())
	}
	check := time.Since(t0) / 2000
	fmt.Printf("lookup   %d hashes: %v per certificate (3 types) vs %v per Check: %.2f %%  (target ≤ 2 %%)\n",
		revs.Len(), lookup, check, 100*float64(lookup)/float64(check))
	revs = nil
	runtime.GC()

	// 3. Loading, in a fresh process.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	out, err := exec.Command(self, "-child-load", dataDir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("child: %v: %s", err, out)
	}
	fmt.Print(string(out))
	return nil
}

// clientNote says what shares the cores with the services.
func clientNote(mode string) string {
	switch mode {
	case clientChild:
		return fmt.Sprintf("this program in its own process, GOMAXPROCS=%d: its CPU is reported apart, but it runs on the same cores", clientProcs)
	case clientWrk:
		return fmt.Sprintf("wrk in its own process, %d thread: its CPU is reported apart, but it runs on the same cores", clientProcs)
	}
	return "goroutines IN THIS PROCESS: their CPU counts as the services'"
}

// loadAverage is /proc/loadavg's first three figures ("?" elsewhere).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// report prints the rounds and their summary.
func report(w io.Writer, o options, libs []phase, targets []target, svc [][]phase) {
	fmt.Fprintf(w, "%-6s %-9s %12s %12s %9s %9s %9s %9s %8s %8s\n", "round", "phase", "ops/s", "CPU/op µs",
		"client %", "p50 ms", "p99 ms", "refused", "ratio", "CPU rat.")
	line := func(r int, name string, p phase, ratio, cpuRatio float64) {
		cl := "-"
		if p.clients > 0 && p.cpu > 0 {
			cl = fmt.Sprintf("%.0f", 100*float64(p.clients)/float64(p.cpu+p.clients))
		}
		if name == "library" {
			fmt.Fprintf(w, "%-6d %-9s %12.0f %12.1f\n", r, name, p.rate(), float64(p.cpuPerOp().Nanoseconds())/1000)
			return
		}
		fmt.Fprintf(w, "%-6d %-9s %12.0f %12.1f %9s %9.2f %9.2f %9d %8.2f %8.2f\n", r, name, p.rate(),
			float64(p.cpuPerOp().Nanoseconds())/1000, cl, p.p50, p.p99, p.refused+p.errs, ratio, cpuRatio)
	}
	ratios := make([][2][]float64, len(targets))
	for r := 0; r < o.rounds; r++ {
		line(r+1, "library", libs[r], 0, 0)
		for i, t := range targets {
			tr, cr := roundRatio(libs[r], svc[i][r], libs[r+1])
			ratios[i][0], ratios[i][1] = append(ratios[i][0], tr), append(ratios[i][1], cr)
			line(r+1, t.name, svc[i][r], tr, cr)
		}
	}
	line(o.rounds+1, "library", libs[o.rounds], 0, 0)
	var librate []float64
	for _, p := range libs {
		librate = append(librate, p.rate())
	}
	fmt.Fprintf(w, "library  venue.Checker.Check: %s checks/s over %d phases\n", summarize(librate).format("%.0f"), len(libs))
	for i, t := range targets {
		var p99, errs []float64
		var failed int64
		for _, p := range svc[i] {
			p99 = append(p99, p.p99)
			failed += p.errs
			errs = append(errs, float64(p.refused))
		}
		fmt.Fprintf(w, "%-8s service/library throughput %s (target ≥ 0.70); CPU ratio %s; p99 %s ms (target ≤ 10); refused %s, errors %d\n",
			t.name, summarize(ratios[i][0]).format("%.2f"), summarize(ratios[i][1]).format("%.2f"),
			summarize(p99).format("%.2f"), summarize(errs).format("%.0f"), failed)
	}
	if f := slices.IndexFunc(targets, func(t target) bool { return t.name == "floor" }); f >= 0 {
		for i, t := range targets {
			if i == f {
				continue
			}
			var tr, cr []float64
			for r := range svc[i] {
				x, y := sameRound(svc[f][r], svc[i][r])
				tr, cr = append(tr, x), append(cr, y)
			}
			fmt.Fprintf(w, "%-8s service/floor throughput %s; CPU ratio %s (the floor: bare net/http + the same Check, same clients)\n",
				t.name, summarize(tr).format("%.2f"), summarize(cr).format("%.2f"))
		}
	}
	fmt.Fprintln(w, "(median (min–max) over the rounds; ratio: the service's answers/s ÷ the mean library checks/s of the phases"+
		" before and after; CPU ratio: library CPU per check ÷ this process's CPU per answer)")
}

// verifysvcRate lifts the per-client rate: the load comes from one address.
func verifysvcRate() netguard.Rate { return netguard.Rate{PerSecond: 1e9, Burst: 1e9} }

// library runs venue.Checker.Check on every core for d.
func library(e *env, d time.Duration) phase {
	n := runtime.GOMAXPROCS(0)
	var count atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	c0, start := cpu(), time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				e.checker.Check(e.qr, time.Now())
				count.Add(1)
			}
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	return phase{ops: count.Load(), wall: time.Since(start), cpu: cpu() - c0}
}

// writeLists writes a trust list of dscs DSCs and a revocation list of
// hashes hashes (in whole certificates of 3 hashes) signed by e's list
// signer, and the CSCA.
func writeLists(e *env, dir string, dscs, hashes int) error {
	certs := make([]listsign.DSC, dscs)
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	per := (dscs + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)
	for w := 0; w*per < dscs; w++ {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			for i := lo; i < hi && i < dscs; i++ {
				d, err := e.ca.IssueDSC(issuing.DSCOptions{NotBefore: time.Now().Add(-time.Hour)})
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				certs[i] = listsign.DSC{Cert: d.Cert}
			}
		}(w*per, (w+1)*per)
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	ls, err := listsign.IssueSigner(e.ca, time.Now().Add(-time.Hour))
	if err != nil {
		return err
	}
	s, err := listsign.NewSigner(ls.Signer(), ls.Cert, e.ca.Cert)
	if err != nil {
		return err
	}
	now := time.Now()
	c := lists.Claims{Issuer: "VN", Sequence: 1, IssuedAt: now.Unix(), ExpiresAt: now.Add(48 * time.Hour).Unix()}
	tl, err := s.TrustList(c, certs)
	if err != nil {
		return err
	}
	rs := make([]listsign.Revoked, (hashes+2)/3)
	for i := range rs {
		for t := range rs[i].Hashes {
			rand.Read(rs[i].Hashes[t][:])
		}
		rs[i].Expires = now.AddDate(1, 0, i%365)
	}
	rl, err := s.RevocationList(c, 0, rs)
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{"trust.jws": tl, "revocations.jws": rl, "csca.der": e.ca.Cert.Raw} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// childLoad loads the lists of dir in this (fresh) process and reports
// time and memory.
func childLoad(dir string) {
	must := func(err error) {
		if err != nil {
			fmt.Println("child error:", err)
			os.Exit(1)
		}
	}
	der, err := os.ReadFile(filepath.Join(dir, "csca.der"))
	must(err)
	root, err := x509.ParseCertificate(der)
	must(err)
	debug.SetMemoryLimit(80 << 20) // as serve-verifier does
	st, err := lists.NewState(root)
	must(err)
	base := rss("VmRSS")
	now := time.Now()
	t0, c0 := time.Now(), cpu()
	tl, err := os.ReadFile(filepath.Join(dir, "trust.jws"))
	must(err)
	st, err = st.WithTrustList(tl, now)
	must(err)
	trustTime, trustCPU := time.Since(t0), cpu()-c0
	tl = nil
	t0, c0 = time.Now(), cpu()
	rl, err := os.ReadFile(filepath.Join(dir, "revocations.jws"))
	must(err)
	st, err = st.WithRevocations(rl, now)
	must(err)
	revTime, revCPU := time.Since(t0), cpu()-c0
	rl = nil
	runtime.GC()
	debug.FreeOSMemory()
	fmt.Printf("load     trust list %d DSCs: %v (CPU %v); revocation list %d hashes: %v (CPU %v) (target < 1 s each)\n",
		st.Trust.Len(), trustTime.Round(time.Millisecond), trustCPU.Round(time.Millisecond),
		st.Revocations.Len(), revTime.Round(time.Millisecond), revCPU.Round(time.Millisecond))
	fmt.Printf("memory   RSS before %.0f MB, after loading %.0f MB, peak %.0f MB (target < 100 MB)\n",
		base, rss("VmRSS"), rss("VmHWM"))
	runtime.KeepAlive(st)
}

// rss reads a /proc/self/status field in MB (0 where unavailable).
func rss(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// cpu returns the process's CPU time (user + system): on a shared machine
// it says more than the wall clock.
func cpu() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
