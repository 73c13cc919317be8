package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Certificate statuses.
const (
	CertCurrent    = "current"    // the person's one valid certificate
	CertSuperseded = "superseded" // replaced by a newer one, and revoked
	CertRevoked    = "revoked"    // withdrawn without a replacement
)

// Certificate is an issued certificate.
type Certificate struct {
	ID       int64
	UVCI     string
	PersonID int64
	Status   string
	// ContentHash is the SHA-256 of the payload's canonical encoding
	// without its UVCI: equal hashes mean an identical certificate content.
	ContentHash []byte
	// HC1 is the QR text for certificates issued before migration 0008;
	// empty since: the service rebuilds it from COSE.
	HC1  string
	COSE []byte
	KID  []byte
	// Payload is the DCC payload as JSON, for certificates issued before
	// migration 0005; empty since, as COSE holds the payload (the service
	// decodes it from there): the JSON copy made every certificate row a
	// third larger, and cost its JSON encoding on every issuance.
	Payload   []byte
	IssuedAt  time.Time
	ExpiresAt time.Time
	IssuedBy  string
	// HasPNG reports whether a rendered QR code is stored (see
	// [Tx.CertificatePNG]).
	HasPNG bool
}

const certCols = "id, uvci, person_id, status, content_hash, hc1, cose, kid, payload, issued_at, expires_at, issued_by, png IS NOT NULL"

func scanCert(sc interface{ Scan(...any) error }) (*Certificate, error) {
	var c Certificate
	var issued, expires int64
	var payload string
	if err := sc.Scan(&c.ID, &c.UVCI, &c.PersonID, &c.Status, &c.ContentHash, &c.HC1, &c.COSE, &c.KID, &payload,
		&issued, &expires, &c.IssuedBy, &c.HasPNG); err != nil {
		return nil, err
	}
	c.Payload, c.IssuedAt, c.ExpiresAt = []byte(payload), fromMicros(issued), fromMicros(expires)
	return &c, nil
}

