package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"
)

// fakeConn is a driver connection that counts what the cache asks of it.
type fakeConn struct {
	sqliteConn // nil: only the methods below are called
	prepared   map[string]int
	direct     int // uncached queries
	open       int // statements prepared and not closed
	failNext   bool
}

type fakeStmt struct {
	c      *fakeConn
	query  string
	closed bool
}

type fakeRows struct{ closed bool }

func (r *fakeRows) Columns() []string         { return []string{"x"} }
func (r *fakeRows) Close() error              { r.closed = true; return nil }
func (r *fakeRows) Next([]driver.Value) error { return io.EOF }

func (c *fakeConn) PrepareContext(_ context.Context, q string) (driver.Stmt, error) {
	c.prepared[q]++
	c.open++
	return &fakeStmt{c: c, query: q}, nil
}

func (c *fakeConn) QueryContext(context.Context, string, []driver.NamedValue) (driver.Rows, error) {
	c.direct++
	return &fakeRows{}, nil
}

func (c *fakeConn) Close() error { return nil }

func (s *fakeStmt) Close() error {
	if s.closed {
		return errors.New("closed twice")
	}
	s.closed = true
	s.c.open--
	return nil
}
func (s *fakeStmt) NumInput() int                              { return -1 }
func (s *fakeStmt) Exec([]driver.Value) (driver.Result, error) { return nil, errors.New("unused") }
func (s *fakeStmt) Query([]driver.Value) (driver.Rows, error)  { return nil, errors.New("unused") }
func (s *fakeStmt) QueryContext(context.Context, []driver.NamedValue) (driver.Rows, error) {
	if s.closed {
		return nil, errors.New("query on a closed statement")
	}
	if s.c.failNext {
		s.c.failNext = false
		return nil, errors.New("schema changed")
	}
	return &fakeRows{}, nil
}

func newFake(size int) (*cachingConn, *fakeConn) {
	f := &fakeConn{prepared: map[string]int{}}
	return newCachingConn(f, size), f
}

func mustQuery(t *testing.T, c *cachingConn, q string) driver.Rows {
	t.Helper()
	r, err := c.QueryContext(context.Background(), q, nil)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return r
}

func TestStmtCacheReuses(t *testing.T) {
	c, f := newFake(4)
	for range 3 {
		mustQuery(t, c, "SELECT a").Close()
	}
	if f.prepared["SELECT a"] != 1 || c.hits != 2 || c.misses != 1 || f.direct != 0 {
		t.Fatalf("prepared %d times, %d hits, %d misses, %d direct: want 1, 2, 1, 0", f.prepared["SELECT a"], c.hits,
			c.misses, f.direct)
	}
}

func TestStmtCacheBusyRunsUncached(t *testing.T) {
	c, f := newFake(4)
	outer := mustQuery(t, c, "SELECT a")
	inner := mustQuery(t, c, "SELECT a") // outer's rows still open
	if f.direct != 1 || f.prepared["SELECT a"] != 1 {
		t.Fatalf("second query while the first's rows are open: %d direct, prepared %d times; want 1, 1", f.direct,
			f.prepared["SELECT a"])
	}
	inner.Close()
	outer.Close()
	mustQuery(t, c, "SELECT a").Close()
	if f.direct != 1 || c.hits != 1 {
		t.Fatalf("after closing: %d direct, %d hits; want 1, 1", f.direct, c.hits)
	}
}

func TestStmtCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c, f := newFake(2)
	mustQuery(t, c, "SELECT a").Close()
	mustQuery(t, c, "SELECT b").Close()
	mustQuery(t, c, "SELECT a").Close() // b is now the least recently used
	mustQuery(t, c, "SELECT c").Close() // drops b
	if f.open != 2 {
		t.Fatalf("%d statements open, want 2 (the bound)", f.open)
	}
	mustQuery(t, c, "SELECT a").Close()
	mustQuery(t, c, "SELECT b").Close()
	if f.prepared["SELECT a"] != 1 || f.prepared["SELECT b"] != 2 {
		t.Fatalf("a prepared %d times, b %d times; want 1 and 2", f.prepared["SELECT a"], f.prepared["SELECT b"])
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if f.open != 0 {
		t.Fatalf("%d statements left open after Close", f.open)
	}
}

func TestStmtCacheAllBusy(t *testing.T) {
	c, f := newFake(1)
	a := mustQuery(t, c, "SELECT a")
	b := mustQuery(t, c, "SELECT b") // a is busy: b runs on a statement of its own
	if f.open != 2 {
		t.Fatalf("%d statements open, want 2", f.open)
	}
	b.Close()
	if f.open != 1 {
		t.Fatalf("%d statements open after closing b's rows, want 1 (a's, kept)", f.open)
	}
	a.Close()
	mustQuery(t, c, "SELECT a").Close()
	if c.hits != 1 {
		t.Fatalf("%d hits, want 1", c.hits)
	}
}

