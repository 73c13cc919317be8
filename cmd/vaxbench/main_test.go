package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/internal/store/storetest"
)

// TestRun runs the whole benchmark, small, on each engine and checks the
// counts it reports.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end benchmark run skipped in -short mode")
	}
	for _, tc := range []struct {
		name   string
		engine string
		drafts bool
	}{
		{"sqlite", "sqlite", false},
		{"sqlite drafts", "sqlite", true},
		{"postgres", "postgres", false},
		{"postgres drafts", "postgres", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// 600 records × 2 doses: two finalise requests, one of them full.
			args := []string{"--records", "600", "--doses", "2", "--clients", "3", "--png", "2",
				"--duration", "300ms", "--warmup", "100ms", "--json"}
			if tc.engine == "postgres" {
				pg := os.Getenv(storetest.EnvPostgres)
				if pg == "" {
					t.Skipf("PostgreSQL run skipped: set %s to a database URL", storetest.EnvPostgres)
				}
				args = append(args, "--db", pg)
			}
			if tc.drafts {
				args = append(args, "--drafts")
			}
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			schemas := countSchemas(t, tc.engine)
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), args, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit status %d, stderr:\n%s", code, stderr.String())
			}
			var r Result
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatalf("output is not one JSON result: %v\n%s", err, stdout.String())
			}
			if r.Engine != tc.engine || r.Records != 600 || r.DosesPerRecord != 2 || r.UploadedAsDrafts != tc.drafts {
				t.Errorf("run description %+v", r)
			}
			for _, p := range []struct {
				name  string
				got   Phase
				items int64
				unit  string
			}{
				{"ingest", r.Ingest, 600, "records"},
				{"issue", r.Issue, 600, "certificates"},
				{"library", r.Library, 600, "certificates"},
			} {
				if p.got.Items != p.items || p.got.Unit != p.unit || p.got.Seconds <= 0 || p.got.PerSecond <= 0 {
					t.Errorf("%s: %+v", p.name, p.got)
				}
			}
			if r.Ingest.Doses != 1200 {
				t.Errorf("ingest doses %d, want 1200", r.Ingest.Doses)
			}
			switch {
			case tc.drafts && (r.Finalise == nil || r.Finalise.Items != 1200 || r.Finalise.Unit != "doses"):
				t.Errorf("finalise %+v, want 1200 doses", r.Finalise)
			case !tc.drafts && r.Finalise != nil:
				t.Errorf("finalise %+v without --drafts", r.Finalise)
			}
			for _, p := range []Phase{r.Ingest, r.Issue} {
				if len(p.Memory) != len(progressMarks) || p.Memory[3].Percent != 100 || p.Memory[3].Samples == 0 ||
					p.Memory[3].HeapInuseMiB <= 0 {
					t.Errorf("%s memory %+v", p.Unit, p.Memory)
				}
			}
			if r.ServiceToLibrary != r.Issue.PerSecond/r.Library.PerSecond {
				t.Errorf("ratio %v, want %v", r.ServiceToLibrary, r.Issue.PerSecond/r.Library.PerSecond)
			}
			if len(r.PNG.FirstMS) != 2 || len(r.PNG.SecondMS) != 2 {
				t.Errorf("png %+v, want 2 citizens", r.PNG)
			}
			l := r.Load
			if l.Clients != 3 || l.Errors != 0 || l.All.Requests == 0 ||
				l.All.Requests != l.List.Requests+l.Cert.Requests || l.Cert.P99 <= 0 || l.Cert.P99 > l.Cert.Max {
				t.Errorf("load %+v", l)
			}
			if left, err := os.ReadDir(tmp); err != nil || len(left) != 0 {
				t.Errorf("temporary files left behind: %v %v", left, err)
			}
			if n := countSchemas(t, tc.engine); n != schemas {
				t.Errorf("%d vaxbench schemas after the run, %d before", n, schemas)
			}
			for _, pii := range []string{nationalID(0), nationalID(599), "Nguyễn", "1990-04-12"} {
				if strings.Contains(stdout.String()+stderr.String(), pii) {
					t.Errorf("output holds personal data %q", pii)
				}
			}
		})
	}
}

