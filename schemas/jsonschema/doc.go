// Package jsonschema validates the generic JSON form of a DCC payload
// against the embedded EU DCC JSON schema of the version the payload
// declares (package schemas: 1.0.1, 1.2.1 or 1.3.3, see schemas.SchemaFor),
// using the JSON Schema library github.com/santhosh-tekuri/jsonschema/v6;
// [ValidateWith] also checks the same value-set memberships as the typed
// validator.
//
// It is the test oracle of [schemas.DCC.Validate] for 1.3 payloads (the
// tests check that both agree on every EU test vector and under fuzzing),
// and the validator of payloads that declare an older version or do not fit
// the Go types, such as members of the wrong type.
// The typed validator is the one to use on the hot path: it is about two
// orders of magnitude faster and does not allocate.
//
// # Compatibility
//
// The schema is compiled once, on first use, from the embedded copy; no
// loader is configured, so nothing is fetched from the network or read from
// disk. For 1.3, "format" is asserted for "date" and "date-time" with the same
// RFC 3339 checks as the typed validator (the library's own date-time check
// accepts forms such as "2021-02-20T+1:34:56Z" that RFC 3339 does not).
//
// Unknown members are valid: the 1.3.x schema has no
// "additionalProperties": false anywhere. The typed path reaches the same
// verdict because its decoders drop unknown members before validation.
//
// # Security considerations
//
// Errors name the offending field and rule, never the value: DCC payloads
// are personal data, and the library's own messages quote values, so they
// are not passed on.
package jsonschema
