// Package verifier checks EU DCC (HCERT) QR payloads offline, against a
// locally held trust store of document signer certificates (DSCs).
//
// It is a library a phone app embeds: it does no I/O and imports no
// networking, database, issuer or server code (verifier/deps_test.go
// enforces this). Input is bytes and a time; output is a [Result] that
// reports every check on its own, with a stable [Reason] code for each
// failure.
//
//	v, err := verifier.New(trustList, verifier.WithClockSkew(5*time.Minute))
//	res, err := v.Verify(qrText, time.Now())
//	if err != nil { // *verifier.Error: switch on errors.As(err, &e); e.Reason
//		...
//	}
//
// # Checks
//
// The checks run in pipeline order; a check is [StatusSkip] only when a
// stage it depends on failed:
//
//	prefix      "HC1:" and a size limit
//	base45      strict RFC 9285 Base45
//	decompress  zlib, bounded (a decompression bomb fails fast)
//	cose        COSE_Sign1 (tag 18, untagged, or in CWT tag 61) and CWT claims
//	signature   kid lookup (protected header first, never falling back when
//	            it is present), every DSC with that kid tried, algorithm
//	            decided by the trusted key: ES256 only with P-256, PS256 only
//	            with RSA ≥ 2048
//	key_usage   the DSC's Extended Key Usage against the certificate type
//	validity    DSC notBefore ≤ iat ≤ now ≤ exp ≤ DSC notAfter, with a
//	            configurable clock-skew allowance on "now"; exp before iat
//	            is never valid
//	schema      the DCC JSON schema
//	value_sets  coded members in the EU value sets
//
// Checks configured with [WithCheck] ([CertificateCheck]) follow, on a
// certificate that passed all of the above: [CheckRevocation], then
// [CheckRules], then any others. [Verifier.Checks] lists what a Verifier
// runs; a [Result] reports exactly those, through accessors
// ([Result.Checks], [Result.Status], [Result.Outcome]), so adding a check
// breaks no caller.
//
// # What a Result reveals
//
// Nothing from a payload whose signature did not verify leaves the
// verifier: after a failed signature every later check is skipped, and the
// Result's accessors return nothing from the payload (the explicitly named
// [Result.UnverifiedRawDCC] and [Result.UnverifiedPayloadJSON] exist for
// diagnostics). Once the signature verified, the signer, the CWT times and
// the type are available; the payload itself ([Result.Certificate],
// [Result.DCC], the report's "certificate") only when every check passed.
// A zero Result is invalid with [ReasonInternal].
//
// # Security considerations
//
// The verifier fails closed: a result is valid only when every check
// passed. The algorithm comes from the trusted key, never from the message.
// Error messages and Reason codes never contain payload data (names and
// birth dates are personal data); the decoded certificate is only in a
// valid Result. Errors never wrap a dependency's internal errors.
//
// A Verifier is safe for concurrent use.
package verifier
