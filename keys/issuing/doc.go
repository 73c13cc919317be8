// Package issuing is the issuing side of the EU DCC (HCERT) PKI: it
// generates a Country Signing CA (CSCA) and the Document Signer Certificates
// (DSCs) it signs, and pairs a certificate with its private key for the
// issuer. Verifiers never import it: the trust side (kid, trust list, key
// usage, algorithm) is package [github.com/vaxcert/vaxcert/keys], and
// verifier/deps_test.go keeps this package out of the verifier's imports.
//
// issuing imports only the standard library and package keys. Reading and
// writing key files lives in [github.com/vaxcert/vaxcert/keys/keyfile].
//
// # Security considerations
//
// [CA] and [DSC] keep their private key unexported and expose it only as a
// [crypto.Signer], so an HSM or KMS key can stand in for a file key.
//
// Reference: https://github.com/ehn-dcc-development/hcert-spec/blob/main/hcert_spec.md, §5 and Annex A
package issuing
