package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/server"
	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/internal/store/storetest"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/issuer"
)

func TestProgressLine(t *testing.T) {
	tests := []struct {
		job  jobStatus
		want string
	}{
		{jobStatus{Total: 100000, Done: 52000, Rate: 6120, ETASeconds: 7.8},
			"[##########..........]  52% 52,000/100,000 6,120/s ETA 8s"},
		{jobStatus{Total: 0, Done: 0}, "[####################] 100% 0/0 0/s ETA -"},
		{jobStatus{Total: 3, Done: 1, Rate: 0.4, ETASeconds: 5},
			"[######..............]  33% 1/3 0/s ETA 5s"},
		{jobStatus{Total: 2500000, Done: 2500000, Rate: 12345.6},
			"[####################] 100% 2,500,000/2,500,000 12,346/s ETA -"},
	}
	for _, tc := range tests {
		if got := progressLine(tc.job); got != tc.want {
			t.Errorf("progressLine(%+v) = %q, want %q", tc.job, got, tc.want)
		}
	}
}

// newTestService returns a service on a fresh SQLite store and its API on
// a test server; wrap, if not nil, wraps the API's handler.
func newTestService(t *testing.T, wrap func(http.Handler) http.Handler) (*service.Service, *httptest.Server) {
	t.Helper()
	st := storetest.Open(t, "sqlite")
	pki := testkit.NewPKI(t)
	iss, err := issuer.New(pki.DSC.Signer(), pki.DSC.Cert, issuer.WithIssuerName(testkit.IssuerName), issuer.WithUVCISecret(bytes.Repeat([]byte{1}, 32)),
		issuer.WithClock(testkit.Clock))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(service.Config{Store: st, Issuer: iss, Clock: testkit.Clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	dir := t.TempDir()
	if err := auth.GenerateDevIdentity(dir); err != nil {
		t.Fatal(err)
	}
	jwks, err := os.ReadFile(filepath.Join(dir, auth.DevJWKSFile))
	if err != nil {
		t.Fatal(err)
	}
	citizens, err := auth.NewCitizenVerifier(jwks, auth.WithIssuer(devIssuer), auth.WithAudience(defaultAudience))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Citizens: citizens}, svc)
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return svc, ts
}

// TestIssueAll runs issue-all against a real service with two persons
// pending issuance.
func TestIssueAll(t *testing.T) {
	ctx := context.Background()
	svc, ts := newTestService(t, nil)
	uploader := service.Actor{Kind: service.ActorStaff, ID: "tok_up", Role: auth.RoleUploader, Site: "HN-001"}
	if _, err := svc.SetSitePermission(ctx, service.Actor{Kind: service.ActorSystem, ID: "test"}, "HN-001", true); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"001090000011", "001090000012"} {
		rec := issuer.Record{Person: issuer.Person{ID: id, FamilyName: "Trần", GivenName: "Thị Mai", BirthDate: "1985-02-03"},
			Doses: []issuer.Dose{{RecordID: "r" + id, Site: "HN-001", Product: "EU/1/20/1528", Manufacturer: "ORG-100030215",
				Lot: "L" + string(rune('0'+i)), DoseNumber: 1, SeriesDoses: 2, Date: "2021-08-15", Country: "VN",
				Status: issuer.StatusFinalised}}}
		if _, err := svc.SubmitRecord(ctx, uploader, rec); err != nil {
			t.Fatal(err)
		}
	}
	system := service.Actor{Kind: service.ActorSystem, ID: "test"}
	finaliser, _, err := svc.CreateToken(ctx, system, auth.RoleFinaliser, "", "finaliser")
	if err != nil {
		t.Fatal(err)
	}
	reviewer, _, err := svc.CreateToken(ctx, system, auth.RoleReviewer, "", "reviewer")
	if err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runCLI(t, "", "issue-all", "--server", ts.URL, "--token", finaliser, "--interval", "1ms")
	if code != exitOK || !strings.Contains(stdout, " done: 2 persons processed, 2 issued, 0 blocked") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if s, _ := svc.Stats(ctx); s.CertificatesIssued != 2 || s.PendingIssuance != 0 {
		t.Errorf("stats after issue-all: %+v", s)
	}
	code, stdout, stderr = runCLI(t, "", "issue-all", "--server", ts.URL, "--token", finaliser, "--list")
	if code != exitOK || strings.Count(stdout, "\n") != 1 || !strings.Contains(stdout, " done ") ||
		!strings.Contains(stdout, "2/2 done, 2 issued, 0 workers") {
		t.Fatalf("--list: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}

	t.Setenv(envToken, reviewer)
	code, stdout, stderr = runCLI(t, "", "issue-all", "--server", ts.URL)
	wantError(t, code, stdout, stderr, exitError)
	if !strings.Contains(stderr, "(forbidden)") {
		t.Errorf("stderr: %s", stderr)
	}
}

// fakeJobs serves an issuance job whose polls return states in turn.
func fakeJobs(t *testing.T, start int, states ...jobStatus) *httptest.Server {
	var mu sync.Mutex
	polls := 0
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "POST" && r.URL.Path == "/v1/issuance-jobs" && start != http.StatusAccepted:
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(start)
			w.Write([]byte(`{"error":{"code":"job_running","message":"issuance job j1 is running","hint":"retry later",` +
				`"job":{"id":"j1","state":"running","total":10,"done":4}}}`))
		case r.Method == "GET" && r.URL.Path == "/v1/issuance-jobs":
			json.NewEncoder(w).Encode(map[string]any{"jobs": states[:1]})
		case r.Method == "POST" && r.URL.Path == "/v1/issuance-jobs/"+states[0].ID+"/workers",
			r.Method == "POST" && r.URL.Path == "/v1/issuance-jobs":
			w.WriteHeader(http.StatusAccepted)
			json.NewEncoder(w).Encode(states[0])
		case r.Method == "GET" && r.URL.Path == "/v1/issuance-jobs/"+states[0].ID:
			polls++
			json.NewEncoder(w).Encode(states[min(polls, len(states)-1)])
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusNotFound)
		}
	}))
}

