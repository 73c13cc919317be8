package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Review is a person whose finalised records contradict each other, or
// whose identity an upload disputes. While it is open (ResolvedAt zero) no
// certificate is issued for the person.
type Review struct {
	ID       int64
	PersonID int64
	// DoseNumbers are the dose numbers at which the records contradict
	// each other.
	DoseNumbers []int
	// Identity is set while identity claims of the person are open (see
	// [IdentityClaim]).
	Identity   bool
	OpenedAt   time.Time
	ResolvedAt time.Time
	ResolvedBy string
	Note       string
}

const reviewCols = "id, person_id, dose_numbers, identity, opened_at, resolved_at, resolved_by, note"

func scanReview(sc interface{ Scan(...any) error }) (*Review, error) {
	var r Review
	var dns string
	var opened int64
	var resolved sql.NullInt64
	var identity int
	if err := sc.Scan(&r.ID, &r.PersonID, &dns, &identity, &opened, &resolved, &r.ResolvedBy, &r.Note); err != nil {
		return nil, err
	}
	r.Identity = identity != 0
	for _, f := range strings.Split(dns, ",") {
		if n, err := strconv.Atoi(f); err == nil {
			r.DoseNumbers = append(r.DoseNumbers, n)
		}
	}
	r.OpenedAt, r.ResolvedAt = fromMicros(opened), fromNullMicros(resolved)
	return &r, nil
}

func (t *Tx) scanReviews(ctx context.Context, q string, args ...any) ([]*Review, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: failed to read reviews: %w", err)
	}
	defer rows.Close()
	var out []*Review
	for rows.Next() {
		r, err := scanReview(rows)
		if err != nil {
			return nil, fmt.Errorf("store: failed to read reviews: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: failed to read reviews: %w", err)
	}
	return out, nil
}

// Review returns the review with that id.
func (t *Tx) Review(ctx context.Context, id int64) (*Review, error) {
	r, err := scanReview(t.queryRow(ctx, "SELECT "+reviewCols+" FROM reviews WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: failed to read review: %w", err)
	}
	return r, nil
}

// OpenReviews returns the open review of each of the persons that has one.
func (t *Tx) OpenReviews(ctx context.Context, personIDs []int64) (map[int64]*Review, error) {
	out := map[int64]*Review{}
	err := inValues(t, personIDs, func(in string, args []any) error {
		rs, err := t.scanReviews(ctx, "SELECT "+reviewCols+" FROM reviews WHERE resolved_at IS NULL AND person_id"+in, args...)
		for _, r := range rs {
			out[r.PersonID] = r
		}
		return err
	})
	return out, err
}

// ListOpenReviews returns up to limit open reviews with an id greater than
// afterID, oldest first.
func (t *Tx) ListOpenReviews(ctx context.Context, afterID int64, limit int) ([]*Review, error) {
	return t.scanReviews(ctx, "SELECT "+reviewCols+" FROM reviews WHERE resolved_at IS NULL AND id > ? ORDER BY id LIMIT ?",
		afterID, limit)
}

// InsertReview opens a review and sets its ID.
func (t *Tx) InsertReview(ctx context.Context, r *Review) error {
	ids, err := t.allocIDs(ctx, "reviews", 1)
	if err != nil {
		return fmt.Errorf("store: failed to allocate review id: %w", err)
	}
	r.ID = ids[0]
	_, err = t.exec(ctx, "INSERT INTO reviews (id, person_id, dose_numbers, identity, opened_at, resolved_by, note) VALUES (?, ?, ?, ?, ?, '', '')",
		r.ID, r.PersonID, joinInts(r.DoseNumbers), boolInt(r.Identity), micros(r.OpenedAt))
	if err != nil {
		return fmt.Errorf("store: failed to open review: %w", err)
	}
	return nil
}

// UpdateReviewReasons stores what an open review is about now: its dose
// numbers and identity flag.
func (t *Tx) UpdateReviewReasons(ctx context.Context, r *Review) error {
	if _, err := t.exec(ctx, "UPDATE reviews SET dose_numbers = ?, identity = ? WHERE id = ? AND resolved_at IS NULL",
		joinInts(r.DoseNumbers), boolInt(r.Identity), r.ID); err != nil {
		return fmt.Errorf("store: failed to update review: %w", err)
	}
	return nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ResolveReview closes an open review.
func (t *Tx) ResolveReview(ctx context.Context, id int64, at time.Time, by, note string) error {
	n, err := t.execN(ctx, "UPDATE reviews SET resolved_at = ?, resolved_by = ?, note = ? WHERE id = ? AND resolved_at IS NULL",
		micros(at), by, note, id)
	if err != nil {
		return fmt.Errorf("store: failed to resolve review: %w", err)
	}
	if n != 1 {
		return ErrConflict
	}
	return nil
}
