package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
)

// SQLite's read connections keep their prepared statements: modernc.org/sqlite
// parses and plans every query it is given as text (sqlite3_prepare_v2, SQL
// transpiled to Go), and for the short indexed reads of citizens' requests
// that parsing was about two thirds of the database's CPU (CPU profile of the
// citizen surge, internal/store BenchmarkReadCitizen). pgx already keeps
// PostgreSQL's statements per connection; database/sql's own Stmt cannot
// be used here without a free connection to prepare on, which a transaction
// holding one of the pool's connections may wait for in vain. So a
// connection wrapper keeps, per connection, the statements of the queries it
// ran, hand-written because neither driver nor database/sql offers it.
//
// Only QueryContext is cached (reads; writes and DDL go through unchanged),
// at most stmtCacheSize statements per connection (0 keeps none), least
// recently used dropped first. A statement whose rows are still open (a query run again
// before the first one's rows were closed) is not shared: that second query
// runs uncached, as before.
const stmtCacheSize = 64

// sqliteConn is what database/sql uses of modernc.org/sqlite's connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// stmtCacheConnector opens connections through base that keep their
// statements.
type stmtCacheConnector struct {
	base driver.Connector
	size int
}

func (c *stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(sqliteConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("store: the SQLite driver's connection (%s) lacks a method database/sql uses",
			reflect.TypeOf(conn))
	}
	return newCachingConn(sc, c.size), nil
}

func (c *stmtCacheConnector) Driver() driver.Driver { return c.base.Driver() }

// cachingConn is a connection that keeps the statements of its queries.
// database/sql calls a connection, its statements and its rows from one
// goroutine at a time (under the connection's lock), so it needs no lock of
// its own.
type cachingConn struct {
	sqliteConn
	size  int
	bySQL map[string]*list.Element // of *cachedStmt
	lru   list.List                // most recently used first
	// hits and misses count the queries served by a kept statement and
	// those prepared anew (tests read them).
	hits, misses int
}

// cachedStmt is a kept statement; busy while its rows are open.
type cachedStmt struct {
	query string
	stmt  driver.Stmt
	busy  bool
}

func newCachingConn(c sqliteConn, size int) *cachingConn {
	return &cachingConn{sqliteConn: c, size: size, bySQL: make(map[string]*list.Element)}
}

// QueryContext runs query with the connection's kept statement, prepared on
// first use; when that statement's rows are still open, it runs the query
// uncached.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.size < 1 {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	el, ok := c.bySQL[query]
	if ok && el.Value.(*cachedStmt).busy {
		c.misses++
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	if !ok {
		c.misses++
		ds, err := c.sqliteConn.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		if _, ok := ds.(driver.StmtQueryContext); !ok {
			ds.Close()
			return c.sqliteConn.QueryContext(ctx, query, args)
		}
		el = c.keep(&cachedStmt{query: query, stmt: ds})
		if el == nil { // every kept statement is busy
			return queryOnce(ctx, ds, args)
		}
	} else {
		c.hits++
		c.lru.MoveToFront(el)
	}
	cs := el.Value.(*cachedStmt)
	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		// The statement may be what failed (a schema change, an
		// interrupted step): prepare it anew next time.
		c.drop(el)
		return nil, err
	}
	cs.busy = true
	return &cachedRows{rowsWithTypes: asRowsWithTypes(rows), stmt: cs}, nil
}

// keep adds cs at the front, dropping the least recently used statements
// that are not busy beyond the size; it returns nil, and keeps nothing,
// when all of them are busy.
func (c *cachingConn) keep(cs *cachedStmt) *list.Element {
	for e := c.lru.Back(); c.lru.Len() >= c.size && e != nil; {
		prev := e.Prev()
		if !e.Value.(*cachedStmt).busy {
			c.drop(e)
		}
		e = prev
	}
	if c.lru.Len() >= c.size {
		return nil
	}
	el := c.lru.PushFront(cs)
	c.bySQL[cs.query] = el
	return el
}

// drop forgets a statement and closes it.
func (c *cachingConn) drop(el *list.Element) {
	cs := el.Value.(*cachedStmt)
	c.lru.Remove(el)
	delete(c.bySQL, cs.query)
	cs.stmt.Close()
}

// Close closes the kept statements, then the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for el := c.lru.Front(); el != nil; el = el.Next() {
		errs = append(errs, el.Value.(*cachedStmt).stmt.Close())
	}
	c.lru.Init()
	clear(c.bySQL)
	return errors.Join(errors.Join(errs...), c.sqliteConn.Close())
}

// queryOnce runs a statement that is not kept and closes it with its rows.
func queryOnce(ctx context.Context, ds driver.Stmt, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := ds.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		ds.Close()
		return nil, err
	}
	return &onceRows{rowsWithTypes: asRowsWithTypes(rows), stmt: ds}, nil
}

// rowsWithTypes is the driver's rows with the column type methods
// database/sql's ColumnTypes uses, so that wrapping them hides nothing.
type rowsWithTypes interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// plainRows gives rows without the column type methods neutral ones.
type plainRows struct{ driver.Rows }

func (plainRows) ColumnTypeDatabaseTypeName(int) string             { return "" }
func (plainRows) ColumnTypeLength(int) (int64, bool)                { return 0, false }
func (plainRows) ColumnTypeNullable(int) (bool, bool)               { return false, false }
func (plainRows) ColumnTypePrecisionScale(int) (int64, int64, bool) { return 0, 0, false }
func (plainRows) ColumnTypeScanType(int) reflect.Type               { return reflect.TypeFor[any]() }

func asRowsWithTypes(r driver.Rows) rowsWithTypes {
	if rt, ok := r.(rowsWithTypes); ok {
		return rt
	}
	return plainRows{r}
}

// cachedRows are the rows of a kept statement: closing them frees the
// statement for the next query (the driver resets it).
type cachedRows struct {
	rowsWithTypes
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.rowsWithTypes.Close()
	r.stmt.busy = false
	return err
}

// onceRows are the rows of a statement that is not kept.
type onceRows struct {
	rowsWithTypes
	stmt driver.Stmt
}

func (r *onceRows) Close() error {
	return errors.Join(r.rowsWithTypes.Close(), r.stmt.Close())
}
