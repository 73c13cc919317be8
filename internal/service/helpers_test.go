package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veraison/go-cose"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/store/storetest"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/schemas"
)

// fakeIssuer builds real payloads (issuer.BuildPayload, so UVCIs are
// derived as in production) and "signs" them without crypto, counting
// signatures. gate, when set, blocks each Issue until a value arrives.
type fakeIssuer struct {
	opts  issuer.PayloadOptions
	now   func() time.Time
	signs atomic.Int64
	gate  chan struct{}
	fail  error
	// onSign, when set, is called as Sign starts (before the gate).
	onSign func()
}

func newFakeIssuer(now func() time.Time) *fakeIssuer {
	return &fakeIssuer{now: now, opts: issuer.PayloadOptions{Country: "VN", Issuer: "Ministry of Health of Viet Nam",
		UVCISecret: bytes.Repeat([]byte{7}, issuer.MinUVCISecretLen)}}
}

func (f *fakeIssuer) PayloadRevision(rec issuer.Record, revision int) (*schemas.DCC, error) {
	opts := f.opts
	opts.Revision = revision
	opts.IssuedAt = f.now() // as issuer.Issuer does
	return issuer.BuildPayload(rec, opts)
}

func (f *fakeIssuer) Sign(dcc *schemas.DCC) (*issuer.Certificate, error) {
	if f.onSign != nil {
		f.onSign()
	}
	if f.gate != nil {
		<-f.gate
	}
	if f.fail != nil {
		return nil, f.fail
	}
	f.signs.Add(1)
	now := f.now()
	exp := now.AddDate(1, 0, 0)
	// A COSE_Sign1 message as the issuer writes it (the service reads
	// stored payloads from it), with a made-up signature.
	claims, err := hcert.EncodeClaims("VN", now.Unix(), exp.Unix(), dcc)
	if err != nil {
		return nil, err
	}
	sig := sha256.Sum256([]byte(dcc.V[0].CI + now.String()))
	msg := cose.Sign1Message{Headers: cose.Headers{Protected: cose.ProtectedHeader{
		cose.HeaderLabelAlgorithm: cose.AlgorithmES256, cose.HeaderLabelKeyID: []byte("kid12345")}},
		Payload: claims, Signature: append(sig[:], sig[:]...)}
	raw, err := msg.MarshalCBOR()
	if err != nil {
		return nil, err
	}
	// The QR text is built from the message as the issuer builds it (the
	// service rebuilds it from the stored message).
	return &issuer.Certificate{HC1: string(hcert.AppendHC1(nil, raw)), COSE: raw, UVCI: dcc.V[0].CI, IssuedAt: now,
		ExpiresAt: exp, KID: []byte("kid12345"), Payload: dcc}, nil
}

// testClock is a settable clock starting at testkit.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a service on a fresh store, with its fake issuer, clock and log.
type env struct {
	t     *testing.T
	s     *Service
	st    *store.Store
	iss   *fakeIssuer
	clock *testClock
	logs  *bytes.Buffer // read with logText: the service writes to it from its goroutines
	logw  *lockedWriter
	ctx   context.Context
}

// logText returns what the service has logged so far.
func (e *env) logText() string {
	e.logw.mu.Lock()
	defer e.logw.mu.Unlock()
	return e.logs.String()
}

func newEnv(t *testing.T, st *store.Store) *env {
	t.Helper()
	clock := &testClock{t: testkit.Now}
	iss := newFakeIssuer(clock.Now)
	logs := &bytes.Buffer{}
	logw := &lockedWriter{w: logs}
	s, err := New(Config{Store: st, Issuer: iss, Clock: clock.Now,
		Logger: slog.New(slog.NewTextHandler(logw, nil))})
	if err != nil {
		t.Fatal(err)
	}
	// The test clock moves by hand: leases last longer than any test
	// advances it, unless a test shortens them.
	s.leaseTTL = time.Hour
	t.Cleanup(func() { s.Close() })
	// The test sites finalise at the source, except S9 (see
	// TestFinaliseIsASitePermission).
	for _, site := range []string{"S1", "S2", "S3", "S7"} {
		if _, err := s.SetSitePermission(context.Background(), system, site, true); err != nil {
			t.Fatal(err)
		}
	}
	return &env{t: t, s: s, st: st, iss: iss, clock: clock, logs: logs, logw: logw, ctx: context.Background()}
}

