package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/store/storetest"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/keys/keyfile"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

// Test people. Their details must never appear in an error body or a log
// line.
const (
	citizenA  = "001090000001"
	citizenB  = "001090000002"
	citizenC  = "001090000003"
	family    = "Nguyễn"
	given     = "Văn Đức"
	birthDate = "1990-04-12"
)

var personalData = []string{citizenA, citizenB, citizenC, family, given, "NGUYEN", birthDate}

// noPersonalData fails if s holds a test person's details.
func noPersonalData(t testing.TB, what, s string) {
	t.Helper()
	for _, pii := range personalData {
		if strings.Contains(s, pii) {
			t.Errorf("%s contains personal data %q:\n%s", what, pii, s)
		}
	}
}

func holder(id string) issuer.Person {
	return issuer.Person{ID: id, FamilyName: family, GivenName: given, BirthDate: birthDate}
}

// dose is a Comirnaty dose dn of 2 at site, given on 2021-0<dn>-01.
func dose(site, recordID string, dn int, status string) issuer.Dose {
	return issuer.Dose{RecordID: recordID, Site: site, Product: "EU/1/20/1528", Manufacturer: "ORG-100030215",
		Lot: "LOT" + string(rune('A'+dn)), DoseNumber: dn, SeriesDoses: 2, Date: "2021-0" + string(rune('0'+dn)) + "-01",
		Country: "VN", Status: status}
}

func record(id string, doses ...issuer.Dose) issuer.Record {
	return issuer.Record{Person: holder(id), Doses: doses}
}

// Test identity provider.
const (
	idpIssuer   = "https://id.test.invalid"
	idpAudience = "vaxcert-issuer"
)

var system = service.Actor{Kind: service.ActorSystem, ID: "test"}

// lockedBuffer collects log output from concurrent requests.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// env is a server over a real service and store, with its staff tokens,
// citizens' JWTs and log.
type env struct {
	t     testing.TB
	ctx   context.Context
	srv   *Server
	svc   *service.Service
	st    *store.Store
	pki   *testkit.PKI
	ts    *httptest.Server
	logs  *lockedBuffer
	creds map[string]string // credential name -> bearer token
	// renders counts QR renderings (PNG cache misses).
	renders atomic.Int64
}

// Credential names of env.creds.
const (
	credUploader      = "uploader HN-001"
	credOtherUploader = "uploader HN-002"
	credFinaliser     = "finaliser"
	credReviewer      = "reviewer"
	credAdmin         = "admin"
	credCitizenA      = "citizen A"
	credCitizenB      = "citizen B"
	credRevoked       = "revoked staff token"
	credExpired       = "expired citizen JWT"
	credGarbage       = "garbage"
)

