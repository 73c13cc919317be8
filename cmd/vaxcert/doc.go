// Command vaxcert issues and verifies EU Digital COVID Certificates
// (HCERT, "HC1:" QR texts) for Viet Nam.
//
//	vaxcert keys init --dir D [--country VN] [--alg ES256|PS256] [--force]
//	vaxcert issue --keys D --record FILE.json [--png OUT.png] [--validity 365d]
//	vaxcert verify (--trust-cert CERT | --trust-dir D)... [--at TIME] [--skew DUR] [--rules DIR|FILE --country CC [--region R] [--root CSCA]] [--json] [PAYLOAD|-]
//	vaxcert rules test DIR [--json]
//	vaxcert rules sign --keys D --rules DIR [--value-sets DIR] [--sequence N] [--validity 48h] --out FILE
//	vaxcert version
//	vaxcert help [COMMAND]
//
// Exit status: 0 success (verify: the certificate is valid), 1 the
// certificate is invalid (verify only), 2 a usage or input error.
// Errors are printed to standard error as "vaxcert: error: ..." lines,
// followed by "vaxcert: hint: ..." lines where a hint helps. Neither carries
// personal data from a record or a certificate.
//
// The output of verify --json is a public contract, documented in the
// README.
package main
