package verifysvc_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/netguard"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/internal/verifysvc"
	"github.com/vaxcert/vaxcert/internal/verifysync"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/keyfile"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

// clock is a settable clock shared by the issuer side and the verifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// source is an in-memory revocation store.
type source struct {
	mu   sync.Mutex
	rows []*store.RevokedCertificate
}

func (s *source) revoke(c *issuer.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = append(s.rows, &store.RevokedCertificate{RevocationID: int64(len(s.rows) + 1), UVCI: c.UVCI, COSE: c.COSE, ExpiresAt: c.ExpiresAt})
}

func (s *source) RevokedCertificates(_ context.Context, after int64, exp time.Time, limit int) ([]*store.RevokedCertificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*store.RevokedCertificate
	for _, r := range s.rows {
		if r.RevocationID > after && r.ExpiresAt.After(exp) && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

// world is an issuer (key folder, publisher, lists over HTTP) and a
// verifier service syncing from it.
type world struct {
	t       testing.TB
	clk     *clock
	pki     *testkit.PKI
	keyDir  string
	dataDir string
	src     *source
	issuer  *httptest.Server
	serve   func(w http.ResponseWriter, r *http.Request) // replaceable, to serve an old list
	pub     *trustpub.Publisher
	country string // when set, the verifier also syncs the rule set (ruleset_test.go)
}

func newWorld(t testing.TB) *world {
	w := &world{t: t, clk: &clock{t: testkit.Now}, pki: testkit.NewPKI(t), keyDir: t.TempDir(), dataDir: t.TempDir(), src: &source{}}
	if err := keyfile.WriteDir(w.keyDir, w.pki.CSCA, w.pki.DSC); err != nil {
		t.Fatal(err)
	}
	pub, err := trustpub.New(trustpub.Config{KeyDir: w.keyDir, Clock: w.clk.now})
	if err != nil {
		t.Fatal(err)
	}
	w.serve = func(rw http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/trust-list":
			b, etag, err := pub.TrustList()
			if err != nil {
				http.Error(rw, err.Error(), 500)
				return
			}
			rw.Header().Set("ETag", etag)
			if r.Header.Get("If-None-Match") == etag {
				rw.WriteHeader(http.StatusNotModified)
				return
			}
			rw.Write(b)
		case "/v1/rule-set":
			b, etag, err := pub.CurrentRuleSet()
			if errors.Is(err, trustpub.ErrNoRuleSet) {
				http.NotFound(rw, r)
				return
			}
			if err != nil {
				http.Error(rw, err.Error(), 500)
				return
			}
			rw.Header().Set("ETag", etag)
			if r.Header.Get("If-None-Match") == etag {
				rw.WriteHeader(http.StatusNotModified)
				return
			}
			rw.Write(b)
		case "/v1/revocations":
			since, _ := strconv.ParseUint(r.URL.Query().Get("since"), 10, 64)
			b, err := pub.Revocations(r.Context(), w.src, since)
			if err != nil {
				http.Error(rw, err.Error(), 500)
				return
			}
			rw.Write(b)
		default:
			http.NotFound(rw, r)
		}
	}
	w.pub = pub
	w.issuer = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { w.serve(rw, r) }))
	t.Cleanup(w.issuer.Close)
	return w
}

// verifier starts a verifier service over the data folder (a restart is
// a second call) and syncs once.
func (w *world) verifier(opts ...func(*verifysvc.Config)) (*verifysync.Syncer, *httptest.Server) {
	w.t.Helper()
	checker, err := venue.NewChecker(nil, 24*time.Hour)
	if err != nil {
		w.t.Fatal(err)
	}
	scfg := verifysync.Config{Issuer: w.issuer.URL, Root: w.pki.CSCA.Cert, Dir: w.dataDir, Clock: w.clk.now,
		Client: &http.Client{Timeout: 2 * time.Second}}
	if w.country != "" {
		scfg.RuleSet = verifysync.Rules{Checker: checker, Country: w.country}.Apply
	}
	sy, err := verifysync.New(scfg, checker)
	if err != nil {
		w.t.Fatal(err)
	}
	_ = sy.Sync(context.Background())
	cfg := verifysvc.Config{Checker: checker, Sync: sy, Clock: w.clk.now,
		Privileged: [][sha256.Size]byte{sha256.Sum256([]byte("secret-token"))}}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := verifysvc.New(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	w.t.Cleanup(ts.Close)
	return sy, ts
}

func post(t *testing.T, ts *httptest.Server, qr, token string) (int, venue.Answer) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/verify", strings.NewReader(qr))
	req.Header.Set("Content-Type", "text/plain")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var a venue.Answer
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
	return res.StatusCode, a
}

