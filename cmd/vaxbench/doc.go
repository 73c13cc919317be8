// Command vaxbench measures the issuer service end to end on this machine,
// as issue #3 asks: bulk intake, batch issuance, the QR PNG cache and
// citizens' downloads under concurrent load.
//
//	vaxbench [--db postgres://…] [--records 100000] [--doses 2] [--clients 100]
//	         [--duration 20s] [--warmup 3s] [--drafts] [--wrk] [--json]
//
// It builds a throwaway deployment in a temporary folder (ES256 keys, a
// development identity provider, a SQLite database or a fresh schema in the
// given PostgreSQL database, dropped at the end), serves the real HTTP API
// on a loopback port with the rate limits lifted, and drives it over HTTP:
//
//  1. Ingest: --records synthetic persons with --doses finalised doses each
//     (service.WriteSyntheticNDJSON), streamed through a pipe as one bulk
//     upload while the per-row report streams back. With --drafts the doses
//     are uploaded as drafts and finalised through the batch finalise
//     route, 1000 at a time.
//  2. Issue: one batch issuance job, polled to completion; then the issuer
//     library alone signs the same records on every CPU, without a
//     database, for the ratio of the two rates.
//  3. Memory: the Go heap in use and the process RSS are sampled every
//     200 ms during ingest and issuance; the peaks up to 25, 50 and 100 %
//     of progress show whether memory grows with the batch.
//  4. PNG: the first download of a certificate's QR code (rendered) against
//     the second (stored).
//  5. Citizen load: exactly --clients goroutines, each with its own
//     citizen's JWT, alternate GET /v1/me/certificates and GET
//     /v1/me/certificates/{uvci} over keep-alive connections for
//     --duration after --warmup; latencies go into a log-linear histogram
//     (bounded memory, under 1 % error). With --wrk, wrk(1) repeats the load
//     from a separate process as a cross-check.
//
// The load generator shares the process and the CPUs with the server: on
// loopback this is fair, but the latencies include the generator's own
// scheduling, and the heap and RSS figures include the client side.
//
// Progress goes to standard error; the results go to standard output as a
// table, or with --json as one JSON object ([Result]). The exit status is 0
// after a complete run (whether or not the targets are met), 1 when a step
// failed, 2 for a usage error. Neither the output nor the errors carry
// personal data: the synthetic persons are fictional, and errors name
// steps and statuses only.
package main
