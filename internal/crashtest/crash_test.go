//go:build crash

package crashtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/internal/store/storetest"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/keyfile"
	"github.com/vaxcert/vaxcert/verifier"
)

// vaxcertBin is the vaxcert binary TestMain builds.
var vaxcertBin string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

// buildAndRun builds the vaxcert binary into a temporary folder, from the
// module root, and runs the tests.
func buildAndRun(m *testing.M) int {
	bin, cleanup, err := testkit.BuildBinary("./cmd/vaxcert")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		return 1
	}
	defer cleanup()
	vaxcertBin = bin
	return m.Run()
}

// Synthetic data: persons with two finalised doses each, national ID
// numbers from firstID on.
const (
	dosesPerPerson = 2
	firstID        = 1_000_000_000
	// syntheticBirthDate is every synthetic person's birth date.
	syntheticBirthDate = "1990-04-12"
)

// errUnexpectedContent: a certificate verifies but does not hold the
// uploaded records.
var errUnexpectedContent = errors.New("crashtest: certificate content differs from the records")

// persons is the size of the data set: big enough that an upload and a
// batch issuance take long enough to be killed in the middle.
func persons() int {
	if testing.Short() {
		return 10_000
	}
	return 50_000
}

// TestCrashSafety kills the server in the middle of a bulk upload and of a
// batch issuance, restarts it, repeats the requests and checks that every
// record is stored exactly once and every person holds exactly one current
// certificate.
func TestCrashSafety(t *testing.T) {
	n := persons()
	var body bytes.Buffer
	if err := service.WriteSyntheticNDJSON(&body, devSite, n, dosesPerPerson, firstID); err != nil {
		t.Fatal(err)
	}
	want := uploadKeys(t, body.Bytes())
	if len(want) != n*dosesPerPerson {
		t.Fatalf("synthetic upload: %d distinct records, want %d", len(want), n*dosesPerPerson)
	}
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			var dbURL string
			if engine != "sqlite" {
				dbURL = storetest.URL(t, engine)
			}
			data := t.TempDir()
			if !t.Run("upload", func(t *testing.T) { killDuringUpload(t, data, dbURL, body.Bytes(), want) }) {
				return
			}
			t.Run("issuance", func(t *testing.T) { killDuringIssuance(t, data, dbURL, n) })
		})
	}
}