func want(t *testing.T, a venue.Answer, decision, reason string, valid bool) {
	t.Helper()
	if a.Decision != decision || a.Reason != reason || a.Valid != valid {
		t.Fatalf("answer %+v, want %s/%q valid=%v", a, decision, reason, valid)
	}
}

func get(t *testing.T, ts *httptest.Server, path string) (int, string) {
	t.Helper()
	res, err := ts.Client().Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestVenueFlow is the issue's "done when" on one machine: an issued
// certificate answers full; revoked on the issuer, it answers revoked after
// the next sync; with the issuer stopped, and after the verifier's
// restart, it keeps answering from disk; past the stale limit the answer
// says so; past the lists' expiry the verifier refuses to answer.
func TestVenueFlow(t *testing.T) {
	w := newWorld(t)
	cert, err := w.pki.Issuer(t).Issue(testkit.RecentRecord(testkit.Now))
	if err != nil {
		t.Fatal(err)
	}
	sy, ts := w.verifier()
	if code, body := get(t, ts, "/readyz"); code != http.StatusOK {
		t.Fatalf("readyz %d %s", code, body)
	}
	_, a := post(t, ts, cert.HC1, "")
	want(t, a, "full", "", true)
	if a.Holder == nil || a.Holder.Name != "Nguyễn Văn Đức" || a.Certificate != nil {
		t.Fatalf("venue answer %+v", a)
	}
	if _, a := post(t, ts, cert.HC1, "secret-token"); a.Certificate == nil || !strings.Contains(string(a.Certificate), cert.UVCI) {
		t.Fatalf("privileged answer without the payload: %+v", a)
	}
	if _, a := post(t, ts, cert.HC1, "wrong-token"); a.Certificate != nil {
		t.Fatal("payload for a wrong token")
	}

	// Revoked on the issuer (a correction): still full until the next sync.
	w.src.revoke(cert)
	w.clk.advance(time.Minute)
	_, a = post(t, ts, cert.HC1, "")
	want(t, a, "full", "", true)
	if err := sy.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, a = post(t, ts, cert.HC1, "")
	want(t, a, "revoked", "revoked", false)
	if a.Holder != nil {
		t.Fatal("holder shown for a revoked certificate")
	}

	// The issuer stops: the sync fails, the answers stay, and say how old.
	w.issuer.Close()
	w.clk.advance(time.Hour)
	if err := sy.Sync(context.Background()); err == nil {
		t.Fatal("sync with the issuer stopped succeeded")
	}
	_, a = post(t, ts, cert.HC1, "")
	want(t, a, "revoked", "revoked", false)
	if a.DataAgeSeconds < 3600 {
		t.Fatalf("data age %d", a.DataAgeSeconds)
	}

	// The verifier restarts with the issuer still stopped: same answers
	// from the copies on disk.
	_, ts2 := w.verifier()
	_, a = post(t, ts2, cert.HC1, "")
	want(t, a, "revoked", "revoked", false)
	other, err := w.pki.Issuer(t).Issue(func() issuer.Record {
		r := testkit.RecentRecord(testkit.Now)
		r.Person.ID = "001090055555"
		return r
	}())
	if err != nil {
		t.Fatal(err)
	}
	_, a = post(t, ts2, other.HC1, "")
	want(t, a, "full", "", true)

	// Past the stale limit (24 h): valid no more, the decision still shown.
	w.clk.advance(24 * time.Hour)
	_, a = post(t, ts2, other.HC1, "")
	want(t, a, "full", "stale_data", false)
	if !a.Stale {
		t.Fatal("stale not set")
	}
	if _, metrics := get(t, ts2, "/metrics"); !strings.Contains(metrics, "vaxcert_verifier_trust_list_age_seconds 9") ||
		!strings.Contains(metrics, "vaxcert_verifier_revocation_list_age_seconds") {
		t.Fatalf("metrics: list ages missing")
	}

	// Past the lists' expiry (48 h): no freeze, no answer.
	w.clk.advance(24 * time.Hour)
	_, a = post(t, ts2, other.HC1, "")
	want(t, a, "unavailable", "lists_unavailable", false)
	if code, _ := get(t, ts2, "/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz %d with expired lists", code)
	}
}

