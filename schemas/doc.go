// Package schemas holds the EU Digital COVID Certificate (DCC) payload: its
// Go types ([DCC]), the official JSON schema and value sets (embedded in
// [FS]), the value-set lookups issuance and verification need
// ([ValueSets]), and a fast typed validator ([DCC.Validate]).
//
// Subpackage jsonschema validates the generic JSON form of a payload with a
// JSON Schema library; it is the test oracle of [DCC.Validate] and the
// fallback for payloads that do not fit the Go types.
//
// # Embedded files
//
// All from the eHealth Network's public repositories, Apache-2.0 (NOTICE and
// LICENSE-eu-dcc in this directory give per-file provenance):
//
//   - dcc/1.3/DCC.combined-schema.json: eu-dcc-schema, schema version 1.3.3
//     ([SchemaVersion]; the same rules as 1.3.2).
//   - valuesets/*.json: eu-dcc-valuesets, release 2.x snapshot:
//     vaccine-prophylaxis 2023-01-25 (value sets 2.11+: J07BX03 inactive),
//     vaccine-medicinal-product and vaccine-mah-manf 2022-01-26 (release
//     2.8, 36 products, 30 holders), vaccine-encoding-instructions (Annex A)
//     2022-12-13, country-2-codes 2019-11-01 (250 codes), test-manf
//     2021-06-30 (88 rapid tests), and disease-agent-targeted, test-type
//     and test-result 2021-04-27 (EU DCC Gateway copies).
//
// The EU DCC Gateway is the authoritative, current source of value sets;
// the embedded ones are a snapshot. Products added after 2022-01-26
// (COVID-19 Vaccine Valneva EU/1/21/1624, VidPrevtyn Beta EU/1/21/1580) and
// rapid tests listed after 2021-06-30 are not in it: load the Gateway's
// files with [LoadValueSetsDir] to verify certificates that use them.
//
// # Validation semantics
//
// [DCC.Validate] implements the embedded schema with plain Go checks plus
// value-set membership, as EU verifiers do (the EU test vectors expect
// value-set violations to fail schema validation). Decisions:
//
//   - "format": "date" and "date-time" are asserted (RFC 3339 full-date and
//     date-time). JSON Schema 2020-12 makes format an annotation unless
//     asserted; the schema's descriptions ask for ISO 8601 complete dates,
//     and every EU test vector expected to pass carries such dates. Both
//     validators share one implementation of the two formats.
//   - Membership is checked with [ValueSets.Has]: deprecated codes stay
//     valid so that old certificates verify. Issuance should also require
//     [ValueSets.Active].
//   - The schema has no "additionalProperties": false, so unknown members
//     are valid in both validators.
//
// # Security considerations
//
// DCC payloads are personal data. Errors name the offending field and rule,
// never the value. [ParseValueSet] and [LoadValueSetsDir] bound their input
// (internal/limits.MaxValueSet) and reject malformed files as a whole.
//
// # Concurrency
//
// [ValueSets] and [ValueSet] are immutable and safe for concurrent use;
// [DCC.Validate] does not modify its receiver.
package schemas
