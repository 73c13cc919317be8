// Package store is the issuer service's database: the schema, its
// migrations, and the queries of internal/service, written once for two
// engines.
//
//   - SQLite (modernc.org/sqlite, no cgo), the default: a file, by
//     convention <data>/vaxcert.db ([DefaultFile]).
//   - PostgreSQL through pgx, for a url starting with postgres://.
//
// [Open] connects and applies the embedded migrations (migrations/*.sql,
// versioned in the schema_migrations table) in one transaction; a database
// migrated by a newer program is refused ([ErrSchemaVersion]). The SQL is
// the subset both engines accept; every difference — placeholders, id
// columns, byte types, row locks, id allocation, error codes, connection
// settings — is in dialect.go.
//
// # Transactions
//
// Every query is a method of [Tx], and every Tx runs inside [Store.Read]
// (a read-only snapshot) or [Store.Write]. A write transaction commits when
// its function returns nil and otherwise keeps nothing; one that hits a
// lock, a serialization failure, a unique-key race or a row changed
// meanwhile is retried from the start, and reported as [ErrConflict] if the
// race persists. Multi-row work is batched: on PostgreSQL rows are inserted
// with COPY (a write transaction runs on a connection of its own for it)
// and key lists travel as one array; on SQLite multi-row INSERTs and IN
// lists are bounded by the engine's parameter limit.
//
// # SQLite settings
//
// WAL journal, foreign keys on, busy_timeout 10 s, a 64 MiB page cache per
// connection, and synchronous=FULL: a commit waits until the WAL is on disk,
// so an upload or a certificate reported as stored survives a power loss
// (NORMAL would only survive a crash of the process). Writers commit in
// chunks of thousands of rows, which spreads the cost of that fsync. One
// writer connection runs every write transaction with BEGIN IMMEDIATE, so
// writers queue instead of failing on a lock upgrade; a pool of read-only
// connections serves reads concurrently, each keeping the prepared
// statements of the last 64 queries it ran (stmtcache.go): parsing a query
// costs SQLite several times what a citizen's indexed read does.
//
// # PostgreSQL
//
// Read committed, with the persons whose records a transaction changes
// locked (SELECT … FOR UPDATE) before their records are read, so that two
// writers evaluating the same person take turns. Migrations take an advisory
// lock, so several processes may start at once.
//
// # Data
//
// Persons are keyed by a surrogate id; the national ID number is stored
// only in the persons table and is never part of an audit subject. Times are
// Unix microseconds (UTC). Dose records keep their current version in doses
// and every earlier one in dose_history. Staff tokens are stored as SHA-256
// hashes only. See migrations/0001_init.sql for the tables.
//
// A Store is safe for concurrent use; a Tx is not.
package store
