// Package chaostest holds the site-sync chaos test (issue 10, item 7); it
// has no API of its own and its tests build only with the "chaos" tag
// (make chaos).
//
// The test builds the vaxcert binary, runs "vaxcert serve --dev" as a child
// process and drives it the way vaccination sites and citizens do: several
// sites upload at once with the site client ("vaxcert upload", which splits,
// retries with its idempotency keys and resumes), files are re-sent, shots
// are uploaded by two sites (one spelling the name without diacritics),
// doses arrive late and out of order, some rows are drafts finalised later,
// some dates are wrong and amended through the other site's copy, some
// persons get contradictory records or a disputed identity; the server is
// SIGKILLed and restarted in the middle of uploads and of an issuance job,
// while citizens read their certificates. The expected state of every
// person is computed from the scenario alone, never from the service, and
// compared with the database at the end: 100 % of persons must be right,
// and no reader may have seen the dose number of a current certificate go
// down. It runs on SQLite, and on PostgreSQL when VAXCERT_TEST_PG is set.
package chaostest
