//go:build crash

package crashtest

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/store"
)

// Names "vaxcert serve --dev" uses in its data folder (cmd/vaxcert/serve.go).
const (
	devTokensFile = "dev-tokens.json"
	// devSite is the site the development uploader token is bound to.
	devSite = "HN-001"
)

// readyTimeout guards against a server start that hangs (demo keys,
// migrations, tokens); it is no performance expectation. A start's measured
// duration sets the floor of the progress watches that follow it.
const readyTimeout = 2 * time.Minute

// minFloor is the least a progress watch waits for a first step.
const minFloor = 10 * time.Second

// apiClient sends every request but the bulk uploads, whose reports stream
// for as long as the upload runs. Its timeout only guards against a hang.
var apiClient = &http.Client{Timeout: 2 * time.Minute}

// server is a "vaxcert serve --dev" child process.
type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:port
	logs   string // the file of the process's standard error
	exited chan struct{}
	err    error // the process's exit, once exited is closed
	tokens map[string]string
	// startup is how long the server took to answer /readyz.
	startup time.Duration
}

// floor is the floor of the progress watches on this server: stallFactor
// times its measured start, at least minFloor.
func (s *server) floor() time.Duration { return max(minFloor, stallFactor*s.startup) }

// startServer starts "vaxcert serve --dev" on data (and on the database
// dbURL unless empty), waits until /readyz answers 200 and reads the
// development staff tokens. A server still running at the end of the test
// is killed.
func startServer(t *testing.T, data, dbURL string) *server {
	t.Helper()
	addr := freeAddr(t)
	args := []string{"serve", "--dev", "--data", data, "--addr", addr}
	if dbURL != "" {
		args = append(args, "--db", dbURL)
	}
	logs, err := os.CreateTemp(t.TempDir(), "serve-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close() // the child holds its own descriptor
	s := &server{t: t, cmd: exec.Command(vaxcertBin, args...), base: "http://" + addr, logs: logs.Name(),
		exited: make(chan struct{})}
	// Standard output is the development banner (tokens, a demo person);
	// standard error the JSON logs, which carry no personal data.
	s.cmd.Stderr = logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start vaxcert serve: %v", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		if s.running() {
			s.kill()
		}
	})
	started := time.Now()
	deadline := started.Add(readyTimeout)
	for {
		res, err := apiClient.Get(s.base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-s.exited:
			s.fatalf("vaxcert serve exited before it was ready: %v", s.err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.fatalf("vaxcert serve not ready after %v", readyTimeout)
		}
	}
	s.startup = time.Since(started)
	b, err := os.ReadFile(filepath.Join(data, devTokensFile))
	if err != nil {
		s.fatalf("read the development tokens: %v", err)
	}
	if err := json.Unmarshal(b, &s.tokens); err != nil || s.tokens["UPLOADER"] == "" || s.tokens["FINALISER"] == "" {
		s.fatalf("%s holds no uploader and finaliser tokens (%v)", devTokensFile, err)
	}
	return s
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (s *server) running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the process to end.
func (s *server) kill() {
	s.t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		s.fatalf("kill vaxcert serve: %v", err)
	}
	<-s.exited
	if ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		s.fatalf("vaxcert serve ended with %v before the kill", s.err)
	}
}

// stop asks the server to shut down (SIGTERM) and waits for a clean exit.
func (s *server) stop() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.fatalf("stop vaxcert serve: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		s.kill()
		s.fatalf("vaxcert serve did not stop within a minute of SIGTERM")
	}
	if s.err != nil {
		s.fatalf("vaxcert serve exited with %v after SIGTERM", s.err)
	}
}

// fatalf fails the test, showing the end of the server's log (JSON lines
// without personal data).
func (s *server) fatalf(format string, args ...any) {
	s.t.Helper()
	s.logTail()
	s.t.Fatalf(format, args...)
}

