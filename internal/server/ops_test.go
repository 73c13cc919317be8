package server

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/store/storetest"
	"github.com/vaxcert/vaxcert/issuer"
)

// TestBodyLimit: a body over the route's limit is 413, whether announced
// by Content-Length or found while reading.
func TestBodyLimit(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		big := `{"person":{"id":"` + strings.Repeat("1", limits.MaxAPIBody) + `"}}`
		photo := append(testPNG(t), make([]byte, limits.MaxPhoto)...)
		var multipart bytes.Buffer
		multipart.WriteString("--b\r\nContent-Disposition: form-data; name=\"photo\"\r\n\r\n")
		multipart.Write(photo)
		multipart.WriteString("\r\n--b--\r\n")
		tests := []struct {
			name string
			r    req
		}{
			{"content length", req{method: "POST", path: "/v1/dose-records", cred: credUploader,
				body: strings.NewReader(big)}},
			// A reader of unknown length is sent chunked.
			{"chunked", req{method: "POST", path: "/v1/dose-records", cred: credUploader,
				body: struct{ io.Reader }{strings.NewReader(big)}}},
			{"photo part", req{method: "POST", path: "/v1/me/corrections", cred: credCitizenA,
				contentType: "multipart/form-data; boundary=b", body: struct{ io.Reader }{&multipart}}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e.t = t
				res := e.do(tc.r)
				if res.status != http.StatusRequestEntityTooLarge || res.apiErr(t).Code != codeTooLarge {
					t.Errorf("status %d: %s", res.status, res.body)
				}
			})
		}

		// The bulk-upload limit, announced by Content-Length, is refused
		// before the body is read.
		e.t = t
		r := httptest.NewRequest("POST", "/v1/dose-records/batch", strings.NewReader("{}\n"))
		r.ContentLength = limits.MaxBatchBody + 1
		r.Header.Set("Authorization", "Bearer "+e.creds[credUploader])
		r.Header.Set("Content-Type", mimeNDJSON)
		w := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(w, r)
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("batch over the limit: %d %s", w.Code, w.Body)
		}
	})
}

// TestRateLimit: each client has its own bucket; an empty one is 429 with
// Retry-After; health checks are never limited.
func TestRateLimit(t *testing.T) {
	slow := Rate{PerSecond: 0.01, Burst: 2} // a token per 100 s
	run(t, func(t *testing.T, e *env) {
		for _, cred := range []string{credCitizenA, credFinaliser, ""} {
			path := "/v1/me/certificates"
			switch cred {
			case credFinaliser:
				path = "/v1/reviews"
			case "":
				path = "/v1/revocations"
			}
			e.call("GET", path, cred, nil, http.StatusOK)
			e.call("GET", path, cred, nil, http.StatusOK)
			res := e.call("GET", path, cred, nil, http.StatusTooManyRequests)
			retry, err := strconv.Atoi(res.header.Get("Retry-After"))
			if err != nil || retry < 1 || retry > 100 || res.apiErr(t).Code != codeRateLimited {
				t.Errorf("as %q: Retry-After %q, body %s", cred, res.header.Get("Retry-After"), res.body)
			}
		}
		// Other clients are not affected.
		e.call("GET", "/v1/me/certificates", credCitizenB, nil, http.StatusOK)
		e.call("GET", "/v1/dose-records/HN-001/x/history", credUploader, nil, http.StatusNotFound)
		for range 5 {
			e.call("GET", "/healthz", "", nil, http.StatusOK)
		}
	}, func(c *Config) { c.StaffRate, c.CitizenRate, c.AnonymousRate = slow, slow, slow })
}