// TestRotation: after keys rotate both DSCs verify; after the old one is
// retired, its certificates stop verifying at the next sync.
func TestRotation(t *testing.T) {
	w := newWorld(t)
	cert, err := w.pki.Issuer(t).Issue(testkit.RecentRecord(testkit.Now))
	if err != nil {
		t.Fatal(err)
	}
	sy, ts := w.verifier()
	old, cur, err := trustpub.Rotate(w.keyDir, w.clk.now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	w.clk.advance(10 * time.Second) // past the publisher's folder re-check
	if err := sy.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := sy.Status(w.clk.now()); st.TrustSeq != 2 {
		t.Fatalf("trust list sequence %d after rotation, want 2", st.TrustSeq)
	}
	_, a := post(t, ts, cert.HC1, "")
	want(t, a, "full", "", true)
	signer, dsc, err := keyfile.LoadDSC(w.keyDir)
	if err != nil || !dsc.Equal(cur) {
		t.Fatalf("new DSC not in place: %v", err)
	}
	iss, err := issuer.New(signer, dsc, issuer.WithClock(w.clk.now), issuer.WithIssuerName(testkit.IssuerName),
		issuer.WithUVCISecret(testkit.UVCISecret))
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := iss.Issue(testkit.RecentRecord(testkit.Now))
	if err != nil {
		t.Fatal(err)
	}
	_, a = post(t, ts, fresh.HC1, "")
	want(t, a, "full", "", true)

	if _, err := trustpub.Retire(w.keyDir, keys.KIDString(keys.KID(old.Raw))); err != nil {
		t.Fatal(err)
	}
	if _, err := trustpub.Retire(w.keyDir, "AAAAAAAAAAA="); !errors.Is(err, trustpub.ErrUnknownKID) {
		t.Fatalf("retire unknown kid: %v", err)
	}
	w.clk.advance(10 * time.Second)
	if err := sy.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, a = post(t, ts, cert.HC1, "")
	want(t, a, "invalid", "unknown_kid", false)
	_, a = post(t, ts, fresh.HC1, "")
	want(t, a, "full", "", true)
}

// TestRefusedLists: a rolled-back trust list and a list under another
// root are refused by the sync, which keeps the lists it had.
func TestRefusedLists(t *testing.T) {
	w := newWorld(t)
	cert, err := w.pki.Issuer(t).Issue(testkit.RecentRecord(testkit.Now))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(w.issuer.URL + "/v1/trust-list")
	if err != nil {
		t.Fatal(err)
	}
	oldList, _ := io.ReadAll(res.Body)
	res.Body.Close()
	sy, ts := w.verifier()
	if _, _, err := trustpub.Rotate(w.keyDir, w.clk.now()); err != nil {
		t.Fatal(err)
	}
	w.clk.advance(10 * time.Second)
	if err := sy.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Rollback: the issuer (or a man in the middle) serves sequence 1 again.
	next := w.serve
	w.serve = func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/trust-list" {
			rw.Write(oldList)
			return
		}
		next(rw, r)
	}
	w.clk.advance(10 * time.Second)
	if err := sy.Sync(context.Background()); !errors.Is(err, lists.ErrRollback) {
		t.Fatalf("rolled-back list: %v", err)
	}
	if st := sy.Status(w.clk.now()); st.TrustSeq != 2 {
		t.Fatalf("sequence %d after a refused rollback", st.TrustSeq)
	}
	_, a := post(t, ts, cert.HC1, "")
	want(t, a, "full", "", true)

	// Another country's root pinned: nothing from this issuer is accepted.
	other := testkit.NewPKI(t)
	checker, _ := venue.NewChecker(nil, 0)
	sy2, err := verifysync.New(verifysync.Config{Issuer: w.issuer.URL, Root: other.CSCA.Cert, Dir: t.TempDir(), Clock: w.clk.now}, checker)
	if err != nil {
		t.Fatal(err)
	}
	if err := sy2.Sync(context.Background()); !errors.Is(err, lists.ErrWrongRoot) {
		t.Fatalf("wrong root: %v", err)
	}
	if a, _ := checker.Check([]byte(cert.HC1), w.clk.now()); a.Decision != "unavailable" {
		t.Fatalf("answer with a wrong-root list: %+v", a)
	}
}

// TestLimits: body limit, media type, per-client rate.
func TestLimits(t *testing.T) {
	w := newWorld(t)
	_, ts := w.verifier(func(c *verifysvc.Config) { c.Rate = netguard.Rate{PerSecond: 0.001, Burst: 3} })
	if code, _ := post(t, ts, strings.Repeat("A", 20<<10), ""); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("over the body limit: %d", code)
	}
	res, err := ts.Client().Post(ts.URL+"/v1/verify", "application/json", strings.NewReader(`{"qr":"`+strings.Repeat("A", 20<<10)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("JSON over the body limit: %d", res.StatusCode)
	}
	res, err = ts.Client().Post(ts.URL+"/v1/verify", "image/png", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("media type: %d", res.StatusCode)
	}
	if code, _ := post(t, ts, "HC1:X", ""); code != http.StatusTooManyRequests {
		t.Fatalf("4th request within the burst of 3: %d", code)
	}
}