// logTail logs the end of the server's log.
func (s *server) logTail() {
	s.t.Helper()
	if b, err := os.ReadFile(s.logs); err == nil {
		if len(b) > 4000 {
			b = b[len(b)-4000:]
			b = b[bytes.IndexByte(b, '\n')+1:]
		}
		s.t.Logf("end of the vaxcert serve log:\n%s", b)
	}
}

// request sends a bodiless API request with the development finaliser's
// token and returns the answer's status and body; it waits and retries
// while the rate limiter answers 429.
func (s *server) request(method, path string) (int, []byte) {
	s.t.Helper()
	for {
		req, err := http.NewRequest(method, s.base+path, nil)
		if err != nil {
			s.t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+s.tokens["FINALISER"])
		res, err := apiClient.Do(req)
		if err != nil {
			s.fatalf("%s %s: %v", method, path, err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			s.fatalf("%s %s: read the answer: %v", method, path, err)
		}
		if res.StatusCode != http.StatusTooManyRequests {
			return res.StatusCode, b
		}
		wait, err := strconv.Atoi(res.Header.Get("Retry-After"))
		if err != nil || wait < 1 {
			wait = 1
		}
		time.Sleep(time.Duration(wait) * time.Second)
	}
}

// job is the issuance job resource of the API.
type job struct {
	ID                                   string
	State                                string
	Total, Done, Issued, Blocked, Failed int64
}

// startJob starts a batch issuance (POST /v1/issuance-jobs) and returns the
// job and the status of the first answer that was not 409; while the
// answer is 409 (a job still counts as running), it retries for up to
// conflictFor.
func (s *server) startJob(conflictFor time.Duration) (job, int) {
	s.t.Helper()
	deadline := time.Now().Add(conflictFor)
	for {
		code, b := s.request(http.MethodPost, "/v1/issuance-jobs")
		if code == http.StatusConflict && time.Now().Before(deadline) {
			time.Sleep(250 * time.Millisecond)
			continue
		}
		if code != http.StatusAccepted {
			return job{}, code
		}
		var j job
		if err := json.Unmarshal(b, &j); err != nil || j.ID == "" {
			s.fatalf("POST /v1/issuance-jobs: not a job: %v", err)
		}
		return j, code
	}
}

// job returns a job's status (GET /v1/issuance-jobs/{id}).
func (s *server) job(id string) job {
	s.t.Helper()
	code, b := s.request(http.MethodGet, "/v1/issuance-jobs/"+id)
	var j job
	if code != http.StatusOK {
		s.fatalf("GET job: status %d: %s", code, b)
	}
	if err := json.Unmarshal(b, &j); err != nil {
		s.fatalf("GET job: %v", err)
	}
	return j
}

// jobPoll is how often a job's progress is read.
const jobPoll = 25 * time.Millisecond

// waitJob polls the job until it leaves the running state, or until it
// makes no progress for as long as its watch allows.
func (s *server) waitJob(id string) job {
	s.t.Helper()
	return s.pollJob(id, func(job) bool { return false })
}

// pollJob polls the job until it leaves the running state or until done
// says so, failing when its count of persons done stands still for longer
// than a watch allows (see [watch]).
func (s *server) pollJob(id string, done func(job) bool) job {
	s.t.Helper()
	w := newWatch("the job's persons done", s.floor(), time.Now())
	for {
		j := s.job(id)
		if j.State != "running" || done(j) {
			return j
		}
		if err := w.see(j.Done, time.Now()); err != nil {
			s.fatalf("%v: %+v", err, j)
		}
		time.Sleep(jobPoll)
	}
}

// reportLine is one line of a bulk upload's report: a row, or the summary.
type reportLine struct {
	Row      int             `json:"row"`
	Site     string          `json:"site"`
	RecordID string          `json:"record_id"`
	Outcome  string          `json:"outcome"`
	Errors   json.RawMessage `json:"errors"`
	Summary  *summary        `json:"summary"`
	Error    json.RawMessage `json:"error"`
}

type summary struct {
	Rows      int `json:"rows"`
	Stored    int `json:"stored"`
	Already   int `json:"already_stored_by_this_batch"`
	Duplicate int `json:"duplicate_of_existing"`
	Merged    int `json:"merged_with_other_site"`
	Rejected  int `json:"rejected"`
}

// upload sends body to POST /v1/dose-records/batch as the development
// uploader and reads the streamed report, calling onRow after each row
// line. It returns the rows and the summary line read before the report
// ended, and the error that ended it early (nil after a summary line). A
// report that stops growing for longer than its watch allows fails the
// test.
func (s *server) upload(body []byte, onRow func(n int)) ([]reportLine, *reportLine, error) {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var reported atomic.Int64
	stalled := make(chan error, 1)
	go func() {
		w := newWatch("the upload report's rows", s.floor(), time.Now())
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				if err := w.see(reported.Load(), now); err != nil {
					stalled <- err
					cancel()
					return
				}
			}
		}
	}()
	defer func() {
		select {
		case err := <-stalled:
			s.fatalf("upload: %v", err)
		default:
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/v1/dose-records/batch", bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.tokens["UPLOADER"])
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		s.fatalf("upload: status %d: %s", res.StatusCode, b)
	}
	var rows []reportLine
	br := bufio.NewReader(res.Body)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			// A line without its newline was cut off by the kill: the
			// report ends before it.
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return rows, nil, err
		}
		var l reportLine
		if err := json.Unmarshal(line, &l); err != nil {
			s.fatalf("upload: report line %d: %v", len(rows)+1, err)
		}
		if l.Summary != nil {
			return rows, &l, nil
		}
		rows = append(rows, l)
		reported.Store(int64(len(rows)))
		if onRow != nil {
			onRow(len(rows))
		}
	}
}