// TestMetrics: request counts and latencies by route template, and the
// service's counters, after some requests.
func TestMetrics(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("HN-001", "r1", 1, issuer.StatusFinalised)))
		c := e.issue(citizenA)
		e.submit(record(citizenB, dose("HN-001", "r2", 1, issuer.StatusFinalised)))
		e.call("GET", "/v1/me/certificates", credCitizenA, nil, http.StatusOK)
		e.call("GET", "/v1/me/certificates/"+strings.ReplaceAll(c.UVCI, "#", "%23")+".png", credCitizenA, nil, http.StatusOK)
		e.call("GET", "/v1/me/certificates", "", nil, http.StatusUnauthorized)
		e.call("GET", "/v1/no/such/route", "", nil, http.StatusNotFound)
		body := string(e.call("GET", "/metrics", "", nil, http.StatusOK).body)
		for _, want := range []string{
			`vaxcert_http_requests_total{code="200",method="GET",route="/v1/me/certificates"} 1`,
			`vaxcert_http_requests_total{code="401",method="GET",route="/v1/me/certificates"} 1`,
			`vaxcert_http_requests_total{code="200",method="GET",route="/v1/me/certificates/:uvci.png"} 1`,
			`vaxcert_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
			`vaxcert_http_request_duration_seconds_count{method="GET",route="/v1/me/certificates"} 2`,
			"vaxcert_certificates_issued_total 1",
			`vaxcert_queue_depth{queue="pending_issuance"} 1`,
			`vaxcert_queue_depth{queue="open_reviews"} 0`,
			`vaxcert_queue_depth{queue="open_corrections"} 0`,
			"go_goroutines ",
		} {
			if !strings.Contains(body, want+"\n") && !strings.Contains(body, want) {
				t.Errorf("metrics lack %q", want)
			}
		}
		if strings.Contains(body, c.UVCI[:20]) {
			t.Errorf("metrics contain a uvci")
		}
	})
}

// TestHealth: /healthz answers while the process runs; /readyz checks the
// database and the keys.
func TestHealth(t *testing.T) {
	keysErr := errors.New("test: dsc expired")
	var ready error
	run(t, func(t *testing.T, e *env) {
		ready = nil
		e.call("GET", "/healthz", "", nil, http.StatusOK)
		e.call("GET", "/readyz", "", nil, http.StatusOK)
		ready = keysErr
		res := e.call("GET", "/readyz", "", nil, http.StatusServiceUnavailable)
		if !strings.Contains(string(res.body), `"keys":"failed"`) || !strings.Contains(string(res.body), `"database":"ok"`) {
			t.Errorf("readyz: %s", res.body)
		}
		ready = nil
		e.st.Close()
		res = e.call("GET", "/readyz", "", nil, http.StatusServiceUnavailable)
		if !strings.Contains(string(res.body), `"database":"failed"`) {
			t.Errorf("readyz: %s", res.body)
		}
		e.call("GET", "/healthz", "", nil, http.StatusOK)
	}, func(c *Config) { c.Ready = func(context.Context) error { return ready } })
}

// TestReadyReadsNoTable: /readyz pings the database and reads none of its
// tables, and the counts the metrics report do not read the certificates.
// Both used to count whole tables (COUNT(*) of certificates, of the
// issuance queue, …) that grow to a hundred million rows, on every probe
// and scrape of every instance. Here the certificates table is held under
// an exclusive lock, as an ALTER TABLE would hold it: a count waits for it,
// a ping and the counters do not. PostgreSQL only (SQLite has no table
// locks).
func TestReadyReadsNoTable(t *testing.T) {
	ctx := context.Background()
	url := storetest.URL(t, "postgres") // skips, saying so, without VAXCERT_TEST_PG
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, st)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "LOCK TABLE certificates IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	e.call("GET", "/readyz", "", nil, http.StatusOK)
	if _, err := e.svc.Stats(ctx); err != nil {
		t.Errorf("Stats with the certificates table locked: %v", err)
	}
	// A count does wait for the lock: what neither does any more.
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	var n int64
	if err := db.QueryRowContext(cctx, "SELECT COUNT(*) FROM certificates").Scan(&n); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("COUNT(*) of the locked certificates table: err = %v, want it to wait until its deadline", err)
	}
}

// TestPanic: a panicking handler is a 500 with the JSON error body; the
// log has the panic's type and stack, not its value.
func TestPanic(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.srv.e.GET("/v1/panic", func(echo.Context) error { panic(errors.New("test: " + citizenA)) })
		res := e.call("GET", "/v1/panic", "", nil, http.StatusInternalServerError)
		if res.apiErr(t).Code != codeInternal {
			t.Errorf("body %s", res.body)
		}
		if logs := e.logs.String(); !strings.Contains(logs, `"panic_type":"*errors.errorString"`) {
			t.Errorf("log lacks the panic: %s", logs)
		}
	})
}

// TestGracefulShutdown: when the context ends, a request in flight (a
// slow upload) completes, new connections are refused, and Serve returns
// nil.
func TestGracefulShutdown(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		// The request is in flight once its handler runs: http.Server
		// drops a request whose header it is still reading when Shutdown
		// begins (the connection is closed, not answered), so the first
		// bytes reaching the server are not enough.
		handling := make(chan struct{})
		var once sync.Once
		e.srv.e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				if c.Request().URL.Path == "/v1/dose-records/batch" {
					once.Do(func() { close(handling) })
				}
				return next(c)
			}
		})
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- e.srv.Serve(ctx, ln) }()

		pr, pw := io.Pipe()
		hr, err := http.NewRequest("POST", "http://"+addr+"/v1/dose-records/batch", pr)
		if err != nil {
			t.Fatal(err)
		}
		hr.Header.Set("Authorization", "Bearer "+e.creds[credUploader])
		hr.Header.Set("Content-Type", mimeNDJSON)
		type result struct {
			body []byte
			err  error
		}
		answered := make(chan result, 1)
		go func() {
			res, err := http.DefaultClient.Do(hr)
			if err != nil {
				answered <- result{err: err}
				return
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			answered <- result{b, err}
		}()
		first := ndjsonLine(t, record(citizenA, dose("HN-001", "r1", 1, issuer.StatusDraft)))
		if _, err := io.WriteString(pw, first); err != nil {
			t.Fatal(err)
		}
		<-handling // the server is handling the request
		cancel()
		deadline := time.Now().Add(10 * time.Second)
		for {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				break // refused: the listener is closed
			}
			conn.Close()
			if time.Now().After(deadline) {
				t.Fatal("new connections still accepted after shutdown began")
			}
			time.Sleep(10 * time.Millisecond)
		}
		select {
		case err := <-served:
			t.Fatalf("Serve returned %v with a request in flight", err)
		case r := <-answered:
			t.Fatalf("the in-flight request ended early: %v %s", r.err, r.body)
		default:
		}

		second := ndjsonLine(t, record(citizenA, dose("HN-001", "r2", 2, issuer.StatusDraft)))
		if _, err := io.WriteString(pw, second); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		r := <-answered
		if r.err != nil {
			t.Fatal(r.err)
		}
		if rep := parseReport(t, r.body); rep.end.Summary.Stored != 2 || rep.end.Error != nil {
			t.Errorf("report %s", r.body)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

// TestRunSignal: Run stops gracefully on SIGTERM.
func TestRunSignal(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.srv.cfg.Addr = "127.0.0.1:0"
		done := make(chan error, 1)
		go func() { done <- e.srv.Run(context.Background()) }()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(e.logs.String(), `"msg":"listening"`) {
			if time.Now().After(deadline) {
				t.Fatal("Run did not start listening")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not stop on SIGTERM")
		}
	})
}

// TestOpenAPI: the served document is the embedded one, parses as YAML and
// documents exactly the registered routes (the .png and .pdf forms share
// the {uvci} route).
func TestOpenAPI(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		res := e.call("GET", "/v1/openapi.yaml", "", nil, http.StatusOK)
		if !bytes.Equal(res.body, openAPI) {
			t.Fatal("served document differs from the embedded one")
		}
		var doc struct {
			OpenAPI string                          `yaml:"openapi"`
			Paths   map[string]map[string]yaml.Node `yaml:"paths"`
		}
		if err := yaml.Unmarshal(res.body, &doc); err != nil {
			t.Fatalf("openapi.yaml: %v", err)
		}
		if !strings.HasPrefix(doc.OpenAPI, "3.1") {
			t.Errorf("openapi version %q", doc.OpenAPI)
		}
		documented := map[string]bool{}
		ids := map[string]bool{}
		for path, ops := range doc.Paths {
			for method, node := range ops {
				if method == "parameters" {
					continue
				}
				var op struct {
					OperationID string         `yaml:"operationId"`
					Responses   map[string]any `yaml:"responses"`
				}
				if err := node.Decode(&op); err != nil {
					t.Fatalf("%s %s: %v", method, path, err)
				}
				key := strings.ToUpper(method) + " " + path
				documented[key] = true
				if op.OperationID == "" || ids[op.OperationID] || len(op.Responses) == 0 {
					t.Errorf("%s: missing or duplicate operationId, or no responses", key)
				}
				ids[op.OperationID] = true
				// Every route that writes can meet a busy database: 503.
				writes := method == "post" || method == "put" || method == "delete"
				if writes && strings.HasPrefix(path, "/v1/") && path != "/v1/verify" && op.Responses["503"] == nil {
					t.Errorf("%s writes but does not document 503 busy", key)
				}
			}
		}
		registered := map[string]bool{}
		for _, r := range e.srv.e.Routes() {
			if r.Method == echo.RouteNotFound {
				continue
			}
			path := r.Path
			for _, seg := range strings.Split(path, "/") {
				if strings.HasPrefix(seg, ":") {
					path = strings.Replace(path, seg, "{"+seg[1:]+"}", 1)
				}
			}
			key := r.Method + " " + path
			registered[key] = true
			if !documented[key] {
				t.Errorf("route %s is not in openapi.yaml", key)
			}
		}
		for key := range documented {
			base := strings.TrimSuffix(strings.TrimSuffix(key, ".png"), ".pdf")
			if !registered[base] {
				t.Errorf("openapi.yaml documents %s, which is not a route", key)
			}
		}
		if len(registered) < 30 {
			t.Errorf("only %d routes registered", len(registered))
		}
	})
}

// TestTimeouts: an ordinary request whose body stalls is cut off after
// RequestTimeout; a bulk upload may pause for longer.
func TestTimeouts(t *testing.T) {
	const timeout = 300 * time.Millisecond
	run(t, func(t *testing.T, e *env) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- e.srv.Serve(ctx, ln) }()
		defer func() {
			cancel()
			if err := <-served; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}()
		addr := ln.Addr().String()

		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"role\":", e.creds[credAdmin])
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		start := time.Now()
		b, _ := io.ReadAll(conn) // ends when the server gives up
		if waited := time.Since(start); waited > 5*time.Second || bytes.HasPrefix(b, []byte("HTTP/1.1 2")) {
			t.Errorf("stalled request: answered %q after %v", b, waited)
		}

		pr, pw := io.Pipe()
		go func() {
			io.WriteString(pw, ndjsonLine(t, record(citizenA, dose("HN-001", "r1", 1, issuer.StatusDraft))))
			time.Sleep(2 * timeout)
			io.WriteString(pw, ndjsonLine(t, record(citizenA, dose("HN-001", "r2", 2, issuer.StatusDraft))))
			pw.Close()
		}()
		hr, err := http.NewRequest("POST", "http://"+addr+"/v1/dose-records/batch", pr)
		if err != nil {
			t.Fatal(err)
		}
		hr.Header.Set("Authorization", "Bearer "+e.creds[credUploader])
		hr.Header.Set("Content-Type", mimeNDJSON)
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if rep := parseReport(t, body); res.StatusCode != http.StatusOK || rep.end.Summary.Stored != 2 {
			t.Errorf("paused upload: %d %s", res.StatusCode, body)
		}
	}, func(c *Config) { c.RequestTimeout = timeout })
}
