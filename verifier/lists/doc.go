// Package lists checks the signed lists a verifier takes from its issuer:
// the trust list (which document signer certificates to trust) and the
// revocation list (which certificates are withdrawn), and loads an
// EU-gateway-style trust list file of foreign DSCs. It is the pure core of
// verifier sync: bytes and a time in, a verified value or a typed [*Error]
// out. Fetching, the disk copy and the schedule live outside the verifier
// library (internal/verifysync).
//
// # The envelope
//
// Every signed list is a JWS (RFC 7515) in compact serialization:
//
//	BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature)
//
// The protected header is {"alg": "ES256"|"PS256", "x5c": [signer, CSCA?]}
// ("typ" and "kid" allowed, nothing else: no "crit", "jku", "x5u" or
// "jwk"). The signer is a list-signing certificate the CSCA issued, with
// the EKU [OIDListSigner] (so it signs no DCC, and no DSC signs a list).
// The payload is JSON beginning with the common [Claims]:
//
//	{"kind": "...", "issuer": "VN", "sequence": 12, "iat": 1780000000, "exp": 1780172800, ...}
//
// [Open] checks, in order: size, header, signature (algorithm from the
// signer's key, never from the header alone), chain to the pinned root at
// now, list-signer EKU, kind, iat not in the future, exp not past (an
// expired list is refused: a frozen copy cannot be replayed for ever).
// [Version.Check] refuses a rollback: a lower sequence, or the same
// sequence issued earlier; and a list from another issuer. Other signed
// documents (rule sets, value sets) reuse [Open] and [Version] with a kind
// of their own.
//
// Signature checking is written here with crypto/ecdsa and crypto/rsa
// rather than taken from lestrrat-go/jwx: jwx's jws and jwk packages
// import net/http, which nothing in the verifier library may
// (verifier/deps_test.go). The issuer publishes with jwx
// (internal/listsign) and the tests verify jwx's output here.
//
// # Trust list (kind "vaxcert-trust-list")
//
// The payload is a JWK Set (RFC 7517 §5) with the claims as extra members.
// Each key is the DSC's public key with "kid" (the DCC kid: standard
// base64 of the first 8 bytes of SHA-256 of the DER), "x5c" (the DSC; up
// to two more certificates are accepted and not used: the chain ends at the
// pinned CSCA), "use": "sig", "cert_types" (a subset of "vaccination", "test",
// "recovery") and "country":
//
//	{"kind": "vaxcert-trust-list", "issuer": "VN", "sequence": 3, "iat": ..., "exp": ...,
//	 "keys": [{"kty": "EC", "crv": "P-256", "x": "...", "y": "...", "kid": "2mrh1QUjIvc=",
//	           "x5c": ["MIIB..."], "use": "sig", "cert_types": ["vaccination"], "country": "VN"}]}
//
// [ParseTrustList] checks every key: kid and JWK members match x5c[0], the
// DSC is signed by the pinned CSCA, and the DSC may sign only the types
// both its EKU and cert_types allow. A DSC left out of the list is not
// trusted: retiring a DSC makes the certificates it signed stop verifying.
//
// # Revocation list (kind "vaxcert-revocation-list")
//
// Revoked certificates are listed as DCC-style hashes: the first 16 bytes
// of SHA-256 of the UVCI (UCI), of the CWT issuer's country code followed
// by the UVCI (COUNTRYCODEUCI), and of the COSE signature, of r only for
// ES256 (SIGNATURE). No UVCI appears in clear text. Hashes are grouped in
// batches by type and by the expiry of the certificates they revoke;
// "hashes" is standard base64 of the concatenated, sorted 16-byte hashes:
//
//	{"kind": "vaxcert-revocation-list", "issuer": "VN", "sequence": 41, "since": 0, "iat": ..., "exp": ...,
//	 "batches": [{"type": "SIGNATURE", "expires": 1790000000, "hashes": "q83v..."}]}
//
// "since" is 0 for a full list. A delta ("since" = the sequence held)
// holds only what was added after it; [Revocations.Apply] merges it, and
// refuses a delta that does not follow the list held. Hashes are dropped
// once the certificate they revoke has expired. A certificate is revoked
// when any of its three hashes is listed ([Revocations.Contains]).
//
// # EU gateway file
//
// [ParseGateway] reads a JSON array of {kid, country, certificateType,
// rawData} (the DGCG trust list shape); entries of type DSC are trusted.
// It is unsigned: whoever installs it vouches for it.
//
// # State
//
// [State] holds the pinned root and the last good lists, and is replaced
// whole on each update, so it can be swapped atomically under concurrent
// verification. [State.Usable] says whether a verifier may answer (a
// trust list and a revocation list held and unexpired) and [State.Age]
// how old the data is, from the signed iat of the older list.
package lists
