//go:build crash && scaleout

package crashtest

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/internal/store/storetest"
)

// scaleoutPersons is the data set of the scale-out test
// (VAXCERT_SCALEOUT_PERSONS overrides it).
func scaleoutPersons(t *testing.T) int {
	if v := os.Getenv("VAXCERT_SCALEOUT_PERSONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			t.Fatalf("VAXCERT_SCALEOUT_PERSONS=%q: want a number of at least 100", v)
		}
		return n
	}
	return 20_000
}

// TestScaleOut runs the batch issuance on several "vaxcert serve"
// processes sharing one PostgreSQL database: one starts the job, the
// others join it (POST /v1/issuance-jobs/{id}/workers). With three
// workers, one is SIGKILLed a fifth of the way through: the job still
// ends done and every person holds exactly one certificate. Then the same
// data set is issued by 1, 2 and 4 workers, and the rates are logged.
func TestScaleOut(t *testing.T) {
	if os.Getenv(storetest.EnvPostgres) == "" {
		t.Fatalf("make scaleout needs PostgreSQL: set %s", storetest.EnvPostgres)
	}
	n := scaleoutPersons(t)
	var body bytes.Buffer
	if err := service.WriteSyntheticNDJSON(&body, devSite, n, dosesPerPerson, firstID); err != nil {
		t.Fatal(err)
	}
	t.Run("sigkill", func(t *testing.T) {
		servers, d := scaleoutSetup(t, body.Bytes(), n, 3)
		id := startWorkers(servers)
		servers[0].pollJob(id, func(j job) bool { return j.Done >= int64(n/5) })
		servers[1].kill()
		killedAt := servers[0].job(id)
		t.Logf("worker 2 of 3 SIGKILLed at %d of %d persons", killedAt.Done, n)
		if killedAt.Done >= int64(n) {
			t.Fatal("the job ended before the kill; make the data set bigger")
		}
		got := servers[0].waitJob(id)
		want := job{ID: id, State: "done", Total: int64(n), Done: int64(n), Issued: int64(n)}
		if got != want {
			servers[2].t.Logf("job after the kill: %+v, want %+v", got, want)
			servers[2].logTail()
			servers[0].fatalf("job after the kill: %+v, want %+v", got, want)
		}
		d.expect([]check{
			{name: "certificates", want: int64(n), query: "SELECT COUNT(*) FROM certificates"},
			{name: "persons with a certificate", want: int64(n), query: "SELECT COUNT(DISTINCT person_id) FROM certificates"},
			{name: "current certificates", want: int64(n), query: "SELECT COUNT(*) FROM certificates WHERE status = 'current'"},
			{name: "revocations", want: 0, query: "SELECT COUNT(*) FROM revocations"},
			{name: "pending", want: 0, query: "SELECT COUNT(*) FROM pending_issuance"},
			{name: "workers still working", want: 0, query: "SELECT COUNT(*) FROM job_workers WHERE finished_at IS NULL"},
		})
	})
	for _, workers := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("%d workers", workers), func(t *testing.T) {
			servers, d := scaleoutSetup(t, body.Bytes(), n, workers)
			start := time.Now()
			id := startWorkers(servers)
			got := servers[0].waitJob(id)
			elapsed := time.Since(start)
			if got.State != "done" || got.Issued != int64(n) {
				t.Fatalf("job %+v, want done with %d issued", got, n)
			}
			d.expect([]check{{name: "persons with a certificate", want: int64(n),
				query: "SELECT COUNT(DISTINCT person_id) FROM certificates"}})
			t.Logf("SCALEOUT workers=%d persons=%d seconds=%.2f per_second=%.0f load_average=%s", workers, n,
				elapsed.Seconds(), float64(n)/elapsed.Seconds(), loadAverage())
		})
	}
}

// scaleoutSetup starts workers servers on one new PostgreSQL schema and
// uploads the persons through the first.
func scaleoutSetup(t *testing.T, body []byte, n, workers int) ([]*server, *db) {
	t.Helper()
	data, dbURL := t.TempDir(), storetest.URL(t, "postgres")
	servers := []*server{startServer(t, data, dbURL)}
	_, end, err := servers[0].upload(body, nil)
	if err != nil || end == nil || end.Summary.Stored != n*dosesPerPerson {
		servers[0].fatalf("upload: %v, summary %+v", err, end)
	}
	for range workers - 1 {
		servers = append(servers, startServer(t, data, dbURL))
	}
	return servers, openDB(t, data, dbURL)
}

// startWorkers starts a job on the first server and joins the others to it.
func startWorkers(servers []*server) string {
	j, code := servers[0].startJob(0)
	if code != http.StatusAccepted {
		servers[0].fatalf("start the job: status %d", code)
	}
	for _, s := range servers[1:] {
		if code, b := s.request(http.MethodPost, "/v1/issuance-jobs/"+j.ID+"/workers"); code != http.StatusAccepted {
			s.fatalf("join the job: status %d: %s", code, b)
		}
	}
	return j.ID
}

// loadAverage is the 1-minute load average, as text.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}
