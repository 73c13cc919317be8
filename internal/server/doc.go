// Package server is the issuer service's HTTP API: an echo application over
// [service.Service], versioned under /v1/ and described by the OpenAPI
// document in openapi.yaml (served at GET /v1/openapi.yaml).
//
// [New] builds a [Server]; [Server.Run] listens on the configured address
// and shuts down gracefully on SIGINT, SIGTERM or when its context ends;
// [Server.Serve] does the same on a listener the caller opened, and
// [Server.Handler] returns the bare http.Handler for httptest.
//
// # Authentication
//
// Every /v1/ route except the OpenAPI document and the revocation list
// requires "Authorization: Bearer <token>". A token with the staff prefix
// ("vxs_") is looked up with [service.Service.LookupToken] and yields a
// staff actor with a role (and, for uploaders, a site); any other token must
// be a citizen JWT from the national identity provider, verified by
// [auth.CitizenVerifier]; a token that verified is remembered by its
// SHA-256 until its "exp", for at most 5 minutes (at most 100,000 tokens),
// so that a citizen's repeated requests cost one signature verification.
// Each route states the permissions of [auth.Role.Allows] it needs, or that
// it is a citizen route (/v1/me/…).
// Missing or invalid credentials are 401 with "WWW-Authenticate: Bearer";
// a credential of the wrong kind or role is 403; another site's record is
// 403; another citizen's certificate is 404, exactly as an unknown one.
//
// # Errors
//
// Every error response is JSON:
//
//	{"error": {"code": "invalid", "message": "…", "hint": "…",
//	           "fields": [{"field": "doses[0].product", "code": "value_set"}]}}
//
// Codes are stable; messages and hints are fixed text chosen by this
// package and never carry request values.
//
// # Limits
//
// Bodies are bounded per route: limits.MaxAPIBody for JSON,
// limits.MaxBatchBody for bulk uploads and limits.MaxPhoto plus multipart
// overhead for correction requests; beyond the limit the answer is 413.
// Each client (staff token, citizen subject, or IP address when
// unauthenticated) has a token bucket; an empty bucket is 429 with
// Retry-After. Ordinary requests must be read and answered within
// [Config.RequestTimeout], bulk uploads within [Config.UploadTimeout].
//
// # Observability
//
// GET /healthz reports the process up; GET /readyz pings the database
// (reading no table) and checks [Config.Ready] (the signing keys). GET /metrics serves Prometheus metrics
// on the same listener: vaxcert_http_requests_total{route,method,code},
// vaxcert_http_request_duration_seconds{route,method},
// vaxcert_certificates_issued_total and vaxcert_queue_depth{queue}, plus
// the Go runtime and process collectors. Put the service behind a reverse
// proxy that keeps /metrics off the public internet.
//
// Each request is logged as one JSON line (log/slog) with its request id,
// method, route template (never the raw path: UVCIs and record ids stay out
// of the log), status, latency, sizes and the staff token id. Bodies, query
// strings, headers and citizens' subjects are never logged.
//
// # Security considerations
//
// Responses carry personal data (names, birth dates, national ID numbers in
// records and certificates) only to callers allowed to see it; they are
// sent with "Cache-Control: no-store", except certificate images and PDFs
// ("private"). The national ID number of a person to issue for travels in
// the request body, never in the URL. Staff token plaintexts are shown
// once, at creation.
//
// A Server is safe for concurrent use.
package server