func (t *Tx) scanCerts(ctx context.Context, q string, args ...any) ([]*Certificate, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Certificate
	for rows.Next() {
		c, err := scanCert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CurrentCertificates returns the current certificate of each of the
// persons that has one.
func (t *Tx) CurrentCertificates(ctx context.Context, personIDs []int64) (map[int64]*Certificate, error) {
	out := make(map[int64]*Certificate, len(personIDs))
	err := inValues(t, personIDs, func(in string, args []any) error {
		cs, err := t.scanCerts(ctx, "SELECT "+certCols+" FROM certificates WHERE status = '"+CertCurrent+
			"' AND person_id"+in, args...)
		for _, c := range cs {
			out[c.PersonID] = c
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: failed to read certificates: %w", err)
	}
	return out, nil
}

// CertificatesOf returns, for the persons that have certificates, how many
// each has had (any status; persons with none are absent) and their current
// certificate, if any (as [Tx.CurrentCertificates]). It reads them with one
// statement when none of the persons has a current certificate (a first
// issuance) and two otherwise: batch issuance used to read counts and
// current certificates with a statement each, two index probes per person.
func (t *Tx) CertificatesOf(ctx context.Context, personIDs []int64) (counts map[int64]int, current map[int64]*Certificate, err error) {
	counts = make(map[int64]int, len(personIDs))
	var currentIDs []int64
	err = inValues(t, personIDs, func(in string, args []any) error {
		rows, err := t.query(ctx, "SELECT person_id, COUNT(*), MAX(CASE WHEN status = '"+CertCurrent+
			"' THEN id END) FROM certificates WHERE person_id"+in+" GROUP BY person_id", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var person int64
			var n int
			var cur sql.NullInt64
			if err := rows.Scan(&person, &n, &cur); err != nil {
				return err
			}
			counts[person] = n
			if cur.Valid {
				currentIDs = append(currentIDs, cur.Int64)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: failed to read certificates: %w", err)
	}
	current = make(map[int64]*Certificate, len(currentIDs))
	err = inValues(t, currentIDs, func(in string, args []any) error {
		cs, err := t.scanCerts(ctx, "SELECT "+certCols+" FROM certificates WHERE id"+in, args...)
		for _, c := range cs {
			current[c.PersonID] = c
		}
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: failed to read certificates: %w", err)
	}
	return counts, current, nil
}

// CurrentCertificateIDs returns the id of the current certificate of each
// of the persons that has one.
func (t *Tx) CurrentCertificateIDs(ctx context.Context, personIDs []int64) (map[int64]int64, error) {
	out, err := t.idMap(ctx, "SELECT person_id, id FROM certificates WHERE status = '"+CertCurrent+"' AND person_id", personIDs)
	if err != nil {
		return nil, fmt.Errorf("store: failed to read certificates: %w", err)
	}
	return out, nil
}

// CertificatesOfPerson returns every certificate of the person, newest
// first.
func (t *Tx) CertificatesOfPerson(ctx context.Context, personID int64) ([]*Certificate, error) {
	cs, err := t.scanCerts(ctx, "SELECT "+certCols+" FROM certificates WHERE person_id = ? ORDER BY id DESC", personID)
	if err != nil {
		return nil, fmt.Errorf("store: failed to read certificates: %w", err)
	}
	return cs, nil
}

// CertificateByUVCI returns the certificate with that UVCI.
func (t *Tx) CertificateByUVCI(ctx context.Context, uvci string) (*Certificate, error) {
	c, err := scanCert(t.queryRow(ctx, "SELECT "+certCols+" FROM certificates WHERE uvci = ?", uvci))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: failed to read certificate: %w", err)
	}
	return c, nil
}

// InsertCertificates inserts new certificates; the database assigns their
// ids, which it does not read back (look a certificate up by its UVCI). At
// most one current certificate per person may exist: a second one is
// [ErrConflict] (after the retries of [Store.Write]). (Reserving the ids
// first cost PostgreSQL a nextval statement of 3 µs per certificate in
// batch issuance, for ids nothing used.)
//
// A UVCI some certificate already carries is [ErrUVCIInUse] (the unique
// index decides; the caller may check first with [Tx.UVCIsInUse]).
//
// Every certificate's person must exist, or nothing is inserted and the
// error is [ErrNotFound]. The store checks it with one statement per chunk
// for the persons this transaction has not read already (migration 0007:
// PostgreSQL's per-row foreign key check cost more than any other part of
// the database's work in batch issuance).
func (t *Tx) InsertCertificates(ctx context.Context, cs []*Certificate) error {
	if len(cs) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(cs))
	seen := make(map[int64]bool, len(cs))
	for _, c := range cs {
		// A person read in this transaction exists: no statement deletes
		// a person.
		if !seen[c.PersonID] && !t.persons[c.PersonID] {
			seen[c.PersonID] = true
			ids = append(ids, c.PersonID)
		}
	}
	found := 0
	err := inValues(t, ids, func(in string, args []any) error {
		var n int
		if err := t.queryRow(ctx, "SELECT COUNT(*) FROM persons WHERE id"+in, args...).Scan(&n); err != nil {
			return err
		}
		found += n
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: failed to check the certificates' persons: %w", err)
	}
	if found != len(ids) {
		return fmt.Errorf("store: %d certificate(s) of a person that does not exist: %w", len(ids)-found, ErrNotFound)
	}
	err = t.insertRows(ctx, "certificates", []string{"uvci", "person_id", "status", "content_hash", "hc1",
		"cose", "kid", "payload", "issued_at", "expires_at", "issued_by"},
		len(cs), func(i int) []any {
			c := cs[i]
			return []any{c.UVCI, c.PersonID, c.Status, c.ContentHash, c.HC1, c.COSE, c.KID, string(c.Payload),
				micros(c.IssuedAt), micros(c.ExpiresAt), c.IssuedBy}
		})
	if uvciTaken(err) {
		return fmt.Errorf("%w: %w", ErrUVCIInUse, err)
	}
	if err != nil {
		return err
	}
	current := 0
	for _, c := range cs {
		if c.Status == CertCurrent {
			current++
		}
	}
	t.addCount(countCertificates, int64(len(cs)))
	t.addCount(countCurrent, int64(current))
	return nil
}

// EndCertificates moves current certificates to status (superseded or
// revoked). A certificate that is no longer current (another writer replaced
// it first) makes [Store.Write] retry the transaction.
func (t *Tx) EndCertificates(ctx context.Context, ids []int64, status string) error {
	var ended int64
	err := inValues(t, ids, func(in string, args []any) error {
		n, err := t.execN(ctx, "UPDATE certificates SET status = ? WHERE status = '"+CertCurrent+"' AND id"+in,
			append([]any{status}, args...)...)
		ended += n
		return err
	})
	if err != nil {
		return fmt.Errorf("store: failed to end certificate: %w", err)
	}
	if ended != int64(len(ids)) {
		return errStale
	}
	t.addCount(countCurrent, -ended)
	return nil
}

// CertificatePNG returns the stored QR code image of a certificate, nil if
// none is stored yet.
func (t *Tx) CertificatePNG(ctx context.Context, id int64) ([]byte, error) {
	var png []byte
	err := t.queryRow(ctx, "SELECT png FROM certificates WHERE id = ?", id).Scan(&png)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: failed to read certificate image: %w", err)
	}
	return png, nil
}

// SetCertificatePNG stores the QR code image of a certificate unless one is
// stored already, and returns the stored image.
func (t *Tx) SetCertificatePNG(ctx context.Context, id int64, png []byte) ([]byte, error) {
	if _, err := t.exec(ctx, "UPDATE certificates SET png = ? WHERE id = ? AND png IS NULL", png, id); err != nil {
		return nil, fmt.Errorf("store: failed to store certificate image: %w", err)
	}
	return t.CertificatePNG(ctx, id)
}

// Revocation is a revoked certificate's entry in the revocation list.
type Revocation struct {
	ID            int64
	CertificateID int64
	UVCI          string
	Reason        string
	RevokedAt     time.Time
	RevokedBy     string
}

// InsertRevocations appends to the revocation list.
func (t *Tx) InsertRevocations(ctx context.Context, rs []*Revocation) error {
	err := t.insertRows(ctx, "revocations", []string{"certificate_id", "uvci", "reason", "revoked_at", "revoked_by"},
		len(rs), func(i int) []any {
			r := rs[i]
			return []any{r.CertificateID, r.UVCI, r.Reason, micros(r.RevokedAt), r.RevokedBy}
		})
	if err == nil {
		t.addCount(countRevocations, int64(len(rs)))
	}
	return err
}

// Revocations returns up to limit revocations made at or after since, in
// the order they were made, starting after the revocation with id afterID
// (0: from the start).
func (t *Tx) Revocations(ctx context.Context, since time.Time, afterID int64, limit int) ([]*Revocation, error) {
	rows, err := t.query(ctx, `SELECT id, certificate_id, uvci, reason, revoked_at, revoked_by FROM revocations
		WHERE revoked_at >= ? AND id > ? ORDER BY id LIMIT ?`, micros(since), afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: failed to read revocations: %w", err)
	}
	defer rows.Close()
	var out []*Revocation
	for rows.Next() {
		var r Revocation
		var at int64
		if err := rows.Scan(&r.ID, &r.CertificateID, &r.UVCI, &r.Reason, &at, &r.RevokedBy); err != nil {
			return nil, fmt.Errorf("store: failed to read revocations: %w", err)
		}
		r.RevokedAt = fromMicros(at)
		out = append(out, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: failed to read revocations: %w", err)
	}
	return out, nil
}

// Pending is a person waiting for issuance; Seq identifies the change that
// put them there.
type Pending struct {
	PersonID int64
	Seq      int64
	// Person is the person's row as [Tx.ClaimPending] locked it, on
	// PostgreSQL (nil otherwise).
	Person *Person
}

// MarkPending records that the persons' finalised records changed at the
// given time, so their certificate must be (re)computed.
//
// The persons' row locks, which the first statement takes, are what every
// change of a person's queue entry holds (here, and in ClearPending's
// callers), so the entries counted before the upsert are still there when
// it runs: the persons it adds to the queue are the others.
func (t *Tx) MarkPending(ctx context.Context, personIDs []int64, at time.Time) error {
	return inValues(t, personIDs, func(in string, ids []any) error {
		persons, err := t.execN(ctx, "UPDATE persons SET rev = rev + 1 WHERE id"+in, ids...)
		if err != nil {
			return fmt.Errorf("store: failed to mark pending issuance: %w", err)
		}
		var queued int64
		if err := t.queryRow(ctx, "SELECT COUNT(*) FROM pending_issuance WHERE person_id"+in, ids...).Scan(&queued); err != nil {
			return fmt.Errorf("store: failed to mark pending issuance: %w", err)
		}
		_, err = t.exec(ctx, "INSERT INTO pending_issuance (person_id, seq, since) SELECT id, rev, ? FROM persons WHERE id"+
			in+" ON CONFLICT (person_id) DO UPDATE SET seq = excluded.seq", append([]any{micros(at)}, ids...)...)
		if err != nil {
			return fmt.Errorf("store: failed to mark pending issuance: %w", err)
		}
		t.addCount(countPending, persons-queued)
		return nil
	})
}

// PendingOf returns the pending-issuance markers of the persons that have
// one.
func (t *Tx) PendingOf(ctx context.Context, personIDs []int64) (map[int64]int64, error) {
	out, err := t.idMap(ctx, "SELECT person_id, seq FROM pending_issuance WHERE person_id", personIDs)
	if err != nil {
		return nil, fmt.Errorf("store: failed to read pending issuance: %w", err)
	}
	return out, nil
}

// ClearPending removes the persons' pending-issuance markers that are
// still the ones read (Seq): a change made meanwhile keeps a person
// pending. On PostgreSQL it is one statement for all of them.
func (t *Tx) ClearPending(ctx context.Context, ps []Pending) error {
	if len(ps) == 0 {
		return nil
	}
	if t.s.d.postgres {
		ids, seqs := make([]int64, len(ps)), make([]int64, len(ps))
		for i, p := range ps {
			ids[i], seqs[i] = p.PersonID, p.Seq
		}
		n, err := t.execN(ctx, `DELETE FROM pending_issuance q USING unnest(?::bigint[], ?::bigint[]) AS u (person_id, seq)
			WHERE q.person_id = u.person_id AND q.seq = u.seq`, ids, seqs)
		if err != nil {
			return fmt.Errorf("store: failed to clear pending issuance: %w", err)
		}
		t.addCount(countPending, -n)
		return nil
	}
	// SQLite runs in this process: one prepared statement per marker
	// costs no round trip.
	st, err := t.tx.PrepareContext(ctx, "DELETE FROM pending_issuance WHERE person_id = ? AND seq = ?")
	if err != nil {
		return fmt.Errorf("store: failed to clear pending issuance: %w", err)
	}
	defer st.Close()
	for _, p := range ps {
		res, err := st.ExecContext(ctx, p.PersonID, p.Seq)
		var n int64
		if err == nil {
			n, err = res.RowsAffected()
		}
		if err != nil {
			return fmt.Errorf("store: failed to clear pending issuance: %w", err)
		}
		t.addCount(countPending, -n)
	}
	return nil
}

// UVCIsInUse returns which of the UVCIs some certificate already carries.
func (t *Tx) UVCIsInUse(ctx context.Context, uvcis []string) (map[string]bool, error) {
	out := map[string]bool{}
	err := inValues(t, uvcis, func(in string, args []any) error {
		rows, err := t.query(ctx, "SELECT uvci FROM certificates WHERE uvci"+in, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var u string
			if err := rows.Scan(&u); err != nil {
				return err
			}
			out[u] = true
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: failed to read certificates: %w", err)
	}
	return out, nil
}

// CountPending returns the number of persons waiting for issuance (a
// counter: see counters.go).
func (t *Tx) CountPending(ctx context.Context) (int64, error) {
	var n int64
	if err := t.queryRow(ctx, "SELECT n FROM counters WHERE name = ?", countPending).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: failed to count pending issuance: %w", err)
	}
	return n, nil
}

// RevokedCertificate is what a revocation list needs of a revoked
// certificate: the revocation's id (the list's sequence), the signed COSE
// message (its signature, issuer and UVCI are hashed) and its expiry.
type RevokedCertificate struct {
	RevocationID int64
	UVCI         string
	COSE         []byte
	ExpiresAt    time.Time
}

// RevokedCertificates returns up to limit revoked certificates whose
// revocation id is above afterID and which expire after expiresAfter, in
// revocation id order.
func (t *Tx) RevokedCertificates(ctx context.Context, afterID int64, expiresAfter time.Time, limit int) ([]*RevokedCertificate, error) {
	rows, err := t.query(ctx, `SELECT r.id, c.uvci, c.cose, c.expires_at FROM revocations r
		JOIN certificates c ON c.id = r.certificate_id
		WHERE r.id > ? AND c.expires_at > ? ORDER BY r.id LIMIT ?`, afterID, micros(expiresAfter), limit)
	if err != nil {
		return nil, fmt.Errorf("store: failed to read revoked certificates: %w", err)
	}
	defer rows.Close()
	var out []*RevokedCertificate
	for rows.Next() {
		var r RevokedCertificate
		var exp int64
		if err := rows.Scan(&r.RevocationID, &r.UVCI, &r.COSE, &exp); err != nil {
			return nil, fmt.Errorf("store: failed to read revoked certificates: %w", err)
		}
		r.ExpiresAt = fromMicros(exp)
		out = append(out, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: failed to read revoked certificates: %w", err)
	}
	return out, nil
}

// MaxRevocationID returns the highest revocation id, 0 when none.
func (t *Tx) MaxRevocationID(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	if err := t.queryRow(ctx, `SELECT MAX(id) FROM revocations`).Scan(&id); err != nil {
		return 0, fmt.Errorf("store: failed to read revocations: %w", err)
	}
	return id.Int64, nil
}

// RevokedIDs returns which of the certificates are on the revocation list.
func (t *Tx) RevokedIDs(ctx context.Context, certIDs []int64) (map[int64]bool, error) {
	out, err := t.idSet(ctx, "SELECT certificate_id FROM revocations WHERE certificate_id", certIDs)
	if err != nil {
		return nil, fmt.Errorf("store: failed to read revocations: %w", err)
	}
	return out, nil
}