// newEnv builds an env on st; opts adjust the server config.
func newEnv(t testing.TB, st *store.Store, opts ...func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	pki := testkit.NewPKI(t)
	iss, err := issuer.New(pki.DSC.Signer(), pki.DSC.Cert, issuer.WithIssuerName(testkit.IssuerName), issuer.WithUVCISecret(bytes.Repeat([]byte{7}, 32)),
		issuer.WithClock(testkit.Clock))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(service.Config{Store: st, Issuer: iss, Clock: testkit.Clock, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })

	dir := t.TempDir()
	if err := auth.GenerateDevIdentity(dir); err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, auth.DevKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := os.ReadFile(filepath.Join(dir, auth.DevJWKSFile))
	if err != nil {
		t.Fatal(err)
	}
	citizens, err := auth.NewCitizenVerifier(jwks, auth.WithIssuer(idpIssuer), auth.WithAudience(idpAudience),
		auth.WithClock(testkit.Clock))
	if err != nil {
		t.Fatal(err)
	}
	keyDir := filepath.Join(dir, "keys")
	if err := keyfile.WriteDir(keyDir, pki.CSCA, pki.DSC); err != nil {
		t.Fatal(err)
	}
	pub, err := trustpub.New(trustpub.Config{KeyDir: keyDir, Clock: testkit.Clock})
	if err != nil {
		t.Fatal(err)
	}
	checker, err := venue.NewChecker(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	generous := Rate{PerSecond: 1e6, Burst: 1e6}
	// No load shedding, as generous rates: on a busy machine (or under
	// -race) the scheduling delay is often above the target, and tests of
	// concurrent requests would see 503s; TestShedding sets its own.
	cfg := Config{Citizens: citizens, Logger: logger, StaffRate: generous, CitizenRate: generous,
		AnonymousRate: generous, VenueRate: generous, Lists: pub, Checker: checker, Clock: testkit.Clock,
		ShedTarget: -1}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg, svc)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, srv: srv, svc: svc, st: st, pki: pki, logs: logs, creds: map[string]string{}}
	render := srv.renderQR
	srv.renderQR = func(hc1 string) ([]byte, error) {
		e.renders.Add(1)
		return render(hc1)
	}
	e.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(e.ts.Close)

	for name, tok := range map[string]struct {
		role auth.Role
		site string
	}{
		credUploader: {auth.RoleUploader, "HN-001"}, credOtherUploader: {auth.RoleUploader, "HN-002"},
		credFinaliser: {auth.RoleFinaliser, ""}, credReviewer: {auth.RoleReviewer, ""}, credAdmin: {auth.RoleAdmin, ""},
		credRevoked: {auth.RoleAdmin, ""},
	} {
		plain, tk, err := svc.CreateToken(ctx, system, tok.role, tok.site, name)
		if err != nil {
			t.Fatal(err)
		}
		e.creds[name] = plain
		if name == credRevoked {
			if err := svc.RevokeToken(ctx, system, tk.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The test sites finalise at the source.
	for _, site := range []string{"HN-001", "HN-002"} {
		if _, err := svc.SetSitePermission(ctx, system, site, true); err != nil {
			t.Fatal(err)
		}
	}
	mint := func(sub string, at time.Time) string {
		tok, err := auth.MintDevToken(keyPEM, sub, idpIssuer, idpAudience, time.Hour, at)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	e.creds[credCitizenA] = mint(citizenA, testkit.Now)
	e.creds[credCitizenB] = mint(citizenB, testkit.Now)
	e.creds[credExpired] = mint(citizenA, testkit.Now.Add(-2*time.Hour))
	e.creds[credGarbage] = "not-a-token"
	t.Cleanup(func() { noPersonalData(t, "log", logs.String()) })
	return e
}

// run runs fn on a fresh env for each store engine.
func run(t *testing.T, fn func(t *testing.T, e *env), opts ...func(*Config)) {
	storetest.Run(t, func(t *testing.T, st *store.Store) { fn(t, newEnv(t, st, opts...)) })
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// apiErr decodes an error body.
func (r *response) apiErr(t testing.TB) apiError {
	t.Helper()
	var b struct{ Error apiError }
	r.json(t, &b)
	return b.Error
}

// req describes a request for do.
type req struct {
	method, path string
	cred         string // a key of env.creds, or ""
	contentType  string
	body         io.Reader
	header       http.Header // extra request headers
}

// jsonBody returns v as a request body.
func jsonBody(t testing.TB, v any) io.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

// do sends r (a JSON body unless contentType says otherwise).
func (e *env) do(r req) *response {
	e.t.Helper()
	hr, err := http.NewRequestWithContext(e.ctx, r.method, e.ts.URL+r.path, r.body)
	if err != nil {
		e.t.Fatal(err)
	}
	if r.cred != "" {
		tok, ok := e.creds[r.cred]
		if !ok {
			e.t.Fatalf("unknown credential %q", r.cred)
		}
		hr.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, vs := range r.header {
		hr.Header[k] = vs
	}
	switch {
	case r.contentType != "":
		hr.Header.Set("Content-Type", r.contentType)
	case r.body != nil:
		hr.Header.Set("Content-Type", "application/json")
	}
	res, err := e.ts.Client().Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: body}
}

// call sends a request with an optional JSON body and checks the status.
func (e *env) call(method, path, cred string, body any, want int) *response {
	e.t.Helper()
	r := req{method: method, path: path, cred: cred}
	if body != nil {
		r.body = jsonBody(e.t, body)
	}
	res := e.do(r)
	if res.status != want {
		e.t.Fatalf("%s %s as %q: status %d, want %d: %s", method, path, cred, res.status, want, res.body)
	}
	return res
}

// submit uploads rec through the service as the uploader of its first
// dose's site.
func (e *env) submit(rec issuer.Record) {
	e.t.Helper()
	a := service.Actor{Kind: service.ActorStaff, ID: "tok_seed", Role: auth.RoleUploader, Site: rec.Doses[0].Site}
	res, err := e.svc.SubmitRecord(e.ctx, a, rec)
	if err != nil {
		e.t.Fatalf("SubmitRecord: %v", err)
	}
	for _, r := range res {
		if r.Outcome == service.OutcomeRejected {
			e.t.Fatalf("seed dose rejected: %+v", r.Errors)
		}
	}
}

func (e *env) personID(nationalID string) int64 {
	e.t.Helper()
	id, err := e.svc.FindPerson(e.ctx, system, nationalID)
	if err != nil {
		e.t.Fatalf("FindPerson: %v", err)
	}
	return id
}

func (e *env) issue(nationalID string) *service.Certificate {
	e.t.Helper()
	c, err := e.svc.IssueFor(e.ctx, system, e.personID(nationalID))
	if err != nil {
		e.t.Fatalf("IssueFor: %v", err)
	}
	return c
}

// waitJob polls a job until it is no longer running.
func (e *env) waitJob(id string) service.JobStatus {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := e.svc.Job(e.ctx, system, id)
		if err != nil {
			e.t.Fatalf("Job: %v", err)
		}
		if st.State != service.JobRunning {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %s still running", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
