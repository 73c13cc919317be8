package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // registers driver "pgx"
	"modernc.org/sqlite"             // registers driver "sqlite"
)

// DefaultFile is the SQLite file name under the data folder.
const DefaultFile = "vaxcert.db"

//go:embed migrations/*.sql
var migrations embed.FS

// writeAttempts bounds the retries of a write transaction that hit a lock,
// a serialization failure or a unique-constraint race.
const writeAttempts = 6

// Store is the issuer service's database. It is safe for concurrent use.
type Store struct {
	d     *dialect
	write *sql.DB // SQLite: one connection, BEGIN IMMEDIATE
	read  *sql.DB // SQLite: read-only connections; PostgreSQL: same as write

	rebound sync.Map // query -> PostgreSQL form

	analyzer analyzer       // see analyze.go
	bg       sync.WaitGroup // background statistics checks
}

// Open opens the database at url and applies any pending migrations.
//
// url is "postgres://…" (or "postgresql://…") for PostgreSQL via pgx, or a
// SQLite file: "sqlite:///abs/path/vaxcert.db" or a bare path. SQLite runs in
// WAL mode with foreign keys on, synchronous=FULL (a commit survives a power
// loss) and a single writer connection whose transactions begin IMMEDIATE,
// next to a pool of read-only connections that keep their prepared
// statements.
func Open(ctx context.Context, url string) (*Store, error) {
	d, dsn, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	s := &Store{d: d}
	if d.postgres {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: failed to open database: %w", err)
		}
		db.SetMaxOpenConns(4 * runtime.GOMAXPROCS(0))
		db.SetMaxIdleConns(4 * runtime.GOMAXPROCS(0))
		s.write, s.read = db, db
	} else {
		w, err := sql.Open("sqlite", sqliteDSN(dsn, false))
		if err != nil {
			return nil, fmt.Errorf("store: failed to open database: %w", err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		w.SetConnMaxIdleTime(0)
		s.write = w
	}
	if err := s.write.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: failed to connect: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if !d.postgres {
		// Opened after the migration so the file is already in WAL mode.
		if s.read, err = openSQLiteReads(dsn, stmtCacheSize); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// openSQLiteReads opens the pool of read-only connections to the SQLite
// file at path, each keeping up to kept statements (see stmtcache.go).
func openSQLiteReads(path string, kept int) (*sql.DB, error) {
	base, err := sqlite.NewConnector(sqliteDSN(path, true))
	if err != nil {
		return nil, fmt.Errorf("store: failed to open database: %w", err)
	}
	r := sql.OpenDB(&stmtCacheConnector{base: base, size: kept})
	n := 2 * runtime.GOMAXPROCS(0)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return r, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.bg.Wait()
	var err error
	if s.read != nil && s.read != s.write {
		err = s.read.Close()
	}
	if s.write != nil {
		err = errors.Join(err, s.write.Close())
	}
	return err
}

// Ping checks that the database answers, on a read connection, reading
// no table: the readiness check runs it every few seconds.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("store: the database does not answer: %w", err)
	}
	return nil
}

// Engine reports "sqlite" or "postgres".
func (s *Store) Engine() string { return s.d.name }

// Tx is one database transaction. Its methods are the service's queries.
// A Tx is not safe for concurrent use and is only valid inside the function
// given to [Store.Read] or [Store.Write].
type Tx struct {
	s  *Store
	tx *sql.Tx
	// conn is the connection a PostgreSQL write transaction runs on, for
	// COPY (see insertRows); nil otherwise.
	conn *sql.Conn
	// persons holds the ids of the persons read or inserted in this
	// transaction, which therefore exist (see InsertCertificates).
	persons map[int64]bool
	// counts holds this write transaction's changes to the counters (see
	// counters.go).
	counts map[string]int64
}

// sawPersons records persons read or inserted in t.
func (t *Tx) sawPersons(ids ...int64) {
	if t.persons == nil {
		t.persons = make(map[int64]bool, len(ids))
	}
	for _, id := range ids {
		t.persons[id] = true
	}
}

// Read runs fn in a read-only transaction that sees one consistent snapshot.
func (s *Store) Read(ctx context.Context, fn func(*Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.d.postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.read.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: failed to begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(&Tx{s: s, tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: failed to commit: %w", err)
	}
	return nil
}

// Write runs fn in a write transaction and commits it if fn returns nil;
// otherwise nothing fn wrote is kept. When the database reports a lock, a
// serialization failure or a unique-constraint race, the whole transaction
// is retried (fn must therefore only have effects through tx, or reset its
// own state on entry). A unique-constraint race that persists is
// [ErrConflict]; a lock or serialization failure that persists is [ErrBusy]
// (which also matches ErrConflict): retryable, nothing was written.
func (s *Store) Write(ctx context.Context, fn func(*Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = s.writeOnce(ctx, fn)
		kind := classify(err)
		if err == nil {
			s.afterWrite()
			return nil
		}
		if kind == errOther {
			return err
		}
		if attempt == writeAttempts {
			if kind == errRetry {
				return fmt.Errorf("%w: %w: %v", ErrBusy, ErrConflict, err)
			}
			return fmt.Errorf("%w: %v", ErrConflict, err)
		}
		// Jittered, growing backoff, so that writers that collided do not
		// collide again in step.
		wait := time.Duration(attempt*attempt)*5*time.Millisecond + time.Duration(rand.Int64N(int64(10*time.Millisecond)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (s *Store) writeOnce(ctx context.Context, fn func(*Tx) error) error {
	t := &Tx{s: s}
	var err error
	if s.d.postgres {
		// On a connection of its own, which insertRows reaches for COPY.
		if t.conn, err = s.write.Conn(ctx); err != nil {
			return fmt.Errorf("store: failed to begin: %w", err)
		}
		defer t.conn.Close()
		t.tx, err = t.conn.BeginTx(ctx, nil)
	} else {
		t.tx, err = s.write.BeginTx(ctx, nil)
	}
	if err != nil {
		return fmt.Errorf("store: failed to begin: %w", err)
	}
	defer t.tx.Rollback()
	if err := fn(t); err != nil {
		return err
	}
	if err := t.flushCounts(ctx); err != nil {
		return err
	}
	if err := t.tx.Commit(); err != nil {
		return fmt.Errorf("store: failed to commit: %w", err)
	}
	return nil
}

func (s *Store) sql(q string) string {
	if !s.d.postgres {
		return q
	}
	if v, ok := s.rebound.Load(q); ok {
		return v.(string)
	}
	r := s.d.rebind(q)
	s.rebound.Store(q, r)
	return r
}

func (t *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.s.sql(q), args...)
}

func (t *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.s.sql(q), args...)
}

func (t *Tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.s.sql(q), args...)
}

// scanRows runs query q and calls scan for each row. In a PostgreSQL write
// transaction the rows are read through pgx directly, on the transaction's
// connection: database/sql made each column a driver.Value first (an
// allocation per integer) and then converted it again, which cost batch
// issuance about 7 µs per certificate for reading the persons' two dose
// rows of 18 columns.
func (t *Tx) scanRows(ctx context.Context, q string, args []any, scan func(sc interface{ Scan(...any) error }) error) error {
	if t.conn != nil {
		return t.conn.Raw(func(dc any) error {
			c, ok := dc.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("store: driver connection %T cannot query directly", dc)
			}
			rows, err := c.Conn().Query(ctx, t.s.sql(q), args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			return eachRowOf(rows, scan)
		})
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return eachRowOf(rows, scan)
}

// eachRowOf calls scan for each row of rows (*sql.Rows or pgx.Rows).
func eachRowOf(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
}, scan func(sc interface{ Scan(...any) error }) error) error {
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// execN runs an UPDATE or DELETE and reports the rows it changed.
func (t *Tx) execN(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// insertRows inserts n rows into table; row(i) returns the values of row i
// in cols order. On PostgreSQL it is one COPY (see copyRows), on SQLite one
// multi-row INSERT per parameter-limited batch.
func (t *Tx) insertRows(ctx context.Context, table string, cols []string, n int, row func(i int) []any) error {
	if n == 0 {
		return nil
	}
	if t.conn != nil {
		if err := t.copyRows(ctx, table, cols, n, row); err != nil {
			return fmt.Errorf("store: failed to insert into %s: %w", table, err)
		}
		return nil
	}
	per := t.s.d.maxParams / len(cols)
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	for start := 0; start < n; start += per {
		end := min(start+per, n)
		var b strings.Builder
		b.Grow(len(head) + (end-start)*(len(one)+1))
		b.WriteString(head)
		args := make([]any, 0, (end-start)*len(cols))
		for i := start; i < end; i++ {
			if i > start {
				b.WriteByte(',')
			}
			b.WriteString(one)
			args = append(args, row(i)...)
		}
		if _, err := t.tx.ExecContext(ctx, t.s.d.rebind(b.String()), args...); err != nil {
			return fmt.Errorf("store: failed to insert into %s: %w", table, err)
		}
	}
	return nil
}

// copyRows inserts n rows into table with COPY … FROM STDIN in the binary
// format, on the transaction's connection (inside the transaction: one
// session). It replaced INSERT … SELECT FROM unnest(…) with one array
// parameter per column, which was planned once per connection too but
// built, grew and copied each array and then the Bind message: pgx now
// encodes each value once into its write buffer, and PostgreSQL inserts
// the rows in batches without decoding arrays or running a function scan.
// Measured in batch issuance (100,000 persons, backend CPU per statement):
// certificate rows 23 → 20 µs, audit rows 5.8 → 5.0 µs, dose rows 16 → 14
// µs; the service's own CPU for a certificate's two rows about 7 → 4 µs.
// The column types are described once per connection (pgx caches the
// description).
func (t *Tx) copyRows(ctx context.Context, table string, cols []string, n int, row func(i int) []any) error {
	return t.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: driver connection %T cannot COPY", dc)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			return row(i), nil
		}))
		return err
	})
}

// inValues calls fn with the condition that a column's value is one of
// values (to append to the column name) and its arguments: on PostgreSQL
// once, " = ANY(?)" with the values as one array parameter, so that the
// statement's text does not depend on len(values) and is parsed and
// planned once per connection; on SQLite " IN (?,?,…)" per batch of
// inBatch values. fn is not called for no values.
func inValues[K int64 | string](t *Tx, values []K, fn func(cond string, args []any) error) error {
	if len(values) == 0 {
		return nil
	}
	if t.s.d.postgres {
		return fn(" = ANY(?)", []any{values})
	}
	return batches(len(values), inBatch, func(start, end int) error {
		return fn(" IN "+inList(end-start), anys(values[start:end]))
	})
}

// inList returns "(?,?,…)" for n values.
func inList(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
}

// batches calls fn for consecutive index ranges of at most size elements.
func batches(n, size int, fn func(start, end int) error) error {
	for start := 0; start < n; start += size {
		if err := fn(start, min(start+size, n)); err != nil {
			return err
		}
	}
	return nil
}

// inBatch is the number of values bound to one IN list.
const inBatch = 1000

func anys[T any](v []T) []any {
	a := make([]any, len(v))
	for i := range v {
		a[i] = v[i]
	}
	return a
}

// micros and fromMicros convert times to and from the stored form.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(t), Valid: true}
}

