// Package ruletest is the rule author's test runner behind `vaxcert rules
// test DIR`: every <SET>/<RuleId>/rule.json in DIR is validated (against
// the rule envelope's JSON schema with a JSON Schema library, then as
// CertLogic by package verifier/rules), then run against each of its
// tests/*.json ({"name", "payload", "external", "expected"}): the rule's
// Logic is evaluated on {"payload", "external"} and the result's CertLogic
// truthiness compared with expected.
//
// It reads files, so it lives outside the verifier library; the JSON
// Schema library it uses is the test oracle of the library's typed
// envelope checks (see schema_test.go).
package ruletest