// run runs fn on a fresh service for each engine.
func run(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Run(t, func(t *testing.T, st *store.Store) { fn(t, newEnv(t, st)) })
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Actors.
var (
	finaliser = Actor{Kind: ActorStaff, ID: "tok_fin", Role: auth.RoleFinaliser}
	reviewer  = Actor{Kind: ActorStaff, ID: "tok_rev", Role: auth.RoleReviewer}
	admin     = Actor{Kind: ActorStaff, ID: "tok_adm", Role: auth.RoleAdmin}
	system    = Actor{Kind: ActorSystem, ID: "test"}
)

func uploader(site string) Actor {
	return Actor{Kind: ActorStaff, ID: "tok_up_" + site, Role: auth.RoleUploader, Site: site}
}

// Test people. Their details must never appear in errors, logs or audit.
const (
	citizenA = "001090000001"
	citizenB = "001090000002"
	birth    = "1990-04-12"
)

func holder(id string) issuer.Person {
	return issuer.Person{ID: id, FamilyName: "Nguyễn", GivenName: "Văn Đức", BirthDate: birth}
}

// dose is a Comirnaty dose dn/2 given at site on 2021-0dn-01.
func dose(site, recordID string, dn int, status string) issuer.Dose {
	return issuer.Dose{RecordID: recordID, Site: site, Product: "EU/1/20/1528", Manufacturer: "ORG-100030215",
		Lot: "LOT" + string(rune('A'+dn)), DoseNumber: dn, SeriesDoses: 2, Date: "2021-0" + string(rune('0'+dn)) + "-01",
		Country: "VN", Status: status}
}

func record(id string, doses ...issuer.Dose) issuer.Record {
	return issuer.Record{Person: holder(id), Doses: doses}
}

// submit uploads rec as the uploader of its first dose's site and returns
// the outcomes.
func (e *env) submit(rec issuer.Record) []Outcome {
	e.t.Helper()
	res, err := e.s.SubmitRecord(e.ctx, uploader(rec.Doses[0].Site), rec)
	if err != nil {
		e.t.Fatalf("SubmitRecord: %v", err)
	}
	out := make([]Outcome, len(res))
	for i, r := range res {
		out[i] = r.Outcome
	}
	return out
}

func (e *env) personID(nationalID string) int64 {
	e.t.Helper()
	id, err := e.s.FindPerson(e.ctx, finaliser, nationalID)
	if err != nil {
		e.t.Fatalf("FindPerson: %v", err)
	}
	return id
}

func (e *env) issue(nationalID string) *Certificate {
	e.t.Helper()
	c, err := e.s.IssueFor(e.ctx, finaliser, e.personID(nationalID))
	if err != nil {
		e.t.Fatalf("IssueFor: %v", err)
	}
	return c
}

func (e *env) stats() Stats {
	e.t.Helper()
	st, err := e.s.Stats(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// waitJob polls a job until it is no longer running.
func (e *env) waitJob(id string) JobStatus {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := e.s.Job(e.ctx, finaliser, id)
		if err != nil {
			e.t.Fatalf("Job: %v", err)
		}
		if st.State != JobRunning {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %s still running: %+v", id, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// noPersonalData fails if s contains a test person's details.
func noPersonalData(t *testing.T, what, s string) {
	t.Helper()
	for _, pii := range []string{citizenA, citizenB, "Nguyễn", "Văn", "NGUYEN", "Trần", birth} {
		if strings.Contains(s, pii) {
			t.Errorf("%s contains personal data %q", what, pii)
		}
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("%s: error = %v, want %v", what, err, want)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
