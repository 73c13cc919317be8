package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
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
func personsWhere[K int64 | string](ctx context.Context, t *Tx, column string, values []K, lock bool, key func(*Person) K) (map[K]*Person, error) {
	out := make(map[K]*Person, len(values))
	err := inValues(t, values, func(in string, args []any) error {
		rows, err := t.query(ctx, "SELECT "+personCols+" FROM persons WHERE "+column+in+
			" ORDER BY id"+t.forUpdate(lock), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPerson(rows)
			if err != nil {
				return err
			}
			t.sawPersons(p.ID)
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
	out, err := t.idSet(ctx, "SELECT DISTINCT person_id FROM doses WHERE status = '"+StatusFinalised+"' AND person_id", ids)
	if err != nil {
		return nil, fmt.Errorf("store: failed to read persons: %w", err)
	}
	return out, nil
}

// InsertPersonsIfAbsent inserts the persons whose national ID is not
// stored yet, in national-ID order, and sets the ID of those it inserted;
// it returns their national IDs. A person inserted meanwhile by a
// concurrent transaction is skipped (ID left 0) instead of failing on the
// unique index, so that concurrent uploads naming the same new persons do
// not abort each other: the caller reads the skipped ones with
// [Tx.PersonsByNationalID]. The fixed order keeps two such inserts from
// waiting on each other in a cycle.
func (t *Tx) InsertPersonsIfAbsent(ctx context.Context, ps []*Person) (map[string]bool, error) {
	sorted := slices.Clone(ps)
	slices.SortFunc(sorted, func(a, b *Person) int { return strings.Compare(a.NationalID, b.NationalID) })
	ids, err := t.allocIDs(ctx, "persons", len(sorted))
	if err != nil {
		return nil, fmt.Errorf("store: failed to allocate person ids: %w", err)
	}
	cols := []string{"id", "national_id", "family_name", "given_name", "birth_date", "created_at", "updated_at"}
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	per := t.s.d.maxParams / len(cols)
	inserted := make(map[string]bool, len(sorted))
	err = batches(len(sorted), per, func(start, end int) error {
		var b strings.Builder
		b.WriteString("INSERT INTO persons (" + strings.Join(cols, ", ") + ") VALUES ")
		args := make([]any, 0, (end-start)*len(cols))
		for i := start; i < end; i++ {
			if i > start {
				b.WriteByte(',')
			}
			b.WriteString(one)
			p := sorted[i]
			args = append(args, ids[i], p.NationalID, p.FamilyName, p.GivenName, p.BirthDate, micros(p.CreatedAt),
				micros(p.UpdatedAt))
		}
		b.WriteString(" ON CONFLICT (national_id) DO NOTHING RETURNING national_id, id")
		rows, err := t.tx.QueryContext(ctx, t.s.d.rebind(b.String()), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var nid string
			var id int64
			if err := rows.Scan(&nid, &id); err != nil {
				return err
			}
			inserted[nid] = true
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: failed to insert persons: %w", err)
	}
	for i, p := range sorted {
		if inserted[p.NationalID] {
			p.ID = ids[i]
		}
	}
	return inserted, nil
}

// LockPersonsByNationalID returns the known persons among nationalIDs,
// keyed by national ID number, with their rows locked until the
// transaction ends. The rows are locked in id order (on PostgreSQL the ids
// are read first, then locked ascending), so that two transactions locking
// overlapping persons never wait on each other in a cycle.
func (t *Tx) LockPersonsByNationalID(ctx context.Context, nationalIDs []string) (map[string]*Person, error) {
	if !t.s.d.postgres {
		return t.PersonsByNationalID(ctx, nationalIDs, false)
	}
	found, err := t.PersonsByNationalID(ctx, nationalIDs, false)
	if err != nil || len(found) == 0 {
		return found, err
	}
	ids := make([]int64, 0, len(found))
	for _, p := range found {
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	locked, err := t.PersonsByID(ctx, ids, true)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Person, len(locked))
	for _, p := range locked {
		out[p.NationalID] = p
	}
	return out, nil
}
