// Package certlogic is a native Go evaluator of CertLogic 1.3.3, the
// JsonLogic subset the EU DCC business rules are written in, with its
// expression validator.
//
//	e, err := certlogic.Parse(ruleLogicJSON)   // validated and compiled once
//	v, err := e.Eval(data)                      // data: certlogic.FromJSON(...) or built values
//	ok := certlogic.IsTruthy(v)
//
// Reference: dgc-business-rules certlogic/specification/README.md, version
// 1.3.3 (a copy is in ../shared/testdata/certlogic/SPECIFICATION.md), and
// its reference implementation certlogic-js (evaluator.ts, internals.ts,
// validation/format-validator.ts), which this package follows where the
// specification is silent.
//
// # Why hand-written
//
// CertLogic is not JsonLogic: its truthiness is narrower (values exist that
// are neither truthy nor falsy, and using one as a guard is an error), "and"
// returns the operand, comparisons need integers, dates only come from
// plusTime and dccDateOfBirth, and partial dates round up. A general
// JsonLogic library was measured failing about half of the real rules, so
// none is used. The package is small, has no dependencies beyond the
// standard library, and never does I/O: the verifier library embeds it.
//
// # Values
//
// Expressions and data are JSON values in Go form: nil, bool, float64 (JSON
// numbers, as in JavaScript; an "integer" is a float64 with no fraction),
// string, []any and map[string]any, plus [DateTime] for the results of
// plusTime and dccDateOfBirth and [*Object], an ordered, hash-free form of
// an object for data built by code. [FromJSON] decodes JSON into this form.
//
// # Behaviour the specification leaves open
//
//   - An invalid date such as "2021-02-30" or "2022-13" is an error (the
//     specification calls it undefined behaviour).
//   - "===" compares strings, numbers, booleans and null by value, arrays
//     and objects deeply (as certlogic-kotlin does; certlogic-js compares
//     references) and date-times by instant.
//   - "var" into a string or number gives null (certlogic-js would index
//     into the string).
//   - The "data" key that the specification says reduce "may" add to the
//     lambda's context is not added, as in both reference implementations;
//     the upstream suite marks the assertions that need it "skip".
//   - Evaluation is bounded: an expression nested deeper than [MaxDepth]
//     is invalid, and an evaluation that takes more than [MaxSteps] steps
//     (reduce over large arrays) is an error.
//
// # Security considerations
//
// Eval never panics (it is fuzzed, seeded from the official suites), and a
// malformed expression is an error, never a false. Error messages quote the
// expression, never the data, which holds personal data.
//
// An [Expr] is immutable and safe for concurrent use.
package certlogic
