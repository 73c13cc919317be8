package store

import "errors"

var (
	// ErrBadURL reports a database URL that is neither a SQLite path nor a
	// postgres:// URL.
	ErrBadURL = errors.New("store: unsupported database url")
	// ErrSchemaVersion reports a database migrated by a newer vaxcert than
	// this one: running would risk writing data the newer schema forbids.
	ErrSchemaVersion = errors.New("store: database schema is newer than this program")
	// ErrNotFound reports a row that does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict reports a write that lost a race with another writer or
	// would break a uniqueness rule (one current certificate per person, one
	// record per site and record id, …), after the retries of [Store.Write].
	ErrConflict = errors.New("store: conflicting write")
	// ErrBusy reports a write that kept losing to concurrent writers (a
	// lock, a deadlock or a serialization failure) through every retry of
	// [Store.Write]. It also matches [ErrConflict]. Nothing was written;
	// the same request retried a moment later succeeds.
	ErrBusy = errors.New("store: busy, retry")
	// ErrUVCIInUse reports a certificate inserted with a UVCI another
	// certificate already carries (the unique index refused it). It comes
	// with the database's error, so [Store.Write] runs the transaction
	// again, and matches [ErrConflict] when the retries run out.
	ErrUVCIInUse = errors.New("store: UVCI already in use")
)

// errStale reports a row changed by another writer since this transaction
// read it; [Store.Write] retries the transaction.
var errStale = errors.New("store: row changed concurrently")