// TestForeignGatewayFile: a certificate from another country verifies
// through the DSCs of an EU-gateway-style file loaded beside the lists.
func TestForeignGatewayFile(t *testing.T) {
	w := newWorld(t)
	de := testkit.NewPKI(t, testkit.WithCountry("DE"))
	foreign, err := de.Issuer(t).Issue(testkit.RecentRecord(testkit.Now))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := lists.MarshalGateway([]*x509.Certificate{de.DSC.Cert})
	if err != nil {
		t.Fatal(err)
	}
	checker, _ := venue.NewChecker(nil, 0)
	sy, err := verifysync.New(verifysync.Config{Issuer: w.issuer.URL, Root: w.pki.CSCA.Cert, Dir: t.TempDir(),
		Clock: w.clk.now, Foreign: gw}, checker)
	if err != nil {
		t.Fatal(err)
	}
	if err := sy.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, _ := checker.Check([]byte(foreign.HC1), w.clk.now())
	want(t, a, "full", "", true)
	// Without the file it is unknown.
	_, ts := w.verifier()
	_, a = post(t, ts, foreign.HC1, "")
	want(t, a, "invalid", "unknown_kid", false)
}

// TestDeltasOnDisk: revocations arriving over several syncs come as deltas,
// are kept on disk as the full list plus its deltas, and are all replayed
// by a restarted verifier with the issuer stopped.
func TestDeltasOnDisk(t *testing.T) {
	w := newWorld(t)
	iss := w.pki.Issuer(t)
	var certs []*issuer.Certificate
	for i := 0; i < 3; i++ {
		r := testkit.RecentRecord(testkit.Now)
		r.Person.ID = "00109000000" + strconv.Itoa(i)
		c, err := iss.Issue(r)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	w.src.revoke(certs[0])
	sy, _ := w.verifier() // full list, sequence 1
	for _, c := range certs[1:] {
		w.src.revoke(c)
		w.clk.advance(2 * time.Second)
		if err := sy.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(w.dataDir, verifysync.RevocationsFile))
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Full   string   `json:"full"`
		Deltas []string `json:"deltas"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil || bundle.Full == "" || len(bundle.Deltas) != 2 {
		t.Fatalf("bundle on disk: %d deltas, %v", len(bundle.Deltas), err)
	}
	w.issuer.Close()
	_, ts := w.verifier()
	for i, c := range certs {
		if _, a := post(t, ts, c.HC1, ""); a.Decision != "revoked" {
			t.Fatalf("certificate %d after restart: %+v", i, a)
		}
	}
}

// BenchmarkVerifyHandler serves POST /v1/verify (text/plain, a valid
// certificate) through the service's whole handler chain in one
// goroutine, and the bare venue check beside it: the difference in
// allocations and time is the service's own.
func BenchmarkVerifyHandler(b *testing.B) {
	w := newWorld(b)
	cert, err := w.pki.Issuer(b).Issue(testkit.RecentRecord(testkit.Now))
	if err != nil {
		b.Fatal(err)
	}
	checker, err := venue.NewChecker(nil, 24*time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	sy, err := verifysync.New(verifysync.Config{Issuer: w.issuer.URL, Root: w.pki.CSCA.Cert, Dir: b.TempDir(), Clock: w.clk.now}, checker)
	if err != nil {
		b.Fatal(err)
	}
	if err := sy.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
	srv, err := verifysvc.New(verifysvc.Config{Checker: checker, Sync: sy, Clock: w.clk.now,
		Rate: netguard.Rate{PerSecond: 1e9, Burst: 1e9}, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	qr := []byte(cert.HC1)
	if a, _ := checker.Check(qr, w.clk.now()); a.Decision != "full" {
		b.Fatalf("answer %+v", a)
	}
	b.Run("check", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			checker.Check(qr, w.clk.now())
		}
	})
	b.Run("handler", func(b *testing.B) {
		req, _ := http.NewRequest(http.MethodPost, "/v1/verify", nil)
		req.Header.Set("Content-Type", "text/plain")
		req.RemoteAddr = "192.0.2.1:1234"
		testkit.BenchHandler(b, srv.Handler(), req, qr, http.StatusOK)
	})
}
