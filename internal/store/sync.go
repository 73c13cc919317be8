package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// IdentityClaim is an upload that named a known person with other details
// than the stored ones. It holds personal data (the claimed details) and is
// shown to reviewers only.
type IdentityClaim struct {
	ID         int64
	PersonID   int64
	Site       string
	RecordID   string
	FamilyName string
	GivenName  string
	BirthDate  string
	FiledAt    time.Time
	ResolvedAt time.Time
}

const claimCols = "id, person_id, site, record_id, family_name, given_name, birth_date, filed_at, resolved_at"

// InsertIdentityClaims files claims and sets their ID.
func (t *Tx) InsertIdentityClaims(ctx context.Context, cs []*IdentityClaim) error {
	ids, err := t.allocIDs(ctx, "identity_claims", len(cs))
	if err != nil {
		return fmt.Errorf("store: failed to allocate claim ids: %w", err)
	}
	for i, c := range cs {
		c.ID = ids[i]
	}
	return t.insertRows(ctx, "identity_claims", []string{"id", "person_id", "site", "record_id", "family_name",
		"given_name", "birth_date", "filed_at"}, len(cs), func(i int) []any {
		c := cs[i]
		return []any{c.ID, c.PersonID, c.Site, c.RecordID, c.FamilyName, c.GivenName, c.BirthDate, micros(c.FiledAt)}
	})
}

// IdentityClaims returns the person's claims, oldest first; with openOnly,
// only those not yet resolved.
func (t *Tx) IdentityClaims(ctx context.Context, personID int64, openOnly bool) ([]*IdentityClaim, error) {
	q := "SELECT " + claimCols + " FROM identity_claims WHERE person_id = ?"
	if openOnly {
		q += " AND resolved_at IS NULL"
	}
	rows, err := t.query(ctx, q+" ORDER BY id", personID)
	if err != nil {
		return nil, fmt.Errorf("store: failed to read identity claims: %w", err)
	}
	defer rows.Close()
	var out []*IdentityClaim
	for rows.Next() {
		var c IdentityClaim
		var filed int64
		var resolved sql.NullInt64
		if err := rows.Scan(&c.ID, &c.PersonID, &c.Site, &c.RecordID, &c.FamilyName, &c.GivenName, &c.BirthDate,
			&filed, &resolved); err != nil {
			return nil, fmt.Errorf("store: failed to read identity claims: %w", err)
		}
		c.FiledAt, c.ResolvedAt = fromMicros(filed), fromNullMicros(resolved)
		out = append(out, &c)
	}
	return out, rows.Err()
}

// PersonsWithOpenClaims returns which of the persons have open identity
// claims.
func (t *Tx) PersonsWithOpenClaims(ctx context.Context, ids []int64) (map[int64]bool, error) {
	out, err := t.idSet(ctx, "SELECT DISTINCT person_id FROM identity_claims WHERE resolved_at IS NULL AND person_id", ids)
	if err != nil {
		return nil, fmt.Errorf("store: failed to read identity claims: %w", err)
	}
	return out, nil
}

// ResolveIdentityClaims resolves the person's open claims and reports how
// many there were.
func (t *Tx) ResolveIdentityClaims(ctx context.Context, personID int64, at time.Time) (int64, error) {
	n, err := t.execN(ctx, "UPDATE identity_claims SET resolved_at = ? WHERE person_id = ? AND resolved_at IS NULL",
		micros(at), personID)
	if err != nil {
		return 0, fmt.Errorf("store: failed to resolve identity claims: %w", err)
	}
	return n, nil
}

// SitePermission is what an admin granted a vaccination site.
type SitePermission struct {
	Site string
	// Finalise: the site's uploaders may finalise at the source.
	Finalise  bool
	GrantedBy string
	GrantedAt time.Time
}

// SitePermission returns the site's permissions; a site never granted any
// has none (Finalise false, GrantedAt zero).
func (t *Tx) SitePermission(ctx context.Context, site string) (*SitePermission, error) {
	p := &SitePermission{Site: site}
	var fin int
	var at int64
	err := t.queryRow(ctx, "SELECT finalise, granted_by, granted_at FROM site_permissions WHERE site = ?", site).
		Scan(&fin, &p.GrantedBy, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return p, nil
	case err != nil:
		return nil, fmt.Errorf("store: failed to read site permissions: %w", err)
	}
	p.Finalise, p.GrantedAt = fin != 0, fromMicros(at)
	return p, nil
}

