package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Token is a staff API token. Only the SHA-256 of the token is stored.
type Token struct {
	ID        string
	Hash      []byte
	Role      string
	Site      string
	Name      string
	CreatedAt time.Time
	CreatedBy string
	RevokedAt time.Time
}

const tokenCols = "id, hash, role, site, name, created_at, created_by, revoked_at"

func scanToken(sc interface{ Scan(...any) error }) (*Token, error) {
	var tk Token
	var created int64
	var revoked sql.NullInt64
	if err := sc.Scan(&tk.ID, &tk.Hash, &tk.Role, &tk.Site, &tk.Name, &created, &tk.CreatedBy, &revoked); err != nil {
		return nil, err
	}
	tk.CreatedAt, tk.RevokedAt = fromMicros(created), fromNullMicros(revoked)
	return &tk, nil
}

// InsertToken stores a new token.
func (t *Tx) InsertToken(ctx context.Context, tk *Token) error {
	_, err := t.exec(ctx, "INSERT INTO tokens (id, hash, role, site, name, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
		tk.ID, tk.Hash, tk.Role, tk.Site, tk.Name, micros(tk.CreatedAt), tk.CreatedBy)
	if err != nil {
		return fmt.Errorf("store: failed to insert token: %w", err)
	}
	return nil
}

// TokenByHash returns the token whose SHA-256 is hash. The lookup is by
// an index on the hash, so its timing reveals nothing about the token.
func (t *Tx) TokenByHash(ctx context.Context, hash []byte) (*Token, error) {
	tk, err := scanToken(t.queryRow(ctx, "SELECT "+tokenCols+" FROM tokens WHERE hash = ?", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: failed to read token: %w", err)
	}
	return tk, nil
}

// Token returns the token with that id.
func (t *Tx) Token(ctx context.Context, id string) (*Token, error) {
	tk, err := scanToken(t.queryRow(ctx, "SELECT "+tokenCols+" FROM tokens WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: failed to read token: %w", err)
	}
	return tk, nil
}

// Tokens returns every token, oldest first.
func (t *Tx) Tokens(ctx context.Context) ([]*Token, error) {
	rows, err := t.query(ctx, "SELECT "+tokenCols+" FROM tokens ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("store: failed to list tokens: %w", err)
	}
	defer rows.Close()
	var out []*Token
	for rows.Next() {
		tk, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: failed to list tokens: %w", err)
		}
		out = append(out, tk)
	}
	return out, rows.Err()
}

// RevokeToken marks a token revoked; revoking it again changes nothing.
func (t *Tx) RevokeToken(ctx context.Context, id string, at time.Time) error {
	if _, err := t.exec(ctx, "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", micros(at), id); err != nil {
		return fmt.Errorf("store: failed to revoke token: %w", err)
	}
	return nil
}