// migrate applies the embedded migrations newer than the database's
// version, in one transaction.
func (s *Store) migrate(ctx context.Context) error {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("store: failed to list migrations: %w", err)
	}
	sort.Strings(files)
	return s.Write(ctx, func(tx *Tx) error {
		if s.d.postgres {
			// Two processes starting at once must not both migrate.
			if _, err := tx.exec(ctx, "SELECT pg_advisory_xact_lock(7262700)"); err != nil {
				return fmt.Errorf("store: failed to lock for migration: %w", err)
			}
		}
		if _, err := tx.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("store: failed to create schema_migrations: %w", err)
		}
		// A migration is applied when its version is not recorded, so
		// migrations written on parallel branches apply whatever order
		// they land in.
		applied := map[int]bool{}
		rows, err := tx.query(ctx, "SELECT version FROM schema_migrations")
		if err != nil {
			return fmt.Errorf("store: failed to read schema version: %w", err)
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return fmt.Errorf("store: failed to read schema version: %w", err)
			}
			applied[v] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: failed to read schema version: %w", err)
		}
		known := map[int]bool{}
		for _, f := range files {
			v, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(f, "migrations/"), "_", 2)[0])
			if err != nil {
				return fmt.Errorf("store: bad migration name %s", f)
			}
			known[v] = true
		}
		for v := range applied {
			if !known[v] {
				return fmt.Errorf("%w: database has migration %d, this program knows %d migrations", ErrSchemaVersion, v, len(files))
			}
		}
		for _, f := range files {
			name := strings.TrimPrefix(f, "migrations/")
			version, _ := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
			if applied[version] {
				continue
			}
			body, err := migrations.ReadFile(f)
			if err != nil {
				return fmt.Errorf("store: failed to read migration %s: %w", name, err)
			}
			for _, stmt := range splitSQL(s.d.expandMigration(string(body))) {
				stmt, run := s.d.migrationStatement(stmt)
				if !run {
					continue
				}
				if _, err := tx.exec(ctx, stmt); err != nil {
					return fmt.Errorf("store: failed to apply migration %s: %w", name, err)
				}
			}
			if _, err := tx.exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				version, name, micros(time.Now())); err != nil {
				return fmt.Errorf("store: failed to record migration %s: %w", name, err)
			}
		}
		return nil
	})
}

