// Package limits holds every size and count limit applied to untrusted input,
// shared by the parse, verify and service paths. It holds constants only.
package limits

const (
	// MaxQRText is the longest HC1 text accepted, prefix included. It is the
	// capacity of the largest QR code (version 40, level L) in alphanumeric
	// mode; nothing longer can come from a scan.
	MaxQRText = 4296

	// MaxBase45Decoded bounds the Base45 output (2 bytes per 3 characters).
	MaxBase45Decoded = MaxQRText / 3 * 2

	// MaxCOSE bounds the inflated COSE_Sign1 message. Real DCCs are under
	// 1 KiB (EU test vectors: 284-870 bytes); the limit leaves room for
	// long names and RSA-3072 signatures. A zlib stream that inflates past it
	// is rejected as a decompression bomb after reading MaxCOSE+1 bytes.
	MaxCOSE = 16 << 10

	// CBOR decode limits for CWT claims and the DCC payload. A DCC nests at
	// most 5 levels (claims, hcert, dcc, v, entry); tags add one each.
	MaxCBORNesting       = 12
	MaxCBORArrayElements = 64
	MaxCBORMapPairs      = 64

	// MaxTrustList bounds a trust list document or a trust certificate file.
	MaxTrustList = 8 << 20
	// MaxTrustEntries bounds the number of certificates in one trust list.
	MaxTrustEntries = 20000
	// MaxCertificate bounds one certificate (PEM, DER or base64).
	MaxCertificate = 64 << 10
	// MaxKeyFile bounds a private-key or secret file read from disk.
	MaxKeyFile = 64 << 10

	// MaxRecordFile bounds one dose-record JSON document (CLI and API).
	MaxRecordFile = 1 << 20
	// MaxDosesPerPerson bounds the doses in one record document.
	MaxDosesPerPerson = 32

	// MaxVerifyBody bounds an HTTP verify request body.
	MaxVerifyBody = 16 << 10
	// MaxBatchRows bounds the rows of one bulk upload.
	MaxBatchRows = 1_000_000
	// MaxBatchLine bounds one NDJSON or CSV row of a bulk upload.
	MaxBatchLine = 16 << 10
	// MaxBatchBody bounds a whole bulk upload body.
	MaxBatchBody = 1 << 30
	// MaxAPIBody bounds an ordinary JSON API request body.
	MaxAPIBody = 64 << 10
	// MaxReportLine bounds one line of a bulk upload's report as the site
	// client (vaxcert upload) reads it.
	MaxReportLine = 64 << 10
	// MaxBatchPage bounds one page of GET /v1/dose-records/batches/{key}
	// (at most 1,000 rows) as the site client reads it.
	MaxBatchPage = 4 << 20
	// MaxPhoto bounds a photo attached to a correction request.
	MaxPhoto = 5 << 20
	// MaxRecordField bounds each text field of an uploaded dose record that
	// the DCC schema does not bound itself (site, record_id, lot): 80
	// characters, the schema's limit for its own text fields.
	MaxRecordField = 80
	// MaxCorrectionText bounds the free-text description of a citizen's
	// correction request, in bytes.
	MaxCorrectionText = 4 << 10

	// MaxJWKS bounds the identity provider's JWK Set document. A JWKS holds
	// a handful of public keys (an RSA-4096 JWK is under 1 KiB).
	MaxJWKS = 64 << 10
	// MaxBearerToken bounds a bearer token (a citizen JWT or a staff API
	// token), the "Bearer " scheme excluded. Identity-provider JWTs are
	// typically 1-2 KiB.
	MaxBearerToken = 8 << 10

	// MaxValueSet bounds one value-set JSON file loaded at run time. The
	// largest EU DCC value set, the Gateway's RAT device list, is a few
	// hundred entries (under 200 KiB).
	MaxValueSet = 1 << 20

	// MaxRuleFile bounds one business rule (the gateway's rule envelope with
	// its CertLogic). The largest real rule is under 5 KiB.
	MaxRuleFile = 64 << 10
	// MaxRuleSet bounds a rule-set file (a JSON array of rules).
	MaxRuleSet = 8 << 20
	// MaxRules bounds the rules loaded from one file or directory.
	MaxRules = 10000
	// MaxRuleTest bounds one rule test file (payload, external data with
	// value sets, expected result).
	MaxRuleTest = 1 << 20
)

const (
	// MaxRevocationList bounds a signed revocation list document (JWS
	// compact). A list of 1,000,000 16-byte hashes is about 28 MB.
	MaxRevocationList = 48 << 20
	// MaxRevocations bounds the hashes of one revocation list.
	MaxRevocations = 2_000_000
	// MaxGatewayFile bounds an EU-gateway-style trust list file (a JSON
	// array of {kid, country, certificateType, rawData}).
	MaxGatewayFile = 16 << 20
)