func TestStmtCacheDropsFailedStatement(t *testing.T) {
	c, f := newFake(4)
	mustQuery(t, c, "SELECT a").Close()
	f.failNext = true
	if _, err := c.QueryContext(context.Background(), "SELECT a", nil); err == nil {
		t.Fatal("no error")
	}
	if f.open != 0 {
		t.Fatalf("%d statements open: the failed one is kept", f.open)
	}
	mustQuery(t, c, "SELECT a").Close()
	if f.prepared["SELECT a"] != 2 {
		t.Fatalf("prepared %d times, want 2", f.prepared["SELECT a"])
	}
}

func TestStmtCacheOff(t *testing.T) {
	c, f := newFake(0)
	mustQuery(t, c, "SELECT a").Close()
	mustQuery(t, c, "SELECT a").Close()
	if f.direct != 2 || len(f.prepared) != 0 {
		t.Fatalf("%d direct, %d prepared; want 2, 0", f.direct, len(f.prepared))
	}
}

// cacheCounts sums the hits and misses of the SQLite read pool's idle
// connections.
func cacheCounts(t *testing.T, s *Store) (hits, misses int) {
	t.Helper()
	ctx := context.Background()
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range s.read.Stats().OpenConnections {
		c, err := s.read.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if err := c.Raw(func(dc any) error {
			cc := dc.(*cachingConn)
			hits, misses = hits+cc.hits, misses+cc.misses
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return hits, misses
}

func TestStmtCacheSQLite(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.read.SetMaxOpenConns(1) // every read on one connection: exact counts
	now := time.Unix(1_700_000_000, 0)
	ps := []*Person{{NationalID: "001000000001", FamilyName: "A", GivenName: "B", BirthDate: "1990-01-01", CreatedAt: now,
		UpdatedAt: now}, {NationalID: "001000000002", FamilyName: "C", GivenName: "D", BirthDate: "1991-01-01",
		CreatedAt: now, UpdatedAt: now}}
	if err := s.Write(ctx, func(tx *Tx) error { return tx.InsertPersons(ctx, ps) }); err != nil {
		t.Fatal(err)
	}
	h0, m0 := cacheCounts(t, s)
	for i := range 10 {
		id := ps[i%2].NationalID
		if err := s.Read(ctx, func(tx *Tx) error {
			p, err := tx.PersonByNationalID(ctx, id)
			if err != nil {
				return err
			}
			if p.NationalID != id {
				return fmt.Errorf("read %s for %s", p.NationalID, id)
			}
			// The same query again while the rows of a first one are
			// open: both must read their own rows.
			rows, err := tx.query(ctx, "SELECT national_id FROM persons ORDER BY id")
			if err != nil {
				return err
			}
			defer rows.Close()
			var got []string
			for rows.Next() {
				var a string
				if err := rows.Scan(&a); err != nil {
					return err
				}
				inner, err := tx.query(ctx, "SELECT national_id FROM persons ORDER BY id")
				if err != nil {
					return err
				}
				n := 0
				for inner.Next() {
					n++
				}
				if err := errors.Join(inner.Err(), inner.Close()); err != nil || n != 2 {
					return fmt.Errorf("inner query: %d rows, %v", n, err)
				}
				got = append(got, a)
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if len(got) != 2 || got[0] != ps[0].NationalID || got[1] != ps[1].NationalID {
				return fmt.Errorf("outer query read %q", got)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	h, m := cacheCounts(t, s)
	// Each read runs four queries: the person and the outer list, prepared
	// on the first read and kept, and twice the inner one, uncached while
	// the outer one's rows are open.
	if h-h0 != 18 || m-m0 != 22 {
		t.Fatalf("%d hits and %d misses over 10 reads, want 18 and 22", h-h0, m-m0)
	}
}

// BenchmarkReadCitizen is a citizen's list read (the person, then their
// certificates) on SQLite, with the read connections keeping their
// statements and without.
func BenchmarkReadCitizen(b *testing.B) {
	for _, size := range []int{stmtCacheSize, 0} {
		b.Run(fmt.Sprintf("kept=%d", size), func(b *testing.B) {
			ctx := context.Background()
			path := filepath.Join(b.TempDir(), DefaultFile)
			s, err := Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			now := time.Unix(1_700_000_000, 0)
			p := &Person{NationalID: "001000000001", FamilyName: "A", GivenName: "B", BirthDate: "1990-01-01",
				CreatedAt: now, UpdatedAt: now}
			if err := s.Write(ctx, func(tx *Tx) error { return tx.InsertPersons(ctx, []*Person{p}) }); err != nil {
				b.Fatal(err)
			}
			s.read.Close()
			if s.read, err = openSQLiteReads(path, size); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := s.Read(ctx, func(tx *Tx) error {
					q, err := tx.PersonByNationalID(ctx, p.NationalID)
					if err != nil {
						return err
					}
					_, err = tx.CertificatesOfPerson(ctx, q.ID)
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