// db is the service's database, opened directly while the server is down.
type db struct {
	t  *testing.T
	db *sql.DB
	pg bool
}

// openDB opens the database of a data folder: dbURL, or the SQLite file
// <data>/vaxcert.db when dbURL is empty.
func openDB(t *testing.T, data, dbURL string) *db {
	t.Helper()
	driver, dsn := "pgx", dbURL
	if dbURL == "" {
		driver, dsn = "sqlite", "file:"+filepath.Join(data, store.DefaultFile)+"?_busy_timeout=10000"
	}
	d, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("open the database: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return &db{t: t, db: d, pg: dbURL != ""}
}

func (d *db) close() {
	d.t.Helper()
	if err := d.db.Close(); err != nil {
		d.t.Fatalf("close the database: %v", err)
	}
}

// count runs a query returning one integer.
func (d *db) count(query string, args ...any) int64 {
	d.t.Helper()
	var n int64
	if err := d.db.QueryRow(d.rebind(query), args...).Scan(&n); err != nil {
		d.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// expect checks that each query (one integer) returns its value.
func (d *db) expect(checks []check) {
	d.t.Helper()
	for _, c := range checks {
		if got := d.count(c.query, c.args...); got != c.want {
			d.t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

// check is a query returning one integer and the value it must return.
type check struct {
	name  string
	want  int64
	query string
	args  []any
}

// rebind turns the "?" placeholders of query into PostgreSQL's "$n".
func (d *db) rebind(query string) string {
	if !d.pg {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// keys returns the (site, record_id) keys of every stored dose record as
// "site/record_id".
func (d *db) keys() []string {
	d.t.Helper()
	rows, err := d.db.Query("SELECT site, record_id FROM doses")
	if err != nil {
		d.t.Fatalf("read the dose keys: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var site, id string
		if err := rows.Scan(&site, &id); err != nil {
			d.t.Fatal(err)
		}
		out = append(out, site+"/"+id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		d.t.Fatalf("read the dose keys: %v", err)
	}
	return out
}
