// Package testkit builds test fixtures shared by vaxcert's tests: an
// in-memory CSCA and DSC ([NewPKI]) and a fixed clock ([Now], [Clock]).
//
// It is imported only from _test.go files. Every fixture is built for the
// fixed instant [Now], never the wall clock, so tests give the same verdict
// on any day.
package testkit
