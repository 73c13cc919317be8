// Package crashtest holds the issuer service's crash-safety tests (issue #3,
// item 9); it has no API of its own.
//
// The tests build the vaxcert binary, run "vaxcert serve --dev" as a child
// process, SIGKILL it in the middle of a bulk upload and of a batch
// issuance, restart it on the same data, repeat the same requests, and check
// the database directly: every dose record stored exactly once, every person
// with exactly one current certificate, nothing revoked, every certificate
// verifiable against the service's document signer certificate.
//
// They run on SQLite always and on PostgreSQL when VAXCERT_TEST_PG holds a
// database URL (each test in a fresh schema, see internal/store/storetest).
// Under -short the data sets are smaller; every test still checks that its
// kill landed in the middle of the operation.
//
// They take minutes, so they sit behind the build tag "crash": "make crash"
// (go test -tags crash ./internal/crashtest) runs them, and .ci/run does;
// "make test" does not. Their waits have no fixed wall-clock deadline: a
// watch fails a step only when its progress (rows reported, persons
// issued) stands still for many times the slowest step it has taken, so a
// loaded machine makes them slower, not flaky.
package crashtest