// countSchemas counts the vaxbench schemas in the PostgreSQL test
// database (0 for SQLite).
func countSchemas(t *testing.T, engine string) int {
	t.Helper()
	if engine != "postgres" {
		return 0
	}
	db, err := sql.Open("pgx", os.Getenv(storetest.EnvPostgres))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'vaxbench\_%'`).
		Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRunTable checks the human output of a tiny run.
func TestRunTable(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end benchmark run skipped in -short mode")
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--records", "8", "--clients", "2", "--png", "1", "--duration", "100ms",
		"--warmup", "0s"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit status %d, stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"ingest", "issue (service)", "issue (library alone)", "service / library",
		"heap in use", "RSS", "QR PNG download", "citizen load: 2 clients", routeMyCert} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "vaxbench: ingest 16/16 doses") {
		t.Errorf("no final ingest progress line:\n%s", stderr.String())
	}
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    options // checked when wantErr is nil
		wantErr error
	}{
		{name: "defaults", want: options{records: 100_000, doses: 2, clients: 100, pngSamples: 5,
			duration: 20e9, warmup: 3e9}},
		{name: "postgres", args: []string{"--db", "postgres://u@h/db", "--records", "50000", "--json", "--drafts"},
			want: options{dbURL: "postgres://u@h/db", records: 50_000, doses: 2, clients: 100, pngSamples: 5,
				duration: 20e9, warmup: 3e9, jsonOut: true, drafts: true}},
		{name: "sweep", args: []string{"--persons", "100_000, 400000,1000000"},
			want: options{records: 100_000, doses: 2, clients: 100, pngSamples: 5, duration: 20e9, warmup: 3e9,
				persons: []int{100_000, 400_000, 1_000_000}}},
		{name: "intake sweep", args: []string{"--persons", "1000", "--intake", "--drafts"},
			want: options{records: 100_000, doses: 2, clients: 100, pngSamples: 5, duration: 20e9, warmup: 3e9,
				persons: []int{1000}, intake: true, drafts: true}},
		{name: "intake without sweep", args: []string{"--intake"}, wantErr: &usageError{}},
		{name: "surge without shedding", args: []string{"--surge", "--shed-target", "0"},
			want: options{records: 100_000, doses: 2, clients: 100, pngSamples: 5, duration: 20e9, warmup: 3e9,
				surge: true, shedTarget: -1}},
		{name: "surge shed target", args: []string{"--surge", "--shed-target", "2ms"},
			want: options{records: 100_000, doses: 2, clients: 100, pngSamples: 5, duration: 20e9, warmup: 3e9,
				surge: true, shedTarget: 2e6}},
		{name: "shed target without surge", args: []string{"--shed-target", "2ms"}, wantErr: &usageError{}},
		{name: "negative shed target", args: []string{"--surge", "--shed-target", "-1ms"}, wantErr: &usageError{}},
		{name: "bad sweep", args: []string{"--persons", "100,x"}, wantErr: &usageError{}},
		{name: "huge sweep", args: []string{"--persons", "30000000"}, wantErr: &usageError{}},
		{name: "help", args: []string{"--help"}, wantErr: flag.ErrHelp},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: &usageError{}},
		{name: "argument", args: []string{"extra"}, wantErr: &usageError{}},
		{name: "sqlite url", args: []string{"--db", "bench.db"}, wantErr: &usageError{}},
		{name: "no records", args: []string{"--records", "0"}, wantErr: &usageError{}},
		{name: "too many records", args: []string{"--records", "20000001"}, wantErr: &usageError{}},
		{name: "ten doses", args: []string{"--doses", "10"}, wantErr: &usageError{}},
		{name: "no clients", args: []string{"--clients", "0"}, wantErr: &usageError{}},
		{name: "negative png", args: []string{"--png", "-1"}, wantErr: &usageError{}},
		{name: "zero duration", args: []string{"--duration", "0s"}, wantErr: &usageError{}},
		{name: "negative warmup", args: []string{"--warmup", "-1s"}, wantErr: &usageError{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseArgs(tc.args)
			var ue *usageError
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr == nil && !reflect.DeepEqual(got, tc.want):
				t.Errorf("options %+v, want %+v", got, tc.want)
			case errors.Is(tc.wantErr, flag.ErrHelp) && !errors.Is(err, flag.ErrHelp):
				t.Errorf("error %v, want flag.ErrHelp", err)
			case errors.As(tc.wantErr, &ue) && !errors.As(err, &ue):
				t.Errorf("error %v, want a usage error", err)
			}
		})
	}
}

func TestRunExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		want       int
		wantStdout string
		wantStderr string
	}{
		{"help", []string{"-h"}, exitOK, "Usage:", ""},
		{"usage error", []string{"--records", "x"}, exitUsage, "", "vaxbench: hint:"},
		{"unreachable postgres", []string{"--db", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"}, exitFailed,
			"", "vaxbench: error:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(context.Background(), tc.args, &stdout, &stderr); got != tc.want {
				t.Fatalf("exit status %d, want %d; stderr:\n%s", got, tc.want, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantStdout) || !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
			}
		})
	}
}

// TestSweepIntake runs a two-size intake sweep on SQLite: ingest and
// finalise are measured for each size, issuance is not, and the table has
// no issue rows.
func TestSweepIntake(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end sweep skipped in -short mode")
	}
	t.Setenv("TMPDIR", t.TempDir())
	args := []string{"--persons", "200,400", "--intake", "--drafts", "--json"}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit status %d, stderr:\n%s", code, stderr.String())
	}
	var rs []*Result
	if err := json.Unmarshal(stdout.Bytes(), &rs); err != nil {
		t.Fatalf("output is not a JSON array of results: %v\n%s", err, stdout.String())
	}
	if len(rs) != 2 {
		t.Fatalf("%d results, want 2", len(rs))
	}
	for i, r := range rs {
		want := []int{200, 400}[i]
		switch {
		case r.Records != want || r.Ingest.Doses != int64(2*want):
			t.Errorf("size %d: %d records, %d doses ingested", want, r.Records, r.Ingest.Doses)
		case r.Finalise == nil || r.Finalise.Items != int64(2*want):
			t.Errorf("size %d: finalise %+v", want, r.Finalise)
		case r.Issue.Items != 0 || r.Issue.Unit != "":
			t.Errorf("size %d: issuance measured with --intake: %+v", want, r.Issue)
		}
	}
	var table bytes.Buffer
	if err := writeSweep(&table, rs); err != nil {
		t.Fatal(err)
	}
	if got := table.String(); !strings.Contains(got, "finalise (doses)") || strings.Contains(got, " issue ") {
		t.Errorf("sweep table:\n%s", got)
	}
}
