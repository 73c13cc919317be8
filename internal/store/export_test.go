package store

import "context"

// ExecForTest runs a statement in a write transaction.
func ExecForTest(ctx context.Context, s *Store, q string) error {
	return s.Write(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, q)
		return err
	})
}

// QueryLinesForTest returns the first column of every row of a query, as
// text (EXPLAIN output, for example).
func QueryLinesForTest(ctx context.Context, s *Store, q string) ([]string, error) {
	var out []string
	err := s.Read(ctx, func(tx *Tx) error {
		var err error
		out, err = lines(ctx, tx, q)
		return err
	})
	return out, err
}

// ClaimPlanForTest returns PostgreSQL's plan for the claim of up to limit
// persons after afterPersonID, as EXPLAIN with options (such as "(ANALYZE,
// BUFFERS)", or "") prints it.
func ClaimPlanForTest(ctx context.Context, s *Store, options string, afterPersonID int64, limit int) ([]string, error) {
	var out []string
	err := s.Write(ctx, func(tx *Tx) error {
		var err error
		out, err = lines(ctx, tx, "EXPLAIN "+options+" "+claimSQLPostgres, afterPersonID, limit)
		return err
	})
	return out, err
}

// lines returns the first column of every row of q in tx, as text.
func lines(ctx context.Context, tx *Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		out = append(out, line)
	}
	return out, rows.Err()
}
