// Package keys holds the public-key side of the EU DCC (HCERT) PKI: the key
// identifier (kid) of a Document Signer Certificate (DSC), the trust list a
// verifier looks DSCs up in, the one rule deciding which algorithm a trusted
// key verifies ([TrustEntry.Accepts]), and the Extended Key Usage rule that
// limits which certificate types a DSC may sign. Generating a CSCA and its
// DSCs is the issuing side's business: package
// [github.com/vaxcert/vaxcert/keys/issuing], which no verifier imports.
//
// keys imports only the standard library, internal/limits and the light
// schemas package (for [schemas.CertType]): it does no file or network I/O,
// so a verifier embedded in a phone app can use it. Reading and writing key files lives in
// [github.com/vaxcert/vaxcert/keys/keyfile].
//
// # Trust model
//
// The CSCA of a country signs its DSCs, and a DSC signs DCCs. A verifier
// trusts DSCs, not CSCAs: a [TrustList] holds DSCs and is looked up by the kid
// found in a COSE header ([TrustList.Lookup]). A kid is only 8 bytes, so
// several DSCs may share one and Lookup returns them all; a verifier must try
// each. Revocation of a DSC is by omission from the list. A certificate whose
// KeyUsage extension excludes digitalSignature, such as a CSCA, is refused
// ([ErrNotSigner]). keys does not check that a DSC chains to a CSCA: whoever
// builds the list vets its certificates, as the EU gateway does.
//
// The signature algorithm comes from the trusted side: [NewTrustEntry] derives
// it from the DSC's key alone ([AlgorithmFor]): ECDSA P-256 gives ES256, RSA
// with a modulus of at least 2048 bits gives PS256, and every other key gives
// [AlgNone]. Such an entry is still listed, so a verifier can report an
// algorithm mismatch rather than an unknown kid, but [TrustEntry.Accepts]
// rejects every algorithm for it (fail closed).
//
// # Key usage
//
// A DSC's Extended Key Usage extension may name the DCC types it may sign
// ([Usage]). The rule applied by [TrustEntry.Permits], spec Annex A.4 read as
// the EU reference test harness does:
//
//   - no EKU extension, or an empty one: the DSC may sign every type;
//   - one or more EKU OIDs, of any kind (including unrelated ones such as
//     clientAuth or ICAO 2.23.136.1.1.14.2): the DSC may sign only the types
//     whose current or legacy OID is present.
//
// With this reading every EXPECTEDKEYUSAGE flag of the EU test vectors holds,
// including IS/3 (ICAO OID only, expected false). The other reading, applying
// the rule only when at least one DCC OID is present, is not used.
//
// Reference: https://github.com/ehn-dcc-development/hcert-spec/blob/main/hcert_spec.md, Annex A.4
//
// # Security considerations
//
// [ParseCertificates] accepts untrusted text (PEM, DER or base64) bounded by
// [limits.MaxTrustList] and [limits.MaxCertificate], and rejects trailing
// data and non-certificate PEM blocks. A [TrustList] holds at most
// [limits.MaxTrustEntries] certificates.
package keys