// uploadKeys returns the "site/record_id" keys of an NDJSON upload.
func uploadKeys(t *testing.T, ndjson []byte) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(ndjson))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec issuer.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		for _, d := range rec.Doses {
			keys[d.Site+"/"+d.RecordID] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// killDuringUpload streams the upload, kills the server once a fifth of the
// report has come back, restarts it, sends the same upload again and checks
// that every record is stored exactly once.
func killDuringUpload(t *testing.T, data, dbURL string, body []byte, want map[string]bool) {
	total := int64(len(want))
	srv := startServer(t, data, dbURL)
	killAt := int(total / 5)
	rows, end, err := srv.upload(body, func(n int) {
		if n == killAt {
			srv.kill()
		}
	})
	if end != nil || srv.running() {
		srv.fatalf("the upload ended (%d rows reported, %v) before the kill; make the data set bigger", len(rows), err)
	}
	t.Logf("report after the kill: %d rows, then %v", len(rows), err)

	d := openDB(t, data, dbURL)
	committed := d.count("SELECT COUNT(*) FROM doses")
	t.Logf("killed mid-upload: %d of %d dose records reported, %d committed", len(rows), total, committed)
	if committed <= 0 || committed >= total {
		t.Fatalf("%d of %d records committed at the kill: it did not land in the middle of the upload", committed, total)
	}
	if int64(len(rows)) > committed {
		t.Errorf("%d rows reported but only %d records committed", len(rows), committed)
	}
	stored := map[string]bool{}
	for _, k := range d.keys() {
		stored[k] = true
	}
	for _, r := range rows {
		if key := r.Site + "/" + r.RecordID; r.Outcome != "stored" || !stored[key] {
			t.Fatalf("row %d reported %q before the kill, stored: %v", r.Row, r.Outcome, stored[key])
		}
	}
	d.expect([]check{
		{name: "persons committed", want: committed / dosesPerPerson, query: "SELECT COUNT(*) FROM persons"},
		{name: "persons with some of their upload line's records", want: 0,
			query: "SELECT COUNT(*) FROM (SELECT person_id FROM doses GROUP BY person_id HAVING COUNT(*) <> ?) AS p",
			args:  []any{dosesPerPerson}},
	})
	d.close()

	srv = startServer(t, data, dbURL)
	start := time.Now()
	rows, end, err = srv.upload(body, nil)
	if err != nil {
		srv.fatalf("upload again: %v after %d rows", err, len(rows))
	}
	t.Logf("uploaded again after the restart: %d records in %v", len(rows), time.Since(start).Round(time.Millisecond))
	srv.stop()
	if len(end.Error) > 0 {
		t.Errorf("upload again stopped early: %s", end.Error)
	}
	wantSum := summary{Rows: len(want) / dosesPerPerson, Stored: int(total - committed), Duplicate: int(committed)}
	if *end.Summary != wantSum {
		t.Errorf("upload again: summary %+v, want %+v", *end.Summary, wantSum)
	}
	seen := map[string]int{}
	for _, r := range rows {
		key := r.Site + "/" + r.RecordID
		seen[key]++
		if (r.Outcome != "stored" && r.Outcome != "duplicate_of_existing") || !want[key] || len(r.Errors) > 0 {
			t.Fatalf("upload again: row %d %s %q (errors %s), want stored or duplicate_of_existing", r.Row, key, r.Outcome, r.Errors)
		}
		if r.Outcome == "duplicate_of_existing" && !stored[key] || r.Outcome == "stored" && stored[key] {
			t.Fatalf("upload again: row %d %q, stored before: %v", r.Row, r.Outcome, stored[key])
		}
	}
	for key := range want {
		if seen[key] != 1 {
			t.Fatalf("upload again: record %s reported %d times, want once", key, seen[key])
		}
	}

	d = openDB(t, data, dbURL)
	defer d.close()
	n := total / dosesPerPerson
	d.expect([]check{
		{name: "dose records", want: total, query: "SELECT COUNT(*) FROM doses"},
		{name: "(site, record_id) held twice", want: 0,
			query: "SELECT COUNT(*) FROM (SELECT site, record_id FROM doses GROUP BY site, record_id HAVING COUNT(*) > 1) AS k"},
		{name: "finalised first versions", want: total,
			query: "SELECT COUNT(*) FROM doses WHERE status = 'finalised' AND version = 1 AND merged_into IS NULL"},
		{name: "earlier versions", want: 0, query: "SELECT COUNT(*) FROM dose_history"},
		{name: "persons", want: n, query: "SELECT COUNT(*) FROM persons"},
		{name: "national IDs held twice", want: 0,
			query: "SELECT COUNT(*) FROM (SELECT national_id FROM persons GROUP BY national_id HAVING COUNT(*) > 1) AS p"},
		{name: "persons without exactly their records", want: 0,
			query: "SELECT COUNT(*) FROM (SELECT person_id FROM doses GROUP BY person_id HAVING COUNT(*) <> ?) AS p",
			args:  []any{dosesPerPerson}},
		{name: "persons pending issuance", want: n, query: "SELECT COUNT(*) FROM pending_issuance"},
		{name: "open reviews", want: 0, query: "SELECT COUNT(*) FROM reviews"},
	})
	got := d.keys()
	for _, k := range got {
		if !want[k] {
			t.Fatalf("stored record %s was not uploaded", k)
		}
	}
	if int64(len(got)) != total {
		t.Errorf("%d records stored, want %d", len(got), total)
	}
}

// killDuringIssuance starts a batch issuance for the n persons uploaded,
// kills the server while the job runs, restarts it, starts a new job and
// checks that every person holds exactly one current, verifiable
// certificate and that nothing was revoked.
func killDuringIssuance(t *testing.T, data, dbURL string, n int) {
	total := int64(n)
	srv := startServer(t, data, dbURL)
	j, code := srv.startJob(0)
	if code != http.StatusAccepted || j.Total != total {
		srv.fatalf("start the job: status %d, %+v; want 202 with %d persons", code, j, total)
	}
	last := srv.pollJob(j.ID, func(j job) bool { return j.Done >= total/10 })
	if last.State != "running" {
		srv.fatalf("the job ended before the kill (%+v); make the data set bigger", last)
	}
	srv.kill()

	d := openDB(t, data, dbURL)
	issued := d.count("SELECT COUNT(*) FROM certificates")
	pending := d.count("SELECT COUNT(*) FROM pending_issuance")
	t.Logf("killed mid-issuance: job reported %d of %d persons done, %d certificates committed, %d persons pending",
		last.Done, total, issued, pending)
	if issued <= 0 || issued >= total {
		t.Fatalf("%d of %d certificates committed at the kill: it did not land in the middle of the job", issued, total)
	}
	if issued < last.Issued {
		t.Errorf("the job reported %d issued, but only %d certificates are stored", last.Issued, issued)
	}
	d.expect([]check{
		{name: "current certificates", want: issued, query: "SELECT COUNT(*) FROM certificates WHERE status = 'current'"},
		{name: "persons either issued or pending, not both", want: total, query: "SELECT COUNT(*) FROM persons p WHERE " +
			"EXISTS (SELECT 1 FROM certificates c WHERE c.person_id = p.id) <> EXISTS (SELECT 1 FROM pending_issuance q WHERE q.person_id = p.id)"},
	})
	before := d.currentUVCIs()
	d.close()

	srv = startServer(t, data, dbURL)
	restarted := time.Now()
	// The killed process's job is interrupted at once (its lease holder is
	// gone), so the restarted server accepts a new job immediately.
	j2, code := srv.startJob(0)
	if code != http.StatusAccepted {
		srv.fatalf("start a job after the restart: status %d %v later, want 202 at once", code,
			time.Since(restarted).Round(time.Millisecond))
	}
	t.Logf("new job accepted %v after the restart", time.Since(restarted).Round(time.Millisecond))
	start := time.Now()
	got := srv.waitJob(j2.ID)
	t.Logf("the new job issued %d certificates in %v", got.Issued, time.Since(start).Round(time.Millisecond))
	wantJob := job{ID: j2.ID, State: "done", Total: pending, Done: pending, Issued: pending}
	if got != wantJob {
		t.Errorf("job after the restart: %+v, want %+v", got, wantJob)
	}
	if old := srv.job(j.ID); old.State != "interrupted" {
		t.Errorf("the killed job is %q, want interrupted", old.State)
	}
	j3, code := srv.startJob(0)
	if code != http.StatusAccepted {
		srv.fatalf("start a third job: status %d, want 202", code)
	}
	got = srv.waitJob(j3.ID)
	if wantJob = (job{ID: j3.ID, State: "done"}); got != wantJob {
		t.Errorf("job run again: %+v, want %+v (nothing left to issue)", got, wantJob)
	}
	srv.stop()

	d = openDB(t, data, dbURL)
	defer d.close()
	dsc := readDSC(t, filepath.Join(data, "keys"))
	d.expect([]check{
		{name: "certificates", want: total, query: "SELECT COUNT(*) FROM certificates"},
		{name: "current certificates", want: total, query: "SELECT COUNT(*) FROM certificates WHERE status = 'current'"},
		{name: "persons with a current certificate", want: total,
			query: "SELECT COUNT(DISTINCT person_id) FROM certificates WHERE status = 'current'"},
		{name: "persons with several current certificates", want: 0, query: "SELECT COUNT(*) FROM " +
			"(SELECT person_id FROM certificates WHERE status = 'current' GROUP BY person_id HAVING COUNT(*) <> 1) AS c"},
		{name: "persons with finalised records and no current certificate", want: 0, query: "SELECT COUNT(*) FROM persons p " +
			"WHERE EXISTS (SELECT 1 FROM doses d WHERE d.person_id = p.id AND d.status = 'finalised') " +
			"AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.person_id = p.id AND c.status = 'current')"},
		{name: "revocations", want: 0, query: "SELECT COUNT(*) FROM revocations"},
		{name: "persons pending issuance", want: 0, query: "SELECT COUNT(*) FROM pending_issuance"},
		{name: "certificates signed with another key", want: 0, query: "SELECT COUNT(*) FROM certificates WHERE kid <> ?",
			args: []any{keys.KID(dsc.Cert.Raw)}},
	})
	after := d.currentUVCIs()
	for p, uvci := range before {
		if after[p] != uvci {
			t.Fatalf("person %d: certificate issued before the kill replaced after it", p)
		}
	}
	d.verifyCertificates(dsc)
}

// readDSC reads the service's document signer certificate.
func readDSC(t *testing.T, keyDir string) *keys.TrustEntry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(keyDir, keyfile.DSCCertFile))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := keys.ParseCertificates(b)
	if err != nil || len(certs) != 1 {
		t.Fatalf("%s: %d certificates (%v), want 1", keyfile.DSCCertFile, len(certs), err)
	}
	e, err := keys.NewTrustEntry(certs[0])
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// verifyCertificates verifies every stored certificate's HC1 text against
// the DSC alone, at its issuance time, and checks its content.
func (d *db) verifyCertificates(dsc *keys.TrustEntry) {
	d.t.Helper()
	list, err := keys.NewTrustList(dsc.Cert)
	if err != nil {
		d.t.Fatal(err)
	}
	v, err := verifier.New(list)
	if err != nil {
		d.t.Fatal(err)
	}
	type cert struct {
		uvci, hc1 string
		issuedAt  int64
	}
	var certs []cert
	// The QR text is rebuilt from the stored COSE message, as the service
	// does (rows keep an empty hc1 since store migration 0008).
	rows, err := d.db.Query("SELECT uvci, cose, issued_at FROM certificates")
	if err != nil {
		d.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var c cert
		var cose []byte
		if err := rows.Scan(&c.uvci, &cose, &c.issuedAt); err != nil {
			d.t.Fatal(err)
		}
		c.hc1 = string(hcert.AppendHC1(nil, cose))
		certs = append(certs, c)
	}
	if err := rows.Err(); err != nil {
		d.t.Fatal(err)
	}
	start := time.Now()
	errs := make([]error, len(certs))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(certs); i += workers {
				c := certs[i]
				res, err := v.Verify([]byte(c.hc1), time.UnixMicro(c.issuedAt))
				switch dcc := res.DCC(); {
				case err != nil:
					errs[i] = err
				case dcc == nil || len(dcc.V) != 1 || dcc.V[0].CI != c.uvci || dcc.V[0].DN != dosesPerPerson ||
					dcc.V[0].SD != dosesPerPerson || dcc.Dob != syntheticBirthDate:
					errs[i] = errUnexpectedContent
				}
			}
		})
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err != nil {
			if failed++; failed <= 5 {
				d.t.Errorf("certificate %d of %d: %v", i, len(certs), err)
			}
		}
	}
	if failed > 0 {
		d.t.Errorf("%d of %d certificates failed", failed, len(certs))
	}
	d.t.Logf("verified %d certificates against the DSC in %v", len(certs), time.Since(start).Round(time.Millisecond))
}

// currentUVCIs maps each person key to the UVCI of their current
// certificate.
func (d *db) currentUVCIs() map[int64]string {
	d.t.Helper()
	rows, err := d.db.Query("SELECT person_id, uvci FROM certificates WHERE status = 'current'")
	if err != nil {
		d.t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var p int64
		var uvci string
		if err := rows.Scan(&p, &uvci); err != nil {
			d.t.Fatal(err)
		}
		out[p] = uvci
	}
	if err := rows.Err(); err != nil {
		d.t.Fatal(err)
	}
	return out
}
