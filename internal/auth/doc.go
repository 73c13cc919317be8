// Package auth authenticates callers of the issuer service: citizens with a
// bearer JWT from the national identity provider, and staff with opaque API
// tokens carrying a [Role]. The HTTP layer extracts the credential with
// [BearerToken], then calls [CitizenVerifier.Verify] or looks the
// [HashStaffToken] of a staff token up in its database and checks
// [Role.Allows]. The package does no network or database I/O.
//
// # Citizens
//
// [NewCitizenVerifier] takes the identity provider's JWK Set as bytes (see
// [ReadJWKSFile]) and requires the expected issuer and audience
// ([WithIssuer], [WithAudience]). The key set is parsed once, strictly, and
// every key is bound to exactly one algorithm, taken from its "alg" member
// or implied by its type:
//
//	kty  crv      alg accepted          implied when "alg" is absent
//	EC   P-256    ES256                 ES256
//	RSA  -        RS256 or PS256        RS256 (the OpenID Connect default)
//	OKP  Ed25519  EdDSA                 EdDSA
//
// Everything else is refused when the key set is loaded: other curves, RSA
// keys under 2048 bits, HMAC ("oct") keys, any private member ("d", "p",
// "k", ...), "use" other than "sig", "key_ops" without "verify", and keys
// without "kid". Several keys may share a kid; a token must carry a kid,
// and is checked against every key under it whose algorithm equals the
// token's "alg". So "alg": "none", HMAC with a public key as the secret,
// and RSA/EC confusion all fail.
//
// The subject ("sub") must be a Vietnamese national ID number: 12 ASCII
// digits (CCCD, căn cước công dân, the citizen identity card and personal
// identification number issued since 2016) or 9 ASCII digits (CMND, chứng
// minh nhân dân, the older identity card still held by some citizens). No
// further structure (province code, century digit) is checked: the identity
// provider is the authority on which numbers exist.
//
// Key rotation: [CitizenVerifier.ReloadJWKS] swaps the key set atomically;
// a bad key set is rejected and the current one stays in use.
//
// # Staff tokens
//
// [NewStaffToken] returns a "vxs_"-prefixed token with 256 random bits and
// its SHA-256 hash; the service stores only the hash, with a [Role] (and,
// for [RoleUploader], a site). [Role.Allows] holds the permission matrix
// the HTTP layer maps endpoints through.
//
// # Development identity
//
// [GenerateDevIdentity] and [MintDevToken] stand in for the national
// identity provider in `make run` and tests. They are for development only:
// a service configured with the development JWK Set accepts tokens for any
// citizen from anyone who can read the key file.
//
// # Security considerations
//
// Errors never contain credentials or claim values, so they may be logged;
// [Citizen.ID] is personal data and must not be. Verification failures are
// *[Error] values with a [Reason]; all map to HTTP 401. Every input is
// bounded by limits.MaxBearerToken or limits.MaxJWKS before it is parsed,
// and a token must be three canonical base64url segments before jwx sees
// it, so each accepted token has exactly one spelling.
//
// All exported functions and types are safe for concurrent use, except
// [GenerateDevIdentity] on one directory.
package auth
