package store

import "context"

// ExecForTest runs a statement in a write transaction.
func ExecForTest(ctx context.Context, s *Store, q string) error {
	return s.Write(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, q)
		return err
	})
}
