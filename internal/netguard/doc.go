// Package netguard holds the pieces a public HTTP service needs to stay up
// under a crowd: who the client is behind a reverse proxy ([Proxies]), a
// per-client token bucket ([Limiter]), an admission limit on the work in
// flight ([Admission]) and a shedder that refuses a share of requests while
// the process is congested ([Shedder]). The issuer service (internal/server) and the
// standalone verifier service share it.
//
// The token buckets are golang.org/x/time/rate limiters; the proxy walk and
// the admission gate are hand-written because they are a few lines each and
// no maintained library does exactly this (echo's IP extractors trust a
// fixed set of private ranges, not a configured list, and have no /64
// keying).
package netguard
