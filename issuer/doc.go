// Package issuer turns finalised dose records into signed EU DCC (HCERT)
// vaccination certificates: dose records → DCC payload → CWT → COSE_Sign1
// (ES256 or PS256) → zlib → Base45 → "HC1:" → QR.
//
//	iss, err := issuer.New(dsc.Signer(), dsc.Cert, issuer.WithIssuerName("Ministry of Health of Viet Nam"),
//		issuer.WithUVCISecret(secret))
//	cert, err := iss.Issue(record) // cert.HC1, cert.UVCI, cert.PNG(…)
//
// # Guarantees
//
// Only finalised doses are signed. Incomplete or contradictory records, and
// payloads that fail the DCC schema or the EU value sets, are refused with a
// [*FieldError] naming the field; nothing is signed. [Issuer.Sign] checks
// the schema and value sets itself, so a payload from elsewhere is held to
// the same rule. Options are checked by [New], once. The same finalised
// records always give the same certificate content: only iat, exp, the
// signature and the UVCI (the issuing second, then a keyed hash of it and
// the content, [DeriveUVCI]) differ, so a person never sees two different
// statuses.
//
// The issuer signs through [crypto.Signer], so an HSM or a cloud KMS can
// hold the document signer's key. An Issuer is safe for concurrent use.
//
// Reference: https://github.com/ehn-dcc-development/hcert-spec/blob/main/hcert_spec.md
package issuer
