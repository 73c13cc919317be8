// Package hcert is the HCERT (EU DCC) wire codec shared by the issuer and the
// verifier: the "HC1:" context prefix, a strict Base45 (RFC 9285), bounded
// zlib inflate and pooled deflate, the COSE_Sign1 envelope (tagged 18,
// untagged, or wrapped in CWT tag 61) and the CWT claims (iss 1, exp 4,
// iat 6, hcert -260 → 1).
//
// Reference: https://github.com/ehn-dcc-development/hcert-spec/blob/main/hcert_spec.md
//
// Every decoder is strict and bounded by the limits in
// [github.com/vaxcert/vaxcert/internal/limits]; errors never carry payload
// content, which is personal data. All functions are safe for concurrent use.
//
// The verifier's hot path has three hand-written pieces, each for the shape
// issuers write and each held to the library it stands in for by a
// differential fuzz test, with the library deciding everything else: the
// COSE_Sign1 parse (go-cose), the claims and eu_dcc_v1 decode
// (fxamacker/cbor; cwtfast.go says why) and the Sig_structure hashed for a
// cose.DigestVerifier (go-cose has no digest path for a Sign1Message).
package hcert
