package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Dose record statuses. StatusDraft and StatusFinalised are the values of
// the interchange format (package issuer's constants of the same names);
// StatusVoid marks a dose record withdrawn by an amendment: it stays in the
// history but never counts towards a certificate.
const (
	StatusDraft     = "draft"
	StatusFinalised = "finalised"
	StatusVoid      = "void"
)

// DoseFields is the site's data of a dose record. It has the fields of the
// interchange format's issuer.Dose, in the same order, so that the service
// converts one to the other with a type conversion; the store keeps its
// own type so that it does not import the signing code.
type DoseFields struct {
	RecordID     string `json:"record_id"`
	Site         string `json:"site"`
	Product      string `json:"product"`
	Manufacturer string `json:"manufacturer"`
	Lot          string `json:"lot"`
	DoseNumber   int    `json:"dose_number"`
	SeriesDoses  int    `json:"series_doses"`
	Date         string `json:"date"`
	Country      string `json:"country"`
	Status       string `json:"status"`
}

// RecordKey identifies a dose record: the reporting site and the site's own
// record id.
type RecordKey struct {
	Site     string
	RecordID string
}

// String returns "site/record_id", the form used in audit subjects.
func (k RecordKey) String() string { return k.Site + "/" + k.RecordID }

// Dose is one version of a dose record. The embedded [DoseFields] holds the
// site's data; the other fields are the service's bookkeeping.
type Dose struct {
	DoseFields
	ID       int64
	PersonID int64
	Version  int
	// ShotKey identifies the shot itself across sites, see [ShotKey].
	ShotKey string
	// MergedInto is the id of the canonical record of the same shot when
	// this record is a duplicate, else 0.
	MergedInto int64
	// ChangedAt, ChangedBy and Reason describe the change that produced
	// this version (ChangedBy is an opaque actor id).
	ChangedAt time.Time
	ChangedBy string
	Reason    string
}

// Key returns the dose's record key.
func (d *Dose) Key() RecordKey { return RecordKey{d.Site, d.RecordID} }

// SameContent reports whether d and o describe the same shot for the same
// person, ignoring status and bookkeeping.
func (d *Dose) SameContent(o *Dose) bool {
	return d.PersonID == o.PersonID && d.Product == o.Product && d.Manufacturer == o.Manufacturer &&
		d.Lot == o.Lot && d.DoseNumber == o.DoseNumber && d.SeriesDoses == o.SeriesDoses &&
		d.Date == o.Date && d.Country == o.Country
}

