package main

import (
	"context"
	"database/sql"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CPU cost per item, by tenth of a phase: whether a step stays flat as the
// database grows. The cost is this process's CPU time (client, HTTP server
// and service: they share the process) plus, on PostgreSQL, the CPU time
// of the database backends serving it (found by application_name in
// pg_stat_activity and read from /proc, so only on the same Linux
// machine), divided by the items done in that tenth. CPU time, unlike
// wall time, does not grow when other work shares the machine.

// appName is the application_name of the harness's database sessions:
// "vaxbench-<pid>", so that two runs at once on one database (a sweep
// and an A/B run) do not count each other's backends.
var appName = "vaxbench-" + strconv.Itoa(os.Getpid())

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat times.
const clockTicks = 100

// costEvery is how often the tracker looks at progress and CPU.
const costEvery = 100 * time.Millisecond

// Tenth is one tenth of a phase's items.
type Tenth struct {
	// Done is the items done at its end; Seconds the wall time it took.
	Done    int64   `json:"done"`
	Seconds float64 `json:"seconds"`
	// AppCPUus and DBCPUus are CPU microseconds per item spent in this
	// process and in the database backends (0 on SQLite, which runs in
	// this process).
	AppCPUus float64 `json:"app_cpu_us_per_item"`
	DBCPUus  float64 `json:"db_cpu_us_per_item"`
}

// CPUus is the total CPU cost per item.
func (t Tenth) CPUus() float64 { return t.AppCPUus + t.DBCPUus }

// costTracker samples progress and CPU time during a phase.
type costTracker struct {
	total    int64
	progress func() int64
	db       *backendCPU

	stop    chan struct{}
	wg      sync.WaitGroup
	tenths  []Tenth
	lastApp time.Duration
	lastDB  time.Duration
	lastAt  time.Time
	lastN   int64
}

// startCost starts tracking a phase of total items (nothing when total is
// 0); db may be nil.
func startCost(total int64, progress func() int64, db *backendCPU) *costTracker {
	c := &costTracker{total: total, progress: progress, db: db, stop: make(chan struct{}), lastAt: time.Now(),
		lastApp: processCPU(), lastDB: db.cpu()}
	if total <= 0 {
		return c
	}
	c.wg.Go(func() {
		t := time.NewTicker(costEvery)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				c.sample(true)
				return
			case <-t.C:
				c.sample(false)
			}
		}
	})
	return c
}

// sample closes every tenth whose boundary progress has passed (and, at
// the end, the last one).
func (c *costTracker) sample(final bool) {
	dbNow := c.db.cpu() // accumulate backends even between boundaries
	done := c.progress()
	next := c.total * int64(len(c.tenths)+1) / 10
	if len(c.tenths) >= 10 || (done < next && !(final && done > c.lastN)) {
		return
	}
	now, app := time.Now(), processCPU()
	n := done - c.lastN
	if n <= 0 {
		return
	}
	c.tenths = append(c.tenths, Tenth{Done: done, Seconds: now.Sub(c.lastAt).Seconds(),
		AppCPUus: float64((app - c.lastApp).Microseconds()) / float64(n),
		DBCPUus:  float64((dbNow - c.lastDB).Microseconds()) / float64(n)})
	c.lastN, c.lastAt, c.lastApp, c.lastDB = done, now, app, dbNow
}

// finish stops tracking and returns the tenths.
func (c *costTracker) finish() []Tenth {
	close(c.stop)
	c.wg.Wait()
	return c.tenths
}

// processCPU is this process's user + system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendCPU accumulates the CPU time of the PostgreSQL backends serving
// the harness. A nil *backendCPU reports 0.
type backendCPU struct {
	db *sql.DB

	mu    sync.Mutex
	last  map[int]time.Duration
	total time.Duration
}

// newBackendCPU watches the backends of sessions named appName, through a
// connection to url of its own.
func newBackendCPU(url string) (*backendCPU, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return &backendCPU{db: db, last: map[int]time.Duration{}}, nil
}

// cpu returns the backends' CPU time accumulated so far: for each backend
// seen, what it used since it was last seen (all of it when new).
func (b *backendCPU) cpu() time.Duration {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	rows, err := b.db.QueryContext(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1", appName)
	if err != nil {
		return b.total
	}
	defer rows.Close()
	seen := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) != nil {
			continue
		}
		t, ok := procCPU(pid)
		if !ok {
			continue
		}
		seen[pid] = t
		if t > b.last[pid] {
			b.total += t - b.last[pid]
		}
	}
	b.last = seen
	return b.total
}

func (b *backendCPU) close() error {
	if b == nil {
		return nil
	}
	return b.db.Close()
}

// procCPU reads utime + stime of a process from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(raw)
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+st) * time.Second / clockTicks, true
}

// flatness is the last tenth's CPU cost per item over the first's (0 when
// unknown).
func flatness(ts []Tenth) float64 {
	if len(ts) < 2 || ts[0].CPUus() == 0 {
		return 0
	}
	return ts[len(ts)-1].CPUus() / ts[0].CPUus()
}
