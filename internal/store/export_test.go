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
		rows, err := tx.query(ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			out = append(out, line)
		}
		return rows.Err()
	})
	return out, err
}

// ClaimPlanForTest returns PostgreSQL's plan for the claim of up to limit
// persons after afterPersonID, as EXPLAIN with options (such as "(ANALYZE,
// BUFFERS)", or "") prints it.
func ClaimPlanForTest(ctx context.Context, s *Store, options string, afterPersonID int64, limit int) ([]string, error) {
	var out []string
	err := s.Write(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, "EXPLAIN "+options+" "+claimSQLPostgres, afterPersonID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			out = append(out, line)
		}
		return rows.Err()
	})
	return out, err
}
