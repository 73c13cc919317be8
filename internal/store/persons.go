package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Person is a certificate holder. ID is the surrogate key used in every
// other table, in audit subjects and in logs; NationalID is personal data.
type Person struct {
	ID         int64
	NationalID string
	FamilyName string
	GivenName  string
	BirthDate  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

const personCols = "id, national_id, family_name, given_name, birth_date, created_at, updated_at"

func scanPerson(sc interface{ Scan(...any) error }) (*Person, error) {
	var p Person
	var created, updated int64
	if err := sc.Scan(&p.ID, &p.NationalID, &p.FamilyName, &p.GivenName, &p.BirthDate, &created, &updated); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &p, nil
}

// Person returns the person with surrogate key id.
func (t *Tx) Person(ctx context.Context, id int64) (*Person, error) {
	p, err := scanPerson(t.queryRow(ctx, "SELECT "+personCols+" FROM persons WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: failed to read person: %w", err)
	}
	return p, nil
}

// PersonByNationalID returns the person with that national ID number.
func (t *Tx) PersonByNationalID(ctx context.Context, nationalID string) (*Person, error) {
	p, err := scanPerson(t.queryRow(ctx, "SELECT "+personCols+" FROM persons WHERE national_id = ?", nationalID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: failed to read person: %w", err)
	}
	return p, nil
}

// PersonsByNationalID returns the known persons among nationalIDs, keyed by
// national ID number. With lock, their rows stay locked until the
// transaction ends (see [Tx.PersonsByID]).
func (t *Tx) PersonsByNationalID(ctx context.Context, nationalIDs []string, lock bool) (map[string]*Person, error) {
	return personsWhere(ctx, t, "national_id", nationalIDs, lock, func(p *Person) string { return p.NationalID })
}

// PersonsByID returns the persons with the given surrogate keys. With lock,
// their rows stay locked until the transaction ends, so that concurrent
// writers touching the same persons' records (on PostgreSQL) re-evaluate
// them one after the other; on SQLite the single writer already serialises
// every write transaction.
func (t *Tx) PersonsByID(ctx context.Context, ids []int64, lock bool) (map[int64]*Person, error) {
	return personsWhere(ctx, t, "id", ids, lock, func(p *Person) int64 { return p.ID })
}

// personsWhere reads the persons whose column holds one of values, keyed
// by key, in batches, optionally locking their rows.
func personsWhere[K comparable](ctx context.Context, t *Tx, column string, values []K, lock bool, key func(*Person) K) (map[K]*Person, error) {
	out := make(map[K]*Person, len(values))
	err := batches(len(values), inBatch, func(start, end int) error {
		rows, err := t.query(ctx, "SELECT "+personCols+" FROM persons WHERE "+column+" IN "+inList(end-start)+
			" ORDER BY id"+t.forUpdate(lock), anys(values[start:end])...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPerson(rows)
			if err != nil {
				return err
			}
			out[key(p)] = p
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: failed to read persons: %w", err)
	}
	return out, nil
}

// InsertPersons inserts new persons and sets their ID.
func (t *Tx) InsertPersons(ctx context.Context, ps []*Person) error {
	ids, err := t.allocIDs(ctx, "persons", len(ps))
	if err != nil {
		return fmt.Errorf("store: failed to allocate person ids: %w", err)
	}
	for i, p := range ps {
		p.ID = ids[i]
	}
	return t.insertRows(ctx, "persons",
		[]string{"id", "national_id", "family_name", "given_name", "birth_date", "created_at", "updated_at"},
		len(ps), func(i int) []any {
			p := ps[i]
			return []any{p.ID, p.NationalID, p.FamilyName, p.GivenName, p.BirthDate, micros(p.CreatedAt), micros(p.UpdatedAt)}
		})
}

// UpdatePerson stores p's names and birth date.
func (t *Tx) UpdatePerson(ctx context.Context, p *Person) error {
	n, err := t.execN(ctx, "UPDATE persons SET family_name = ?, given_name = ?, birth_date = ?, updated_at = ? WHERE id = ?",
		p.FamilyName, p.GivenName, p.BirthDate, micros(p.UpdatedAt), p.ID)
	if err != nil {
		return fmt.Errorf("store: failed to update person: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// PersonsWithFinalised returns which of the persons have at least one
// finalised record.
func (t *Tx) PersonsWithFinalised(ctx context.Context, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	err := batches(len(ids), inBatch, func(start, end int) error {
		rows, err := t.query(ctx, "SELECT DISTINCT person_id FROM doses WHERE status = '"+StatusFinalised+
			"' AND person_id IN "+inList(end-start), anys(ids[start:end])...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out[id] = true
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: failed to read persons: %w", err)
	}
	return out, nil
}
