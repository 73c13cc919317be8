package issuer

// Record is the dose-record interchange format: one person and their dose
// records, as a JSON document. The CLI (vaxcert issue --record) and the
// issuer service (POST /v1/dose-records) accept it.
//
//	{"person": {"id": "…", "family_name": "Nguyễn", "given_name": "Văn Đức", "birth_date": "1990-04-12"},
//	 "doses": [{"record_id": "…", "site": "…", "product": "EU/1/20/1528", "manufacturer": "ORG-100030215",
//	            "lot": "…", "dose_number": 2, "series_doses": 2, "date": "2021-09-01", "country": "VN",
//	            "status": "finalised"}]}
type Record struct {
	Person Person `json:"person"`
	Doses  []Dose `json:"doses"`
}

// Person identifies the certificate holder. ID is the national ID number; it
// never appears in a certificate, a log line or an error message.
type Person struct {
	ID         string `json:"id"`
	FamilyName string `json:"family_name"`
	GivenName  string `json:"given_name"`
	BirthDate  string `json:"birth_date"` // YYYY-MM-DD, YYYY-MM or YYYY
}

// Dose is one administered dose as reported by a vaccination site.
type Dose struct {
	RecordID     string `json:"record_id"`    // the site's own identifier, unique per site
	Site         string `json:"site"`         // the reporting site's code
	Product      string `json:"product"`      // value set vaccines-covid-19-names (mp)
	Manufacturer string `json:"manufacturer"` // value set vaccines-covid-19-auth-holders (ma)
	Lot          string `json:"lot"`
	DoseNumber   int    `json:"dose_number"`  // dn, ≥ 1
	SeriesDoses  int    `json:"series_doses"` // sd, ≥ 1
	Date         string `json:"date"`         // YYYY-MM-DD
	Country      string `json:"country"`      // ISO 3166-1 alpha-2
	Status       string `json:"status"`       // StatusDraft or StatusFinalised
}

// Dose statuses. Only finalised doses are ever signed.
const (
	StatusDraft     = "draft"
	StatusFinalised = "finalised"
)