func TestIssueAllOutcomes(t *testing.T) {
	running := func(done int64) jobStatus {
		return jobStatus{ID: "j1", State: "running", Total: 10, Done: done, Rate: 2, ETASeconds: float64(10-done) / 2}
	}
	tests := []struct {
		name     string
		start    int
		states   []jobStatus
		code     int
		progress int // progress lines on stderr (not a terminal)
		join     bool
		stderr   string // in the error output
	}{
		{name: "done", start: 202, code: exitOK, progress: 2, states: []jobStatus{running(0), running(1), running(2),
			running(3), running(4), running(5), running(6), {ID: "j1", State: "done", Total: 10, Done: 10, Issued: 9, Blocked: 1}}},
		{name: "failed", start: 202, code: exitInvalid, progress: 1, states: []jobStatus{running(0), running(4),
			{ID: "j1", State: "failed", Total: 10, Done: 4, Error: "store: failed"}}},
		{name: "interrupted", start: 202, code: exitInvalid, progress: 1, states: []jobStatus{running(0),
			{ID: "j1", State: "interrupted", Total: 10, Done: 4}}},
		{name: "busy", start: 409, code: exitError, states: []jobStatus{{ID: "j1"}}, stderr: "job j1: 4/10 persons done; try again in 5 s"},
		{name: "join", join: true, start: 409, code: exitOK, progress: 1, states: []jobStatus{running(4),
			{ID: "j1", State: "done", Total: 10, Done: 10, Issued: 9, Blocked: 1}}},
		{name: "join without a running job", join: true, start: 202, code: exitError,
			states: []jobStatus{{ID: "j1", State: "done"}}, stderr: "no batch issuance is running"},
		{name: "not a job", start: 202, code: exitError, states: []jobStatus{{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := fakeJobs(t, tc.start, tc.states...)
			defer ts.Close()
			args := []string{"issue-all", "--server", ts.URL + "/", "--token", "vxs_x", "--interval", "1ms"}
			if tc.join {
				args = append(args, "--join")
			}
			code, stdout, stderr := runCLI(t, "", args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if code != exitOK {
				if n := strings.Count(stderr, "vaxcert: error: "); n != 1 {
					t.Errorf("stderr has %d error lines:\n%s", n, stderr)
				}
				if !strings.Contains(stderr, tc.stderr) {
					t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr)
				}
				return
			}
			if n := strings.Count(stderr, "/10 "); n != tc.progress {
				t.Errorf("%d progress lines, want %d:\n%s", n, tc.progress, stderr)
			}
			if want := "job j1 done: 10 persons processed, 9 issued, 1 blocked (contradictory records), 0 failed\n"; stdout != want {
				t.Errorf("stdout %q, want %q", stdout, want)
			}
		})
	}
}

func TestIssueAllUsageErrors(t *testing.T) {
	t.Setenv(envToken, "")
	tests := []struct {
		name string
		args []string
	}{
		{"no token", []string{"issue-all"}},
		{"bad server", []string{"issue-all", "--token", "vxs_x", "--server", "ftp://host"}},
		{"bad interval", []string{"issue-all", "--token", "vxs_x", "--interval", "0s"}},
		{"argument", []string{"issue-all", "--token", "vxs_x", "now"}},
		{"unreachable", []string{"issue-all", "--token", "vxs_x", "--server", "http://" + freeAddr(t)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.args...)
			wantError(t, code, stdout, stderr, exitError)
		})
	}
}
