// Package timeparse parses the timestamps vaxcert accepts on its command
// line and in test vectors: RFC 3339, plus the variants the EU DCC test
// vectors write in TESTCTX.VALIDATIONCLOCK.
//
// Accepted, and nothing else:
//
//	YYYY-MM-DDThh:mm:ss[.f…]<zone>
//
// with 0 to 9 fractional digits after a '.', and <zone> one of "Z",
// "±hh:mm", "±hhmm" (for example "+0000"), or nothing, which means UTC (the
// reading of the EU reference test harness). The date must exist (no
// 2021-02-30), the hour is 00-23, minutes and seconds 00-59 (no leap
// second), the zone offset at most ±23:59. 'T' and 'Z' are upper case.
//
// Go's time.RFC3339Nano layout rejects "+0000" and a missing zone, hence
// this package.
//
// Reference: RFC 3339 §5.6; dgc-testdata README.md (VALIDATIONCLOCK).
package timeparse