// splitSQL drops comment lines and splits a script at semicolons that end
// a line.
func splitSQL(script string) []string {
	var out []string
	var b strings.Builder
	for _, line := range strings.Split(script, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			if stmt := strings.TrimSpace(b.String()); stmt != ";" {
				out = append(out, stmt)
			}
			b.Reset()
		}
	}
	if stmt := strings.TrimSpace(b.String()); stmt != "" {
		out = append(out, stmt)
	}
	return out
}

// idMap runs query, which selects a key and a value column and ends with
// the key column's name, for the ids (see inValues) and returns the map of
// keys to values.
func (t *Tx) idMap(ctx context.Context, query string, ids []int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(ids))
	err := t.eachRow(ctx, query, ids, func(rows *sql.Rows) error {
		var k, v int64
		err := rows.Scan(&k, &v)
		out[k] = v
		return err
	})
	return out, err
}

// idSet runs query, which ends with a column name, for the ids (see
// inValues) and returns the set of the single id column it selects.
func (t *Tx) idSet(ctx context.Context, query string, ids []int64) (map[int64]bool, error) {
	out := make(map[int64]bool, len(ids))
	err := t.eachRow(ctx, query, ids, func(rows *sql.Rows) error {
		var id int64
		err := rows.Scan(&id)
		out[id] = true
		return err
	})
	return out, err
}

// eachRow runs query, which ends with a column name, for the ids (see
// inValues) and calls scan for each row.
func (t *Tx) eachRow(ctx context.Context, query string, ids []int64, scan func(*sql.Rows) error) error {
	return inValues(t, ids, func(in string, args []any) error {
		rows, err := t.query(ctx, query+in, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}
