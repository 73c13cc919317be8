package store

import (
	"context"
	"fmt"
)

// Counts of the tables that grow with the nation, kept in the counters
// table (migration 0010) by the transactions that change them, so that
// reading them costs one short statement whatever their size.
//
// The service's metrics read these counts at every scrape, and it used to
// count the tables themselves: COUNT(*) of every certificate ever issued,
// of the current ones, of the revocations and of the issuance queue, four
// reads of whole tables that reach a hundred million rows, per scrape and
// per instance. Each write transaction collects its changes to the counts
// (Tx.addCount) and adds them to the counters just before it commits
// (Tx.flushCounts), in one order, so concurrent writers wait for each other
// only for their commit and cannot deadlock there; a transaction that
// rolls back changes none. Every statement that inserts certificates,
// ends a current one, inserts revocations, or adds or removes a person of
// the queue goes through the Tx methods that count (InsertCertificates,
// EndCertificates, InsertRevocations, MarkPending, ClearPending), and no
// statement deletes a certificate or a revocation. TestCountersExact
// compares them with the tables after a mix of writes, on both engines.
const (
	countCertificates = "certificates"
	countCurrent      = "current_certificates"
	countRevocations  = "revocations"
	countPending      = "pending_issuance"
)

// countNames is the order in which a transaction updates the counters.
var countNames = [...]string{countCertificates, countCurrent, countRevocations, countPending}

// addCount records a change of one of the counts in this transaction.
func (t *Tx) addCount(name string, delta int64) {
	if delta == 0 {
		return
	}
	if t.counts == nil {
		t.counts = make(map[string]int64, len(countNames))
	}
	t.counts[name] += delta
}

// flushCounts adds the transaction's changes to the counters.
func (t *Tx) flushCounts(ctx context.Context) error {
	for _, name := range countNames {
		d := t.counts[name]
		if d == 0 {
			continue
		}
		n, err := t.execN(ctx, "UPDATE counters SET n = n + ? WHERE name = ?", d, name)
		if err == nil && n != 1 {
			err = fmt.Errorf("no counter %q", name)
		}
		if err != nil {
			return fmt.Errorf("store: failed to update counts: %w", err)
		}
	}
	return nil
}
