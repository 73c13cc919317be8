// Command verifierload measures the venue verifier (make verifier-perf),
// bounded and on loopback only, with its yardsticks in the same run:
//
//  1. the library: venue.Checker.Check (verify + revocation lookup +
//     policy) on every core for -duration;
//
//  2. the service: `serve-verifier`'s handler (internal/verifysvc) on a
//     loopback listener, -clients concurrent keep-alive clients posting the
//     same QR text for -duration: throughput as a ratio of (1), and p50/p99;
//
//  3. the revocation lookup against a 1,000,000-hash list, as a share of
//     one Check;
//
//  4. in a fresh child process: loading a 5,000-DSC trust list and a
//     1,000,000-hash revocation list (time, RSS after, peak RSS).
//
//     go run ./internal/tools/verifierload [-clients 64] [-duration 5s] [-dscs 5000] [-hashes 1000000]
//
// Run it on an otherwise idle machine; on a shared one, say how busy it
// was next to the figures.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
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
	"github.com/vaxcert/vaxcert/internal/verifysvc"
	"github.com/vaxcert/vaxcert/internal/verifysync"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/keys/issuing"
	"github.com/vaxcert/vaxcert/keys/keyfile"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

func main() {
	clients := flag.Int("clients", 64, "concurrent service clients")
	duration := flag.Duration("duration", 5*time.Second, "length of each throughput phase (bounded: at most 30s)")
	dscs := flag.Int("dscs", 5000, "DSCs in the trust list of the load test")
	hashes := flag.Int("hashes", 1_000_000, "hashes in the revocation list of the load test")
	child := flag.String("child-load", "", "internal: load the lists in this folder and report")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the service phase (service and clients) to this file")
	flag.Parse()
	if *child != "" {
		childLoad(*child)
		return
	}
	if *duration > 30*time.Second {
		*duration = 30 * time.Second
	}
	if err := run(*clients, *duration, *dscs, *hashes); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// env is an issuer key folder, its publisher, a certificate, and a
// checker holding the issuer's lists.
type env struct {
	dir     string
	ca      *issuing.CA
	pub     *trustpub.Publisher
	qr      []byte
	checker *venue.Checker
	sync    *verifysync.Syncer
	issuer  *httptest.Server
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
	e := &env{dir: dir, ca: ca, pub: pub, qr: []byte(cert.HC1)}
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

func run(clients int, d time.Duration, dscs, hashes int) error {
	fmt.Printf("verifierload: GOMAXPROCS=%d, %d clients, %v per phase, loopback only\n", runtime.GOMAXPROCS(0), clients, d)
	e, err := setup()
	if err != nil {
		return err
	}
	defer os.RemoveAll(e.dir)
	defer e.issuer.Close()

	// 1. The library, on every core.
	lib := parallel(runtime.GOMAXPROCS(0), d, func() { e.checker.Check(e.qr, time.Now()) })
	fmt.Printf("library  venue.Checker.Check: %8.0f checks/s\n", lib)

	// 2. The service on loopback.
	// The access log is formatted as serve-verifier's (JSON, one line a
	// request) but not written: the cost of formatting is counted, not
	// a terminal's.
	srv, err := verifysvc.New(verifysvc.Config{Checker: e.checker, Sync: e.sync,
		Rate: verifysvcRate(), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go srv.Serve(ctx, ln)
	defer cancel()
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	svcRate, p50, p99, errs := load(ln.Addr().String(), clients, d, e.qr)
	if cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	fmt.Printf("service  POST /v1/verify:     %8.0f answers/s  p50 %.2f ms  p99 %.2f ms  errors %d\n", svcRate, p50, p99, errs)
	fmt.Printf("ratio    service / library:   %8.2f   (target ≥ 0.70; p99 target ≤ 10 ms)\n", svcRate/lib)

	// 3. Revocation lookup on a 1M list, against one Check.
	dataDir, err := os.MkdirTemp("", "verifierload-lists")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)
	if err := writeLists(e, dataDir, dscs, hashes); err != nil {
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

	// 4. Loading, in a fresh process.
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

// verifysvcRate lifts the per-client rate: the load comes from one address.
func verifysvcRate() netguard.Rate { return netguard.Rate{PerSecond: 1e9, Burst: 1e9} }

// parallel runs f on n goroutines for d and returns calls per second.
func parallel(n int, d time.Duration, f func()) float64 {
	var count atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				f()
				count.Add(1)
			}
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	return float64(count.Load()) / time.Since(start).Seconds()
}

// load runs clients keep-alive clients against addr for d. Each client
// is one TCP connection writing a prepared request and reading the answer
// with http.ReadResponse: a lighter client than net/http's, since it
// runs in this process, on the same GOMAXPROCS and cores as the service
// (about 5 % of the CPU in a profile, plus its share of the loopback
// syscalls), and that cost counts against the service's figures.
func load(addr string, clients int, d time.Duration, qr []byte) (rate, p50, p99 float64, errs int64) {
	req := []byte(fmt.Sprintf("POST /v1/verify HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
		addr, len(qr), qr))
	var mu sync.Mutex
	var lat []time.Duration
	var stop atomic.Bool
	var failed atomic.Int64
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
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failed.Add(1)
					continue
				}
				local = append(local, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	el := time.Since(start).Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	return float64(len(lat)) / el, q(0.5), q(0.99), failed.Load()
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