// SetSitePermission stores a site's permissions.
func (t *Tx) SetSitePermission(ctx context.Context, p *SitePermission) error {
	_, err := t.exec(ctx, `INSERT INTO site_permissions (site, finalise, granted_by, granted_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (site) DO UPDATE SET finalise = excluded.finalise, granted_by = excluded.granted_by,
		granted_at = excluded.granted_at`, p.Site, boolInt(p.Finalise), p.GrantedBy, micros(p.GrantedAt))
	if err != nil {
		return fmt.Errorf("store: failed to store site permissions: %w", err)
	}
	return nil
}

// Batch states.
const (
	BatchOpen     = "open"
	BatchComplete = "complete"
)

// Batch is an idempotent request (a bulk upload, a single record post or a
// correction request) under its owner's key.
type Batch struct {
	Owner string
	Key   string
	Kind  string
	State string
	// LastRow is the last row whose outcome is committed.
	LastRow int64
	// Rows counts the rows read; the outcome counts are doses.
	Rows                                         int64
	Stored, Already, Duplicate, Merged, Rejected int64
	// Result is kind-specific (a correction id); Error the code of the
	// error that stopped the batch, if any.
	Result    string
	Error     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

const batchCols = "owner, batch_key, kind, state, last_row, rows_seen, stored, already, duplicate, merged, rejected, " +
	"result, error, created_at, updated_at"

func scanBatch(sc interface{ Scan(...any) error }) (*Batch, error) {
	var b Batch
	var created, updated int64
	if err := sc.Scan(&b.Owner, &b.Key, &b.Kind, &b.State, &b.LastRow, &b.Rows, &b.Stored, &b.Already, &b.Duplicate,
		&b.Merged, &b.Rejected, &b.Result, &b.Error, &created, &updated); err != nil {
		return nil, err
	}
	b.CreatedAt, b.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &b, nil
}

// Batch returns the batch of owner under key; with lock, the row stays
// locked until the transaction ends, so that two requests with the same key
// apply their rows one after the other.
func (t *Tx) Batch(ctx context.Context, owner, key string, lock bool) (*Batch, error) {
	b, err := scanBatch(t.queryRow(ctx, "SELECT "+batchCols+" FROM batches WHERE owner = ? AND batch_key = ?"+
		t.forUpdate(lock), owner, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: failed to read batch: %w", err)
	}
	return b, nil
}

// OpenBatch returns the batch of owner under key, locked, creating it
// (state open, no rows) if it does not exist yet. created reports which.
func (t *Tx) OpenBatch(ctx context.Context, owner, key, kind string, at time.Time) (b *Batch, created bool, err error) {
	n, err := t.execN(ctx, `INSERT INTO batches (owner, batch_key, kind, state, last_row, rows_seen, stored, already,
		duplicate, merged, rejected, result, error, created_at, updated_at)
		VALUES (?, ?, ?, ?, 0, 0, 0, 0, 0, 0, 0, '', '', ?, ?) ON CONFLICT (owner, batch_key) DO NOTHING`,
		owner, key, kind, BatchOpen, micros(at), micros(at))
	if err != nil {
		return nil, false, fmt.Errorf("store: failed to open batch: %w", err)
	}
	b, err = t.Batch(ctx, owner, key, true)
	return b, n == 1, err
}

// UpdateBatch stores a batch's state, counters and result.
func (t *Tx) UpdateBatch(ctx context.Context, b *Batch) error {
	_, err := t.exec(ctx, `UPDATE batches SET state = ?, last_row = ?, rows_seen = ?, stored = ?, already = ?,
		duplicate = ?, merged = ?, rejected = ?, result = ?, error = ?, updated_at = ? WHERE owner = ? AND batch_key = ?`,
		b.State, b.LastRow, b.Rows, b.Stored, b.Already, b.Duplicate, b.Merged, b.Rejected, b.Result, b.Error,
		micros(b.UpdatedAt), b.Owner, b.Key)
	if err != nil {
		return fmt.Errorf("store: failed to update batch: %w", err)
	}
	return nil
}

// BatchRow is the committed outcome of one dose of a batch. Errors and
// Notes name fields and codes ("doses[0].date:invalid"), never values.
type BatchRow struct {
	Row      int64
	Idx      int
	Site     string
	RecordID string
	Outcome  string
	Errors   []string
	Notes    []string
	Hash     string
}

// batchRowJSON is the stored form of a BatchRow in a chunk.
type batchRowJSON struct {
	Row      int64  `json:"r"`
	Idx      int    `json:"i"`
	Site     string `json:"s"`
	RecordID string `json:"d"`
	Outcome  string `json:"o"`
	Errors   string `json:"e,omitempty"`
	Notes    string `json:"n,omitempty"`
	Hash     string `json:"h"`
}

// InsertBatchRows stores the row outcomes of one transaction of a batch
// (rows in order, not empty) as one chunk.
func (t *Tx) InsertBatchRows(ctx context.Context, owner, key string, rs []*BatchRow) error {
	if len(rs) == 0 {
		return nil
	}
	enc := make([]batchRowJSON, len(rs))
	for i, r := range rs {
		enc[i] = batchRowJSON{r.Row, r.Idx, r.Site, r.RecordID, r.Outcome, strings.Join(r.Errors, ","),
			strings.Join(r.Notes, ","), r.Hash}
	}
	b, err := json.Marshal(enc)
	if err != nil {
		return fmt.Errorf("store: failed to encode batch rows: %w", err)
	}
	if _, err := t.exec(ctx, "INSERT INTO batch_chunks (owner, batch_key, first_row, last_row, rows_json) VALUES (?, ?, ?, ?, ?)",
		owner, key, rs[0].Row, rs[len(rs)-1].Row, string(b)); err != nil {
		return fmt.Errorf("store: failed to store batch rows: %w", err)
	}
	return nil
}

// BatchRows returns up to limit row outcomes of a batch with a row number
// in (afterRow, toRow] (toRow 0: no upper bound; limit 0: no limit), in
// order.
func (t *Tx) BatchRows(ctx context.Context, owner, key string, afterRow, toRow int64, limit int) ([]*BatchRow, error) {
	q := "SELECT rows_json FROM batch_chunks WHERE owner = ? AND batch_key = ? AND last_row > ?"
	args := []any{owner, key, afterRow}
	if toRow > 0 {
		q += " AND first_row <= ?"
		args = append(args, toRow)
	}
	rows, err := t.query(ctx, q+" ORDER BY first_row", args...)
	if err != nil {
		return nil, fmt.Errorf("store: failed to read batch rows: %w", err)
	}
	defer rows.Close()
	var out []*BatchRow
	for rows.Next() && (limit <= 0 || len(out) < limit) {
		var js string
		if err := rows.Scan(&js); err != nil {
			return nil, fmt.Errorf("store: failed to read batch rows: %w", err)
		}
		var enc []batchRowJSON
		if err := json.Unmarshal([]byte(js), &enc); err != nil {
			return nil, fmt.Errorf("store: failed to decode batch rows: %w", err)
		}
		for _, e := range enc {
			if e.Row <= afterRow || toRow > 0 && e.Row > toRow {
				continue
			}
			if limit > 0 && len(out) == limit {
				break
			}
			out = append(out, &BatchRow{Row: e.Row, Idx: e.Idx, Site: e.Site, RecordID: e.RecordID, Outcome: e.Outcome,
				Errors: splitList(e.Errors), Notes: splitList(e.Notes), Hash: e.Hash})
		}
	}
	return out, rows.Err()
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// DoseSites returns the site of each of the records with the given ids.
func (t *Tx) DoseSites(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	err := batches(len(ids), inBatch, func(start, end int) error {
		rows, err := t.query(ctx, "SELECT id, site FROM doses WHERE id IN "+inList(end-start), anys(ids[start:end])...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var site string
			if err := rows.Scan(&id, &site); err != nil {
				return err
			}
			out[id] = site
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: failed to read doses: %w", err)
	}
	return out, nil
}

// BatchStoredRecords returns which of the records a batch stored (outcome
// stored or merged in one of its rows).
func (t *Tx) BatchStoredRecords(ctx context.Context, owner, key string, keys []RecordKey) (map[RecordKey]bool, error) {
	want := make(map[RecordKey]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	rs, err := t.BatchRows(ctx, owner, key, 0, 0, 0)
	if err != nil {
		return nil, err
	}
	out := map[RecordKey]bool{}
	for _, r := range rs {
		if k := (RecordKey{r.Site, r.RecordID}); want[k] && (r.Outcome == "stored" || r.Outcome == "merged_with_other_site") {
			out[k] = true
		}
	}
	return out, nil
}