// ShotKey returns the key that identifies one administered shot: the same
// person, product, lot (trimmed, case-insensitive), date and dose number
// reported by two sites (or twice by one site) is one shot. It is a hash so
// that an index on it stays small.
func ShotKey(personID int64, product, lot, date string, doseNumber int) string {
	h := sha256.New()
	h.Write([]byte(strconv.FormatInt(personID, 10)))
	for _, s := range []string{product, strings.ToUpper(strings.TrimSpace(lot)), date, strconv.Itoa(doseNumber)} {
		h.Write([]byte{0})
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

const doseCols = "id, site, record_id, person_id, version, status, product, manufacturer, lot, dose_number, " +
	"series_doses, vaccinated, country, shot_key, merged_into, changed_at, changed_by, reason"

func scanDose(sc interface{ Scan(...any) error }) (*Dose, error) {
	var d Dose
	var merged sql.NullInt64
	var changed int64
	if err := sc.Scan(&d.ID, &d.Site, &d.RecordID, &d.PersonID, &d.Version, &d.Status, &d.Product,
		&d.Manufacturer, &d.Lot, &d.DoseNumber, &d.SeriesDoses, &d.Date, &d.Country, &d.ShotKey,
		&merged, &changed, &d.ChangedBy, &d.Reason); err != nil {
		return nil, err
	}
	d.MergedInto, d.ChangedAt = merged.Int64, fromMicros(changed)
	return &d, nil
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

func (t *Tx) scanDoses(ctx context.Context, q string, args ...any) ([]*Dose, error) {
	var out []*Dose
	err := t.scanRows(ctx, q, args, func(sc interface{ Scan(...any) error }) error {
		d, err := scanDose(sc)
		if err == nil {
			out = append(out, d)
		}
		return err
	})
	return out, err
}

// Dose returns the current version of the record key.
func (t *Tx) Dose(ctx context.Context, key RecordKey) (*Dose, error) {
	d, err := scanDose(t.queryRow(ctx, "SELECT "+doseCols+" FROM doses WHERE site = ? AND record_id = ?", key.Site, key.RecordID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: failed to read dose: %w", err)
	}
	return d, nil
}

// DosesByKey returns the current version of the known records among keys.
func (t *Tx) DosesByKey(ctx context.Context, keys []RecordKey) (map[RecordKey]*Dose, error) {
	bySite := map[string][]string{}
	for _, k := range keys {
		bySite[k.Site] = append(bySite[k.Site], k.RecordID)
	}
	out := make(map[RecordKey]*Dose, len(keys))
	for site, ids := range bySite {
		err := batches(len(ids), inBatch, func(start, end int) error {
			ds, err := t.scanDoses(ctx, "SELECT "+doseCols+" FROM doses WHERE site = ? AND record_id IN "+inList(end-start),
				append([]any{site}, anys(ids[start:end])...)...)
			for _, d := range ds {
				out[d.Key()] = d
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("store: failed to read doses: %w", err)
		}
	}
	return out, nil
}

// DosesOfPersons returns the current version of every record of the
// persons, by person, in id order. With finalisedOnly, only finalised
// records are returned.
func (t *Tx) DosesOfPersons(ctx context.Context, personIDs []int64, finalisedOnly bool) (map[int64][]*Dose, error) {
	out := make(map[int64][]*Dose, len(personIDs))
	filter := ""
	if finalisedOnly {
		filter = " AND status = '" + StatusFinalised + "'"
	}
	err := inValues(t, personIDs, func(in string, args []any) error {
		ds, err := t.scanDoses(ctx, "SELECT "+doseCols+" FROM doses WHERE person_id"+in+filter+" ORDER BY id", args...)
		for _, d := range ds {
			out[d.PersonID] = append(out[d.PersonID], d)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: failed to read doses: %w", err)
	}
	return out, nil
}

// CanonicalShots returns, for each shot of ds already recorded (by
// [Dose.ShotKey]), the id of its canonical record: the lowest id among its
// records that are not void.
//
// A shot key includes its person, so the shots are looked up through
// their persons' records (the doses_person index, a few rows per person)
// and not through an index of the keys themselves: the keys are hashes,
// and an index of 2 million random keys made every insert touch a random
// page (SQLite's intake cost per record grew by a fifth from 100,000 to
// 1,000,000 persons), where person ids grow with the intake.
func (t *Tx) CanonicalShots(ctx context.Context, ds []*Dose) (map[string]int64, error) {
	want := make(map[string]bool, len(ds))
	var persons []int64
	seen := make(map[int64]bool, len(ds))
	for _, d := range ds {
		want[d.ShotKey] = true
		if !seen[d.PersonID] {
			seen[d.PersonID] = true
			persons = append(persons, d.PersonID)
		}
	}
	out := make(map[string]int64, len(ds))
	err := inValues(t, persons, func(cond string, args []any) error {
		rows, err := t.query(ctx, "SELECT shot_key, id FROM doses WHERE person_id"+cond+
			" AND status <> '"+StatusVoid+"'", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var id int64
			if err := rows.Scan(&k, &id); err != nil {
				return err
			}
			if c, ok := out[k]; want[k] && (!ok || id < c) {
				out[k] = id
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: failed to read shots: %w", err)
	}
	return out, nil
}

// NewDoseIDs reserves n ids for [Tx.InsertDoses], so that records inserted
// together can refer to each other (MergedInto).
func (t *Tx) NewDoseIDs(ctx context.Context, n int) ([]int64, error) {
	ids, err := t.allocIDs(ctx, "doses", n)
	if err != nil {
		return nil, fmt.Errorf("store: failed to allocate dose ids: %w", err)
	}
	return ids, nil
}

// InsertDoses inserts new records; their ID must come from [Tx.NewDoseIDs].
func (t *Tx) InsertDoses(ctx context.Context, ds []*Dose) error {
	return t.insertRows(ctx, "doses", []string{"id", "site", "record_id", "person_id", "version", "status", "product",
		"manufacturer", "lot", "dose_number", "series_doses", "vaccinated", "country", "shot_key", "merged_into",
		"changed_at", "changed_by", "reason"},
		len(ds), func(i int) []any {
			d := ds[i]
			return []any{d.ID, d.Site, d.RecordID, d.PersonID, d.Version, d.Status, d.Product, d.Manufacturer, d.Lot,
				d.DoseNumber, d.SeriesDoses, d.Date, d.Country, d.ShotKey, nullID(d.MergedInto), micros(d.ChangedAt),
				d.ChangedBy, d.Reason}
		})
}

// ReviseDoses replaces records by a new version: prev[i] (as read in this
// transaction) moves to the history and next[i] (same ID, version
// prev[i].Version+1) becomes current. A record changed by someone else in
// between makes [Store.Write] retry the transaction.
func (t *Tx) ReviseDoses(ctx context.Context, prev, next []*Dose) error {
	stmt, err := t.tx.PrepareContext(ctx, t.s.sql(`UPDATE doses SET person_id = ?, version = ?, status = ?, product = ?,
		manufacturer = ?, lot = ?, dose_number = ?, series_doses = ?, vaccinated = ?, country = ?, shot_key = ?,
		merged_into = ?, changed_at = ?, changed_by = ?, reason = ? WHERE id = ? AND version = ?`))
	if err != nil {
		return fmt.Errorf("store: failed to prepare dose update: %w", err)
	}
	defer stmt.Close()
	for i, d := range next {
		if d.ID != prev[i].ID || d.Version != prev[i].Version+1 {
			return fmt.Errorf("store: dose revision %d does not follow version %d", d.Version, prev[i].Version)
		}
		res, err := stmt.ExecContext(ctx, d.PersonID, d.Version, d.Status, d.Product, d.Manufacturer, d.Lot,
			d.DoseNumber, d.SeriesDoses, d.Date, d.Country, d.ShotKey, nullID(d.MergedInto), micros(d.ChangedAt),
			d.ChangedBy, d.Reason, d.ID, prev[i].Version)
		if err != nil {
			return fmt.Errorf("store: failed to update dose: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errStale
		}
	}
	return t.insertRows(ctx, "dose_history", []string{"dose_id", "version", "person_id", "status", "product",
		"manufacturer", "lot", "dose_number", "series_doses", "vaccinated", "country", "changed_at", "changed_by", "reason"},
		len(prev), func(i int) []any {
			d := prev[i]
			return []any{d.ID, d.Version, d.PersonID, d.Status, d.Product, d.Manufacturer, d.Lot, d.DoseNumber,
				d.SeriesDoses, d.Date, d.Country, micros(d.ChangedAt), d.ChangedBy, d.Reason}
		})
}

// SetMergedInto links record id to its canonical record (0: none). It does
// not create a new version: the link is bookkeeping, not record content.
func (t *Tx) SetMergedInto(ctx context.Context, id, canonical int64) error {
	if _, err := t.exec(ctx, "UPDATE doses SET merged_into = ? WHERE id = ?", nullID(canonical), id); err != nil {
		return fmt.Errorf("store: failed to link dose: %w", err)
	}
	return nil
}

// DoseHistory returns every version of a record, oldest first, the current
// one last.
func (t *Tx) DoseHistory(ctx context.Context, key RecordKey) ([]*Dose, error) {
	cur, err := t.Dose(ctx, key)
	if err != nil {
		return nil, err
	}
	rows, err := t.query(ctx, `SELECT version, person_id, status, product, manufacturer, lot, dose_number, series_doses,
		vaccinated, country, changed_at, changed_by, reason FROM dose_history WHERE dose_id = ? ORDER BY version`, cur.ID)
	if err != nil {
		return nil, fmt.Errorf("store: failed to read dose history: %w", err)
	}
	defer rows.Close()
	var out []*Dose
	for rows.Next() {
		d := &Dose{ID: cur.ID, DoseFields: DoseFields{Site: cur.Site, RecordID: cur.RecordID}}
		var changed int64
		if err := rows.Scan(&d.Version, &d.PersonID, &d.Status, &d.Product, &d.Manufacturer, &d.Lot, &d.DoseNumber,
			&d.SeriesDoses, &d.Date, &d.Country, &changed, &d.ChangedBy, &d.Reason); err != nil {
			return nil, fmt.Errorf("store: failed to read dose history: %w", err)
		}
		d.ChangedAt = fromMicros(changed)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: failed to read dose history: %w", err)
	}
	return append(out, cur), nil
}
