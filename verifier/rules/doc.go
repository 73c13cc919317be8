// Package rules loads EU DCC business rules (the gateway's rule envelope
// with CertLogic logic), selects the ones that apply to a verification as
// the EU verifier apps do, and evaluates them with package certlogic.
//
//	set, err := rules.ParseSet(fileBytes)          // or rules.LoadDir(os.DirFS(dir))
//	sel := set.Select(rules.Selection{Country: "VN", CertType: rules.TypeVaccination, At: now})
//	data := rules.Data(payload, rules.External{ValidationClock: now, CountryCode: "VN", …})
//	report := sel.Evaluate(data)                    // report.Passed(), report.Failed()
//
// # Rule envelope
//
// A rule is validated against the gateway's JSON schema (a copy is
// embedded as [Schema]; the typed checks here are tested to agree with a
// JSON Schema validator on it), then its Logic is validated and compiled
// as CertLogic, and Engine must be "CERTLOGIC". One deviation from the
// schema published next to the real rule sets
// (shared/testdata/rules/validation-rule-schema.json): its Identifier
// pattern ^(GR|VR|TR|RR|IR)-[A-Z]{2}-[1-9]\d*$ rejects every real rule
// ("VR-EU-0000", "TR-DE-0001", …); the embedded copy uses the gateway's
// documented pattern ^(GR|VR|TR|RR|IR)-[A-Z]{2}-\d{4}$, and a test pins
// that this is the only difference.
//
// # Selection
//
// As the EU DCC verifier apps do (dgca-verifier-app-android
// getRulesBy): acceptance rules of the country of arrival or of the
// venue, invalidation rules of the certificate's issuing country; the
// rule's CertificateType is General or the certificate's type; ValidFrom ≤
// verification time ≤ ValidTo; a rule with a Region only for that region;
// and of each Identifier only the highest Version (semantic versioning).
//
// # Data
//
// The rules see {"payload": <the eu_dcc_v1 object as JSON>, "external":
// {"valueSets": {id: [codes…]}, "validationClock", "countryCode", "exp",
// "iat", "kid", "region"}} (times as RFC 3339 strings); see [Data].
//
// # Security considerations
//
// Evaluation fails closed: a rule whose evaluation errors is "open" and
// counts as failed, and a selection with no rule at all is reported so
// that the caller can refuse ([Report.Passed] is false). Nothing here
// does I/O except [LoadDir], which reads an fs.FS it is given; sizes and
// counts are bounded (internal/limits).
//
// Rules and Sets are immutable and safe for concurrent use.
package rules
