package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const usage = `Usage:
    vaxbench [--db postgres://…] [--records 100000] [--doses 2] [--clients 100]
             [--duration 20s] [--warmup 3s] [--png 5] [--drafts] [--wrk] [--json]
    vaxbench --persons 100000,400000,1000000 [--db postgres://…] [--doses 2] [--drafts] [--intake] [--json]
    vaxbench --surge [--db postgres://…] [--records 20000] [--clients 64] [--duration 10s]
             [--shed-target 5ms]

Measure the issuer service end to end over loopback HTTP: bulk intake,
batch issuance (and the issuer library alone, for the ratio), memory as the
batch grows, the QR PNG cache and citizens' downloads under concurrent load.
Everything runs on a throwaway deployment (temporary keys, identity provider
and database) that is removed at the end.

Flags:
    --db URL         PostgreSQL instead of SQLite: a fresh schema is created in
                     that database and dropped at the end
    --records N      synthetic persons, one certificate each (default 100000)
    --persons N,...  a sweep: for each size, a fresh database grown by ingest
                     (finalise) and issuance only, with the CPU cost per item
                     (this process and the database backends) by tenth of
                     each phase: flat means the cost does not grow with the
                     database
    --intake         with --persons: the intake path only (ingest, and
                     finalise with --drafts), no issuance: for sizes where
                     issuing every certificate would take hours
    --doses D        finalised doses per person, 1 to 9 (default 2)
    --drafts         upload the doses as drafts, then finalise them through
                     POST /v1/dose-records/finalise
    --clients C      concurrent citizen clients of the load test (default 100)
    --duration DUR   measured length of the load test (default 20s)
    --warmup DUR     unmeasured load before it (default 3s)
    --png N          citizens whose QR PNG is downloaded twice (default 5)
    --wrk            repeat the load test with wrk(1), from its own process
    --surge          the citizen surge: citizens' reads from --clients × 1, 2,
                     5 and 10 clients (refused ones retry after 50 ms), each
                     stage --duration after --warmup; prints admitted and
                     refused rates and latencies, errors and memory, and
                     whether each stage degraded gracefully
    --shed-target DUR  with --surge: the server's load shedding target (its
                     default 5ms; 0: no shedding, to compare); the other
                     measurements run without shedding, as without rate
                     limits: they measure what the service serves
    --json           print one JSON object instead of the table
    --cpuprofile F   write a CPU profile of this process during the batch
                     issuance to F (go tool pprof F)

Progress goes to standard error. Exit status: 0 after a complete run
(targets met or not), 1 when a step failed, 2 for a usage error.

Example:
    $ go run ./cmd/vaxbench
    $ go run ./cmd/vaxbench --records 50000 --json > sqlite-50k.json
    $ go run ./cmd/vaxbench --db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
`

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// options are the parsed command line.
type options struct {
	dbURL                   string
	records, doses, clients int
	persons                 []int // the sweep
	pngSamples              int
	duration, warmup        time.Duration
	drafts, wrk, jsonOut    bool
	surge                   bool
	intake                  bool // the sweep stops after ingest (and finalise)
	// shedTarget is the surge's server.Config.ShedTarget: 0 the
	// server's default, negative none.
	shedTarget time.Duration
	cpuProfile string
}

// maxClients bounds --clients (each client holds a connection).
const maxClients = 10_000

// maxSweepPersons bounds --records and --persons.
const maxSweepPersons = 20_000_000

// usageError is a malformed command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func parseArgs(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("vaxbench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.dbURL, "db", "", "")
	fs.IntVar(&o.records, "records", 100_000, "")
	persons := fs.String("persons", "", "")
	fs.IntVar(&o.doses, "doses", 2, "")
	fs.IntVar(&o.clients, "clients", 100, "")
	fs.IntVar(&o.pngSamples, "png", 5, "")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "")
	fs.BoolVar(&o.drafts, "drafts", false, "")
	fs.BoolVar(&o.intake, "intake", false, "")
	fs.BoolVar(&o.wrk, "wrk", false, "")
	fs.BoolVar(&o.jsonOut, "json", false, "")
	fs.BoolVar(&o.surge, "surge", false, "")
	shedSet := false
	fs.Func("shed-target", "", func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return errors.New("--shed-target takes a duration, 0 for no shedding")
		}
		o.shedTarget, shedSet = cmp.Or(d, -1), true
		return nil
	})
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, &usageError{err.Error()}
	}
	var bad string
	for _, f := range strings.Split(*persons, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil || n < 1 || n > maxSweepPersons {
			bad = fmt.Sprintf("--persons takes sizes between 1 and %d, separated by commas", maxSweepPersons)
		}
		o.persons = append(o.persons, n)
	}
	switch {
	case bad != "":
	case o.surge && len(o.persons) > 0:
		bad = "--surge and --persons exclude each other"
	case shedSet && !o.surge:
		bad = "--shed-target is a surge option: give --surge too"
	case o.intake && len(o.persons) == 0:
		bad = "--intake is a sweep option: give --persons too"
	case fs.NArg() > 0:
		bad = fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	case o.dbURL != "" && !strings.HasPrefix(o.dbURL, "postgres://") && !strings.HasPrefix(o.dbURL, "postgresql://"):
		bad = "--db takes a postgres:// URL (SQLite is the default)"
	case o.records < 1 || o.records > maxSweepPersons:
		bad = fmt.Sprintf("--records must be between 1 and %d", maxSweepPersons)
	case o.doses < 1 || o.doses > 9:
		bad = "--doses must be between 1 and 9"
	case o.clients < 1 || o.clients > maxClients:
		bad = fmt.Sprintf("--clients must be between 1 and %d", maxClients)
	case o.pngSamples < 0:
		bad = "--png must not be negative"
	case o.duration <= 0 || o.warmup < 0:
		bad = "--duration must be positive and --warmup not negative"
	}
	if bad != "" {
		return o, &usageError{bad}
	}
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "vaxbench: error: %v\n", err)
		fmt.Fprintln(stderr, `vaxbench: hint: run "vaxbench --help" for usage`)
		return exitUsage
	}
	if o.surge {
		return runSurge(ctx, o, stdout, stderr)
	}
	if len(o.persons) > 0 {
		return runSweep(ctx, o, stdout, stderr)
	}
	res, err := measure(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "vaxbench: error: %v\n", err)
		return exitFailed
	}
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(res)
	} else {
		err = writeTable(stdout, res)
	}
	if err != nil {
		fmt.Fprintf(stderr, "vaxbench: error: %v\n", err)
		return exitFailed
	}
	return exitOK
}
