//go:build browser

package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"

	"github.com/vaxcert/vaxcert/internal/listsign"
	"github.com/vaxcert/vaxcert/internal/scanpage"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/verifier/offline"
)

// resetSeconds is the page's auto-reset delay in these tests.
const resetSeconds = 4

// shotDir is where the screenshots go: $VAXCERT_SCREENSHOTS, or
// bin/screenshots at the top of the module (the README names it).
func shotDir(t *testing.T) string {
	dir := os.Getenv("VAXCERT_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "bin", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

type fixture struct {
	pki                                        *testkit.PKI
	signer                                     *listsign.Signer
	root                                       []byte
	valid, partial, expired, tampered, revoked string
	revokedHashes, partialHashes               listsign.Revoked
	validPNG                                   []byte
	listsAt                                    time.Time // the first lists' issuing time
	session                                    *offline.Session
	lists                                      atomic.Pointer[[2][]byte] // what the server publishes
	// delta is served instead of lists[1] to GET /v1/revocations?since=N
	// for its N (as the issuer does); since is the last since asked ("" none).
	delta atomic.Pointer[struct {
		since string
		jws   []byte
	}]
	since atomic.Value
}

func pemOf(der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}) }

// newFixture issues the certificates on the real clock: the page verifies
// at the browser's time.
func newFixture(t *testing.T) *fixture {
	now := time.Now()
	pki := testkit.NewPKI(t, testkit.WithValidity(now.AddDate(-1, 0, 0), 3*365*24*time.Hour))
	issue := func(at time.Time, validity time.Duration, rec issuer.Record) *issuer.Certificate {
		iss, err := issuer.New(pki.DSC.Signer(), pki.DSC.Cert, issuer.WithClock(func() time.Time { return at }),
			issuer.WithUVCISecret(testkit.UVCISecret), issuer.WithValidity(validity), issuer.WithIssuerName("Bộ Y tế"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := iss.Issue(rec)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	year := 365 * 24 * time.Hour
	f := &fixture{pki: pki, signer: pki.ListSigner(t), root: pemOf(pki.CSCA.Cert.Raw)}
	valid := issue(now.Add(-time.Hour), year, testkit.RecentRecord(now))
	f.valid = valid.HC1
	partial := testkit.RecentRecord(now)
	partial.Doses = partial.Doses[:1]
	partial.Person.ID = "001090099999"
	f.partial, f.partialHashes = revocable(t, issue(now.Add(-time.Hour), year, partial))
	f.expired = issue(now.AddDate(0, -3, 0), 30*24*time.Hour, testkit.RecentRecord(now.AddDate(0, -3, 0))).HC1
	f.tampered = testkit.Tamper(t, f.valid)
	revokedRec := testkit.RecentRecord(now)
	revokedRec.Person.ID = "001090077777"
	f.revoked, f.revokedHashes = revocable(t, issue(now.Add(-time.Hour), year, revokedRec))
	var err error
	if f.validPNG, err = valid.PNG(); err != nil {
		t.Fatal(err)
	}
	f.listsAt = now.Add(-time.Minute)
	trust, rev := f.publish(t, 1, f.listsAt)
	if f.session, err = offline.NewSession(f.root, trust, rev, now, offline.Options{}); err != nil {
		t.Fatal(err)
	}
	return f
}

// ageEN is the English half of scan.js's ageText, for an age known to
// the test.
func ageEN(age time.Duration) string {
	sec := age.Seconds()
	switch r := func(unit float64) int { return int(math.Round(sec / unit)) }; {
	case sec < 90:
		return "just updated"
	case r(60) < 90:
		return fmt.Sprintf("%d min ago", r(60))
	case r(3600) < 48:
		return fmt.Sprintf("%d h ago", r(3600))
	default:
		return fmt.Sprintf("%d days ago", r(86400))
	}
}

// revocable returns a certificate's QR text and its revocation entry.
func revocable(t *testing.T, c *issuer.Certificate) (string, listsign.Revoked) {
	t.Helper()
	hs, err := trustpub.Hashes(c.UVCI, c.COSE)
	if err != nil {
		t.Fatal(err)
	}
	return c.HC1, listsign.Revoked{Hashes: hs, Expires: c.ExpiresAt}
}

// publish signs new lists (sequence seq, issued at iat, valid two days)
// and serves them from then on.
func (f *fixture) publish(t *testing.T, seq uint64, iat time.Time) (trust, rev []byte) {
	t.Helper()
	trust, err := f.signer.TrustList(testkit.ListClaims(seq, iat), []listsign.DSC{{Cert: f.pki.DSC.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	if rev, err = f.signer.RevocationList(testkit.ListClaims(seq, iat), 0, []listsign.Revoked{f.revokedHashes}); err != nil {
		t.Fatal(err)
	}
	f.lists.Store(&[2][]byte{trust, rev})
	f.delta.Store(nil)
	return trust, rev
}

// publishDelta publishes sequence seq (issued at iat) revoking the
// partial certificate too: a full list, and a delta since seq-1 for those
// who ask ?since=seq-1.
func (f *fixture) publishDelta(t *testing.T, seq uint64, iat time.Time) {
	t.Helper()
	trust, err := f.signer.TrustList(testkit.ListClaims(seq, iat), []listsign.DSC{{Cert: f.pki.DSC.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	full, err := f.signer.RevocationList(testkit.ListClaims(seq, iat), 0, []listsign.Revoked{f.revokedHashes, f.partialHashes})
	if err != nil {
		t.Fatal(err)
	}
	delta, err := f.signer.RevocationList(testkit.ListClaims(seq, iat), seq-1, []listsign.Revoked{f.partialHashes})
	if err != nil {
		t.Fatal(err)
	}
	f.lists.Store(&[2][]byte{trust, full})
	f.delta.Store(&struct {
		since string
		jws   []byte
	}{strconv.FormatUint(seq-1, 10), delta})
}

// publishBundle publishes a trust list (sequence seq+1) and a revocation
// bundle: a full list (seq, issued at fullIAT, listing the revoked
// certificate) and an empty delta (seq+1, issued at iat).
func (f *fixture) publishBundle(t *testing.T, seq uint64, fullIAT, iat time.Time) {
	t.Helper()
	trust, err := f.signer.TrustList(testkit.ListClaims(seq+1, iat), []listsign.DSC{{Cert: f.pki.DSC.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	full, err := f.signer.RevocationList(testkit.ListClaims(seq, fullIAT), 0, []listsign.Revoked{f.revokedHashes})
	if err != nil {
		t.Fatal(err)
	}
	delta, err := f.signer.RevocationList(testkit.ListClaims(seq+1, iat), seq, nil)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := json.Marshal(map[string]any{"full": string(full), "deltas": []string{string(delta)}})
	if err != nil {
		t.Fatal(err)
	}
	f.lists.Store(&[2][]byte{trust, bundle})
	f.delta.Store(nil)
}

// camera writes the fake camera video: the valid certificate's QR PNG.
func (f *fixture) camera(t *testing.T) string {
	img, err := png.Decode(bytes.NewReader(f.validPNG))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "qr.y4m")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteY4M(out, img, 640, 480, 10, 2); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// serve starts the scan page on a loopback port; stop cuts it off.
func serve(t *testing.T, f *fixture) (base string, stop func()) {
	e := echo.New()
	scanpage.Register(e, scanpage.Config{Root: f.root, TrustList: "/v1/trust-list", Revocations: "/v1/revocations"})
	e.GET("/v1/trust-list", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/jose", f.lists.Load()[0]) })
	e.GET("/v1/revocations", func(c echo.Context) error {
		since := c.QueryParam("since")
		f.since.Store(since)
		if d := f.delta.Load(); d != nil && since == d.since {
			return c.Blob(http.StatusOK, "application/jose", d.jws)
		}
		return c.Blob(http.StatusOK, "application/jose", f.lists.Load()[1])
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	stop = func() { srv.Close() }
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}

func browser(t *testing.T, video string) context.Context {
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: apt-get install -y chromium (make browser needs it; .ci/run installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(900, 1100),
	)
	if video != "" {
		opts = append(opts,
			chromedp.Flag("use-fake-device-for-media-stream", true),
			chromedp.Flag("use-fake-ui-for-media-stream", true),
			chromedp.Flag("use-file-for-fake-video-capture", video))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	b := run(t, ctx, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(shotDir(t), name+".png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// shown is what the answer panel shows.
type shown struct {
	State, Decision, Word, WordEN, Msg, MsgEN, Name, DOB, Until, Age, Text string
	Stale                                                                  bool
}

func readAnswer(t *testing.T, ctx context.Context) shown {
	t.Helper()
	return run(t, ctx, chromedp.Evaluate[shown](`(() => {
		const $ = id => document.getElementById(id), a = $("answer");
		return {State: a.dataset.state, Decision: a.dataset.decision, Word: $("word").textContent,
			WordEN: $("word-en").textContent, Msg: $("msg").textContent, MsgEN: $("msg-en").textContent, Name: $("name").textContent, DOB: $("dob").textContent,
			Until: $("until").textContent, Age: $("age").textContent, Text: a.innerText, Stale: !$("stale").hidden};
	})()`))
}

// waitReady waits for "ready to scan" and returns the page's figures.
func waitReady(t *testing.T, ctx context.Context) (readyMs float64, listsFrom string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.vaxcertPage && (vaxcertPage.ready || document.getElementById("status").dataset.state === "error")`,
		chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	if st := run(t, ctx, chromedp.Evaluate[string](`document.getElementById("status").innerText`)); !run(t, ctx, chromedp.Evaluate[bool](`vaxcertPage.ready`)) {
		t.Fatalf("page not ready: %s", st)
	}
	return run(t, ctx, chromedp.Evaluate[float64](`vaxcertPage.readyMs`)), run(t, ctx, chromedp.Evaluate[string](`vaxcertPage.listsFrom`))
}

// scan types text and Enter as a keyboard-wedge scanner does (no click)
// and waits for the page to answer.
func scan(t *testing.T, ctx context.Context, text string) shown {
	t.Helper()
	n := run(t, ctx, chromedp.Evaluate[int](`vaxcertPage.verified`))
	do(t, ctx, chromedp.KeyEvent(text+"\r"))
	do(t, ctx, chromedp.Poll[chromedp.Void](fmt.Sprintf(`vaxcertPage.verified > %d`, n), chromedp.WithPollingTimeout(20*time.Second)))
	return readAnswer(t, ctx)
}

var (
	dateRE   = regexp.MustCompile(`^\d{2}/\d{2}/\d{4}$`)
	reasonRE = regexp.MustCompile(`\b[a-z0-9]+_[a-z0-9_]+\b|\bschema\b|\(expired\)`) // the reason codes
)

// checkWords checks that the panel speaks Vietnamese and English and shows
// no reason code.
func checkWords(t *testing.T, name string, s shown, vi, en string) {
	t.Helper()
	if !strings.Contains(s.Word+" "+s.Msg, vi) || !strings.Contains(s.WordEN+" "+s.MsgEN, en) {
		t.Errorf("%s: words %q %q / %q %q, want %q / %q", name, s.Word, s.Msg, s.WordEN, s.MsgEN, vi, en)
	}
	if code := reasonRE.FindString(s.Text); code != "" {
		t.Errorf("%s: the page shows the code %q: %q", name, code, s.Text)
	}
}

func TestScanPage(t *testing.T) {
	if err := scanpage.Check(); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(shotDir(t), "*.png")) // this run's screenshots only
	for _, p := range old {
		os.Remove(p)
	}
	f := newFixture(t)
	base, stop := serve(t, f)
	ctx := browser(t, f.camera(t))
	url := fmt.Sprintf("%s/scan?reset=%d", base, resetSeconds)
	var figures []string
	report := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		t.Log(line)
		figures = append(figures, line)
	}
	defer func() {
		os.WriteFile(filepath.Join(shotDir(t), "figures.txt"), []byte(strings.Join(figures, "\n")+"\n"), 0o644)
	}()

	// The download: the wasm as the page gets it (gzip) and the rest.
	var total int
	for _, file := range []string{"verifier.wasm", "wasm_exec.js", "scan.js", "scan.css", "decoder.js", "jsQR.js", "sw.js"} {
		req, _ := http.NewRequest(http.MethodGet, base+"/scan/"+file, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent decompression
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if file == "verifier.wasm" {
			if resp.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("verifier.wasm not sent gzip: %v", resp.Header)
			}
			report("download: verifier.wasm %.2f MB gzip", float64(len(b))/1e6)
		}
		total += len(b)
	}
	report("download: whole page %.2f MB (wasm gzip, scripts as served)", float64(total)/1e6)

	// First visit: online.
	do(t, ctx, chromedp.Navigate(url))
	ready, from := waitReady(t, ctx)
	if from != "network" {
		t.Fatalf("lists from %q on the first visit", from)
	}
	report("first visit: ready to scan %.0f ms after navigation", ready)
	// The service worker has the page and the wasm before the network goes.
	waitOffline(t, ctx)
	if s := readAnswer(t, ctx); s.State != "idle" || !strings.Contains(s.WordEN, "Ready to scan") {
		t.Fatalf("ready: %+v", s)
	}
	shot(t, ctx, "01-ready")

	// Enter with nothing typed says so, in neutral grey.
	s := scan(t, ctx, "")
	if s.State != "empty" {
		t.Fatalf("empty input: %+v", s)
	}
	checkWords(t, "empty", s, "Chưa có mã", "No code")
	shot(t, ctx, "02-empty")

	cases := []struct {
		name, qr, state, vi, en string
		holder                  bool
	}{
		{"03-valid", f.valid, "green", "HỢP LỆ", "VALID", true},
		{"04-partial", f.partial, "amber", "CHƯA ĐẠT", "NOT ACCEPTED", true},
		{"05-expired", f.expired, "red", "hết hạn", "Certificate expired", false},
		{"06-tampered", f.tampered, "red", "Chữ ký không hợp lệ", "Invalid signature", false},
		{"07-revoked", f.revoked, "red", "thu hồi", "revoked", false},
	}
	for _, c := range cases {
		before := time.Since(f.listsAt).Truncate(time.Second)
		s := scan(t, ctx, c.qr)
		after := time.Since(f.listsAt)
		if s.State != c.state {
			t.Errorf("%s: state %q, want %q (%+v)", c.name, s.State, c.state, s)
		}
		checkWords(t, c.name, s, c.vi, c.en)
		if c.holder {
			if s.Name != "Nguyễn Văn Đức" || s.DOB != "12/04/1990" || (c.state == "green") != dateRE.MatchString(s.Until) {
				t.Errorf("%s: holder %q %q until %q", c.name, s.Name, s.DOB, s.Until)
			}
		} else if s.Name != "" || s.DOB != "" {
			t.Errorf("%s: shows a holder for an invalid code: %q %q", c.name, s.Name, s.DOB)
		}
		// The page states the lists' age at the moment it answered, which
		// lies between the two readings of the test's clock.
		if lo, hi := "Trust data: "+ageEN(before), "Trust data: "+ageEN(after); !(strings.Contains(s.Age, lo) || strings.Contains(s.Age, hi)) || s.Stale {
			t.Errorf("%s: data age %q stale %v, want %q or %q", c.name, s.Age, s.Stale, lo, hi)
		}
		shot(t, ctx, c.name)
	}

	// The answer resets by itself, ready for the next person.
	do(t, ctx, chromedp.Poll[chromedp.Void](`document.getElementById("answer").dataset.state === "idle" &&
		document.activeElement.id === "qr" && document.getElementById("qr").value === ""`,
		chromedp.WithPollingTimeout((resetSeconds+3)*time.Second)))

	// A revocation reaches the page as a delta: reloading, the page asks
	// for the revocations since the list it keeps (sequence 1) and gets
	// only the change, which revokes the partial certificate; the delta is
	// kept with the full list for the offline visits.
	f.publishDelta(t, 2, time.Now().Add(-time.Minute))
	do(t, ctx, chromedp.Navigate(url))
	if _, from := waitReady(t, ctx); from != "network" {
		t.Fatalf("delta: lists from %q", from)
	}
	if got, _ := f.since.Load().(string); got != "1" {
		t.Fatalf("the page asked for the revocations since %q, want 1", got)
	}
	if s := scan(t, ctx, f.partial); s.State != "red" || s.Decision != "revoked" {
		t.Errorf("revoked by a delta: %+v", s)
	}
	if n := run(t, ctx, chromedp.Evaluate[int](`caches.match("/scan/lists.json", {cacheName: "vaxcert-lists-v1"}).then(r => r.json()).then(l => JSON.parse(l.rev).deltas.length)`, chromedp.EvalAwaitPromise)); n != 1 {
		t.Errorf("the page keeps %d deltas, want 1", n)
	}
	// The refresh while the page is open (every 15 minutes) rebuilds the
	// verifier; the DSC's key stays imported in SubtleCrypto.
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`loadLists()`, chromedp.EvalAwaitPromise))
	if s := scan(t, ctx, f.valid); s.State != "green" {
		t.Errorf("after a refresh: %+v", s)
	}
	if n := run(t, ctx, chromedp.Evaluate[int](`vaxcert.keyImports`)); n != 1 {
		t.Errorf("SubtleCrypto imported the DSC's key %d times, want once", n)
	}

	// Camera: Chromium's fake device plays the certificate's QR code.
	do(t, ctx, chromedp.Click(chromedp.ID("camera")))
	do(t, ctx, chromedp.Poll[chromedp.Void](`vaxcertPage.decoder !== "" && vaxcertPage.last && document.getElementById("answer").dataset.state === "green"`,
		chromedp.WithPollingTimeout(30*time.Second)))
	s = readAnswer(t, ctx)
	checkWords(t, "camera", s, "HỢP LỆ", "VALID")
	if s.Name != "Nguyễn Văn Đức" {
		t.Errorf("camera: holder %q", s.Name)
	}
	decoder := run(t, ctx, chromedp.Evaluate[string](`vaxcertPage.decoder`))
	shot(t, ctx, "08-camera-valid")
	fps := run(t, ctx, chromedp.Evaluate[float64](`vaxcertPage.decodeBench(30)`, chromedp.EvalAwaitPromise))
	report("camera: %s decodes %.1f frames/s (640x480 fake capture)", decoder, fps)

	// Lists signed 30 hours ago (past the 24-hour limit): the answer says
	// the data is stale instead of a plain green.
	f.publish(t, 3, time.Now().Add(-30*time.Hour))
	do(t, ctx, chromedp.Navigate(url))
	waitReady(t, ctx)
	s = scan(t, ctx, f.valid)
	if s.State != "amber" || !s.Stale || !strings.Contains(s.WordEN, "DATA OUT OF DATE") || s.Name == "" {
		t.Errorf("stale: %+v", s)
	}
	checkWords(t, "stale", s, "DỮ LIỆU CŨ", "DATA OUT OF DATE")
	shot(t, ctx, "09-stale")
	// Fresh lists again, kept by the page for the offline part; the
	// revocations as the verifier service serves them: a full list of three
	// days ago (expired on its own) and a recent delta.
	f.publishBundle(t, 4, time.Now().Add(-72*time.Hour), time.Now().Add(-time.Minute))
	do(t, ctx, chromedp.Navigate(url))
	waitReady(t, ctx)

	// Cut the network: the server stops and the browser goes offline.
	stop()
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		EmulateOfflineServiceWorker: ptr(true),
		MatchedNetworkConditions:    []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(base + "/scan"); err == nil {
		t.Fatal("the server still answers")
	}
	do(t, ctx, chromedp.Navigate(url))
	ready, from = waitReady(t, ctx)
	if from != "cache" {
		t.Fatalf("offline: lists from %q", from)
	}
	report("offline visit: ready to scan %.0f ms after navigation (page, wasm and lists from the caches)", ready)
	if st := run(t, ctx, chromedp.Evaluate[string](`document.getElementById("status").innerText`)); !strings.Contains(st, "offline") {
		t.Errorf("offline status: %q", st)
	}
	s = scan(t, ctx, f.valid)
	if s.State != "green" || s.Name != "Nguyễn Văn Đức" {
		t.Errorf("offline valid: %+v", s)
	}
	shot(t, ctx, "10-offline-valid")
	if s = scan(t, ctx, f.tampered); s.State != "red" {
		t.Errorf("offline tampered: %+v", s)
	}
	if s = scan(t, ctx, f.revoked); s.State != "red" || s.Decision != "revoked" {
		t.Errorf("offline revoked: %+v", s)
	}
	do(t, ctx, chromedp.Poll[chromedp.Void](`document.getElementById("answer").dataset.state === "idle"`,
		chromedp.WithPollingTimeout((resetSeconds+3)*time.Second)))
	n := run(t, ctx, chromedp.Evaluate[int](`vaxcertPage.verified`))
	do(t, ctx, chromedp.Click(chromedp.ID("camera")))
	do(t, ctx, chromedp.Poll[chromedp.Void](fmt.Sprintf(`vaxcertPage.verified > %d`, n), chromedp.WithPollingTimeout(30*time.Second)))
	if s = readAnswer(t, ctx); s.State != "green" {
		t.Errorf("offline camera: %+v", s)
	}
	shot(t, ctx, "11-offline-camera")
	if err := ctx.Err(); errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
}

// waitOffline waits until the service worker holds the whole page.
func waitOffline(t *testing.T, ctx context.Context) {
	t.Helper()
	const shellFiles = `navigator.serviceWorker.ready.then(() => caches.keys())
		.then(ks => ks.find(k => k.startsWith("vaxcert-scan-")))
		.then(k => k ? caches.open(k).then(c => c.keys()).then(x => x.length) : 0)`
	for i := 0; i < 100; i++ {
		if run(t, ctx, chromedp.Evaluate[int](shellFiles, chromedp.EvalAwaitPromise)) >= 8 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the service worker did not cache the page")
}

func ptr[T any](v T) *T { return &v }

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}
