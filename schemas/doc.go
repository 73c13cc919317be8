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
//     ([SchemaVersion]; the same rules as 1.3.2); dcc/1.2 and dcc/1.0: the
//     1.2.1 and 1.0.1 releases, for payloads that declare those versions
//     ([Schemas], [SchemaFor]).
//   - valuesets/*.json: eu-dcc-valuesets release 2.12.0 ([ValueSetsRelease],
//     the last before the repository was frozen in 2023):
//     vaccine-prophylaxis 2023-01-25 (J07BX03 inactive),
//     vaccine-medicinal-product 2022-11-30 (39 products, Bimervax
//     EU/1/22/1709 the newest), vaccine-mah-manf 2022-01-26 (31 holders),
//     vaccine-encoding-instructions (Annex A) 2023-05-05, country-2-codes
//     2019-11-01 (250 codes), test-manf 2021-06-30 (88 rapid tests; the
//     repository has only an example, the Gateway lists them), and
//     disease-agent-targeted, test-type and test-result 2021-04-27 (EU DCC
//     Gateway copies).
//
// The EU DCC Gateway (now the WHO's) is the authoritative source of value
// sets; rapid tests listed after 2021-06-30 are not embedded: load the
// Gateway's files with [LoadValueSetsDir] to verify certificates that use
// them.
//
// # Validation semantics
//
// [DCC.ValidateSchema] implements the 1.3 schema with plain Go checks;
// [DCC.ValidateValueSets] checks value-set membership, a separate verdict
// (the verifier's value_sets check); [DCC.Validate] is both. Payloads that
// declare 1.0.x or 1.2.x are validated by subpackage jsonschema against the
// schema of their version. Decisions:
//
//   - "format": "date" and "date-time" are asserted (RFC 3339 full-date and
//     date-time) for 1.3; for 1.0 and 1.2 they are annotations, as JSON
//     Schema 2020-12 has it, since issuers of that time wrote date-times in
//     dt. Every version must hold exactly one of v, t and r. JSON Schema 2020-12 makes format an annotation unless
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
