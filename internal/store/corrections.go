package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Correction statuses.
const (
	CorrectionOpen     = "open"
	CorrectionAccepted = "accepted"
	CorrectionRejected = "rejected"
)

// Correction is a citizen's request to correct or complete their records.
type Correction struct {
	ID          int64
	PersonID    int64
	Kind        string
	Description string
	// Dose is the paper-card dose as JSON (the interchange format's issuer.Dose).
	Dose []byte
	// Record is the record the citizen refers to, if any.
	Record         RecordKey
	Photo          []byte
	PhotoType      string
	Status         string
	FiledAt        time.Time
	DecidedAt      time.Time
	DecidedBy      string
	DecisionReason string
}

// correctionCols leaves out the photo, read only by [Tx.CorrectionPhoto].
const correctionCols = "id, person_id, kind, description, dose, record_site, record_id, photo_type, status, filed_at, " +
	"decided_at, decided_by, decision_reason"

func scanCorrection(sc interface{ Scan(...any) error }) (*Correction, error) {
	var c Correction
	var dose string
	var filed int64
	var decided sql.NullInt64
	if err := sc.Scan(&c.ID, &c.PersonID, &c.Kind, &c.Description, &dose, &c.Record.Site, &c.Record.RecordID,
		&c.PhotoType, &c.Status, &filed, &decided, &c.DecidedBy, &c.DecisionReason); err != nil {
		return nil, err
	}
	c.Dose, c.FiledAt, c.DecidedAt = []byte(dose), fromMicros(filed), fromNullMicros(decided)
	return &c, nil
}

// InsertCorrection files a correction request and sets its ID.
func (t *Tx) InsertCorrection(ctx context.Context, c *Correction) error {
	ids, err := t.allocIDs(ctx, "corrections", 1)
	if err != nil {
		return fmt.Errorf("store: failed to allocate correction id: %w", err)
	}
	c.ID = ids[0]
	_, err = t.exec(ctx, `INSERT INTO corrections (id, person_id, kind, description, dose, record_site, record_id, photo,
		photo_type, status, filed_at, decided_by, decision_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '')`,
		c.ID, c.PersonID, c.Kind, c.Description, string(c.Dose), c.Record.Site, c.Record.RecordID, c.Photo, c.PhotoType,
		c.Status, micros(c.FiledAt))
	if err != nil {
		return fmt.Errorf("store: failed to insert correction: %w", err)
	}
	return nil
}

// Correction returns the correction request with that id, without its
// photo.
func (t *Tx) Correction(ctx context.Context, id int64) (*Correction, error) {
	c, err := scanCorrection(t.queryRow(ctx, "SELECT "+correctionCols+" FROM corrections WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: failed to read correction: %w", err)
	}
	return c, nil
}

// CorrectionPhoto returns the photo attached to a correction request.
func (t *Tx) CorrectionPhoto(ctx context.Context, id int64) (photo []byte, contentType string, err error) {
	err = t.queryRow(ctx, "SELECT photo, photo_type FROM corrections WHERE id = ?", id).Scan(&photo, &contentType)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", ErrNotFound
	}
	if err != nil {
		return nil, "", fmt.Errorf("store: failed to read correction photo: %w", err)
	}
	return photo, contentType, nil
}

// ListCorrections returns up to limit correction requests with the status
// ("" for any) and an id greater than afterID, oldest first, without their
// photos. personID, when not 0, restricts the list to one person.
func (t *Tx) ListCorrections(ctx context.Context, status string, personID, afterID int64, limit int) ([]*Correction, error) {
	q := "SELECT " + correctionCols + " FROM corrections WHERE id > ?"
	args := []any{afterID}
	if status != "" {
		q += " AND status = ?"
		args = append(args, status)
	}
	if personID != 0 {
		q += " AND person_id = ?"
		args = append(args, personID)
	}
	rows, err := t.query(ctx, q+" ORDER BY id LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: failed to list corrections: %w", err)
	}
	defer rows.Close()
	var out []*Correction
	for rows.Next() {
		c, err := scanCorrection(rows)
		if err != nil {
			return nil, fmt.Errorf("store: failed to list corrections: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DecideCorrection records the decision on an open correction request. A
// request decided meanwhile is [ErrConflict].
func (t *Tx) DecideCorrection(ctx context.Context, c *Correction) error {
	n, err := t.execN(ctx, `UPDATE corrections SET status = ?, decided_at = ?, decided_by = ?, decision_reason = ?,
		record_site = ?, record_id = ? WHERE id = ? AND status = '`+CorrectionOpen+`'`,
		c.Status, micros(c.DecidedAt), c.DecidedBy, c.DecisionReason, c.Record.Site, c.Record.RecordID, c.ID)
	if err != nil {
		return fmt.Errorf("store: failed to decide correction: %w", err)
	}
	if n != 1 {
		return ErrConflict
	}
	return nil
}
