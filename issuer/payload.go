package issuer

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/vaxcert/vaxcert/internal/dates"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/schemas"
)

const (
	// payloadVersion is the DCC schema version BuildPayload writes (ver).
	payloadVersion = "1.3.0"
	// targetCOVID19 is the disease-agent-targeted code of COVID-19 (tg).
	targetCOVID19 = "840539006"
	// maxPersonID bounds the person ID, which only feeds the UVCI derivation.
	maxPersonID = 64
)

// PayloadOptions configures [BuildPayload].
type PayloadOptions struct {
	// Country is the issuing country, ISO 3166-1 alpha-2 in upper case
	// ("VN"). It names the UVCI's country.
	Country string
	// Issuer is the certificate issuer written to v[0].is, e.g. "Ministry of
	// Health of Viet Nam"; at most 80 characters.
	Issuer string
	// UVCISecret is the per-deployment HMAC key of [DeriveUVCI], at least
	// [MinUVCISecretLen] bytes. It is confidential, and must stay the same for
	// a deployment's lifetime for UVCIs to stay stable.
	UVCISecret []byte
	// ValueSets are the value sets codes are checked against; nil means
	// [schemas.DefaultValueSets].
	ValueSets *schemas.ValueSets
	// IssuedAt is when the certificate is issued. Its second starts the
	// UVCI's opaque part, so that certificates issued together sort together
	// in the store's indexes ([DeriveUVCI]); a [Issuer] sets it from its
	// clock. The zero time counts as 2021-01-01 UTC.
	IssuedAt time.Time
	// Revision counts the certificates the person had before this one. It
	// enters the UVCI (from revision 1 on), so a UVCI is never derived twice
	// for one person: reverting a correction restores the old content under
	// a new UVCI, as the old one stays revoked. 0 for a first certificate.
	Revision int
}

// BuildPayload turns a dose record into the DCC payload of a vaccination
// certificate, ready to sign. Only finalised doses count: drafts are ignored
// and never signed.
//
// The checks, each failing with a [*FieldError] whose Field is the record's
// JSON path (dose indexes count from 0 in rec.Doses):
//   - person: id required; family_name or given_name required, each at most
//     80 characters without control characters, and transliterable to A–Z
//     ([Transliterate]); birth_date YYYY-MM-DD, YYYY-MM or YYYY, a real
//     calendar date in 1900–2099 ([ErrMissing], [ErrInvalid]);
//   - doses: at most limits.MaxDosesPerPerson; status draft or finalised; at
//     least one finalised ([ErrNotFinalised]);
//   - each finalised dose: record_id, site, product, manufacturer, date
//     (YYYY-MM-DD), country, dose_number ≥ 1 and series_doses ≥ 1 required;
//     product, manufacturer and country in their value sets ([ErrValueSet])
//     and active ([ErrInactive]); lot is optional;
//   - consistency ([ErrContradictory]): two finalised doses with the same
//     dose_number, or the same site and record_id, must be the same shot
//     (same dose and series numbers, product, manufacturer, lot, date and
//     country); exact duplicates, such as one shot synced twice, are merged.
//     Dose dates must not precede the birth date, nor the date of a lower
//     dose number.
//
// The certificate covers the latest dose, the one with the highest
// dose_number: dn, sd (a booster may have dn > sd), dt, co, mp, ma, and vp
// from the product. Names are NFC-normalised and trimmed, with fnt and gnt
// from [Transliterate]. ci is [DeriveUVCI] over the person ID, the holder
// fields and the whole merged set of finalised doses, so the same finalised
// doses give the same UVCI in any order and with any drafts, and any
// correction of the certificate's content gives a new one. Finally the payload is validated
// against the schema and value sets; a failure is a FieldError with Field
// "payload" wrapping the schemas error.
//
// Errors never include field values, which are personal data. BuildPayload
// is safe for concurrent use if opts.ValueSets is.
//
// Reference: eu-dcc-schema DCC.combined-schema.json 1.3.x; eHN guidelines
// on verifiable vaccination certificates (UVCI, Annex 2).
func BuildPayload(rec Record, opts PayloadOptions) (*schemas.DCC, error) {
	vs := opts.ValueSets
	if vs == nil {
		vs = schemas.DefaultValueSets()
	}
	if err := checkOptions(opts, vs); err != nil {
		return nil, err
	}
	return buildPayload(rec, opts, vs)
}

// buildPayload is BuildPayload on options already checked ([New] checks an
// Issuer's once).
func buildPayload(rec Record, opts PayloadOptions, vs *schemas.ValueSets) (*schemas.DCC, error) {

	p := rec.Person
	id := strings.TrimSpace(p.ID)
	if err := checkText(id, maxPersonID); err != nil {
		return nil, &FieldError{Field: "person.id", Err: err}
	}
	fn, fnt, err := name(p.FamilyName)
	if err != nil {
		return nil, &FieldError{Field: "person.family_name", Err: err}
	}
	gn, gnt, err := name(p.GivenName)
	if err != nil {
		return nil, &FieldError{Field: "person.given_name", Err: err}
	}
	if fn == "" && gn == "" {
		return nil, &FieldError{Field: "person.family_name", Err: ErrMissing}
	}
	switch {
	case p.BirthDate == "":
		return nil, &FieldError{Field: "person.birth_date", Err: ErrMissing}
	case !validDate(p.BirthDate, true):
		return nil, &FieldError{Field: "person.birth_date", Err: ErrInvalid}
	}

	shots, err := finalisedShots(rec.Doses, p.BirthDate, vs)
	if err != nil {
		return nil, err
	}
	last := shots[len(shots)-1]
	vp, ok := vs.VaccineProphylaxis(last.Product)
	if !ok {
		return nil, &FieldError{Field: doseField(last.index, "product"), Err: ErrValueSet}
	}

	dcc := &schemas.DCC{
		Ver: payloadVersion,
		Nam: schemas.Name{FN: fn, FNT: fnt, GN: gn, GNT: gnt},
		Dob: p.BirthDate,
		V: []schemas.Vaccination{{
			TG: targetCOVID19,
			VP: vp,
			MP: last.Product,
			MA: last.Manufacturer,
			DN: last.DoseNumber,
			SD: last.SeriesDoses,
			DT: last.Date,
			CO: last.Country,
			IS: opts.Issuer,
			CI: DeriveUVCI(opts.UVCISecret, opts.Country, opts.IssuedAt, id, revisionKey(opts.Revision)+contentKey(fn, gn, p.BirthDate, opts.Issuer)+doseKey(shots)),
		}},
	}
	if err := dcc.Validate(vs); err != nil {
		return nil, &FieldError{Field: "payload", Err: err}
	}
	return dcc, nil
}

// checkOptions checks the caller's configuration.
func checkOptions(opts PayloadOptions, vs *schemas.ValueSets) error {
	switch {
	case opts.Country == "":
		return &FieldError{Field: "options.country", Err: ErrMissing}
	case !isUpperAlpha2(opts.Country):
		return &FieldError{Field: "options.country", Err: ErrInvalid}
	case !vs.Has(schemas.SetCountry, opts.Country):
		return &FieldError{Field: "options.country", Err: ErrValueSet}
	}
	if err := checkText(opts.Issuer, maxNameLen); err != nil {
		return &FieldError{Field: "options.issuer", Err: err}
	}
	switch {
	case len(opts.UVCISecret) == 0:
		return &FieldError{Field: "options.uvci_secret", Err: ErrMissing}
	case len(opts.UVCISecret) < MinUVCISecretLen:
		return &FieldError{Field: "options.uvci_secret", Err: ErrInvalid}
	}
	return nil
}

// name returns the NFC, trimmed form of one name part and its
// transliteration. An empty part is allowed here.
func name(s string) (string, string, error) {
	s = strings.TrimSpace(norm.NFC.String(s))
	if s == "" {
		return "", "", nil
	}
	if err := checkText(s, maxNameLen); err != nil {
		return "", "", err
	}
	t := Transliterate(s)
	if t == "" {
		return "", "", ErrInvalid // nothing in A–Z, e.g. only CJK or digits
	}
	return s, t, nil
}

// checkText requires s to be non-empty, valid UTF-8 of at most max
// characters, with no control characters.
func checkText(s string, max int) error {
	if s == "" {
		return ErrMissing
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return ErrInvalid
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return ErrInvalid
		}
	}
	return nil
}

// shot is a finalised dose and its index in the record.
type shot struct {
	Dose
	index int
}

// sameShot reports whether a and b record the same vaccination; the site and
// record_id may differ (one shot synced from two places).
func sameShot(a, b Dose) bool {
	return a.DoseNumber == b.DoseNumber && a.SeriesDoses == b.SeriesDoses &&
		a.Product == b.Product && a.Manufacturer == b.Manufacturer &&
		a.Lot == b.Lot && a.Date == b.Date && a.Country == b.Country
}

// finalisedShots checks the doses and returns the finalised ones, duplicates
// merged, in ascending dose-number order.
func finalisedShots(doses []Dose, birthDate string, vs *schemas.ValueSets) ([]shot, error) {
	if len(doses) > limits.MaxDosesPerPerson {
		return nil, &FieldError{Field: "doses", Err: ErrInvalid}
	}
	shots := make([]shot, 0, len(doses))
	for i, d := range doses {
		switch d.Status {
		case StatusDraft:
			continue
		case StatusFinalised:
		case "":
			return nil, &FieldError{Field: doseField(i, "status"), Err: ErrMissing}
		default:
			return nil, &FieldError{Field: doseField(i, "status"), Err: ErrInvalid}
		}
		if err := checkDose(i, d, birthDate, vs); err != nil {
			return nil, err
		}
		dup := false
		for _, s := range shots {
			same := sameShot(s.Dose, d)
			switch {
			case s.DoseNumber == d.DoseNumber && !same:
				return nil, &FieldError{Field: doseField(i, "dose_number"), Err: ErrContradictory}
			case s.Site == d.Site && s.RecordID == d.RecordID && !same:
				return nil, &FieldError{Field: doseField(i, "record_id"), Err: ErrContradictory}
			}
			dup = dup || same
		}
		if !dup {
			shots = append(shots, shot{Dose: d, index: i})
		}
	}
	if len(shots) == 0 {
		return nil, &FieldError{Field: "doses", Err: ErrNotFinalised}
	}
	slices.SortFunc(shots, func(a, b shot) int { return cmp.Compare(a.DoseNumber, b.DoseNumber) })
	for k := 1; k < len(shots); k++ {
		if shots[k].Date < shots[k-1].Date {
			return nil, &FieldError{Field: doseField(shots[k].index, "date"), Err: ErrContradictory}
		}
	}
	return shots, nil
}

// checkDose checks one finalised dose on its own.
func checkDose(i int, d Dose, birthDate string, vs *schemas.ValueSets) error {
	for _, f := range []struct{ name, value string }{
		{"record_id", d.RecordID}, {"site", d.Site}, {"product", d.Product},
		{"manufacturer", d.Manufacturer}, {"date", d.Date}, {"country", d.Country},
	} {
		if strings.TrimSpace(f.value) == "" {
			return &FieldError{Field: doseField(i, f.name), Err: ErrMissing}
		}
	}
	for _, f := range []struct {
		name string
		n    int
	}{{"dose_number", d.DoseNumber}, {"series_doses", d.SeriesDoses}} {
		switch {
		case f.n == 0:
			return &FieldError{Field: doseField(i, f.name), Err: ErrMissing}
		case f.n < 0:
			return &FieldError{Field: doseField(i, f.name), Err: ErrInvalid}
		}
	}
	switch {
	case !validDate(d.Date, false):
		return &FieldError{Field: doseField(i, "date"), Err: ErrInvalid}
	case d.Date < birthDate: // both ISO 8601, so string order is date order
		return &FieldError{Field: doseField(i, "date"), Err: ErrContradictory}
	case !isUpperAlpha2(d.Country):
		return &FieldError{Field: doseField(i, "country"), Err: ErrInvalid}
	}
	for _, f := range []struct{ name, set, code string }{
		{"product", schemas.SetVaccineProduct, d.Product},
		{"manufacturer", schemas.SetVaccineMAH, d.Manufacturer},
		{"country", schemas.SetCountry, d.Country},
	} {
		switch {
		case !vs.Has(f.set, f.code):
			return &FieldError{Field: doseField(i, f.name), Err: ErrValueSet}
		case !vs.Active(f.set, f.code):
			return &FieldError{Field: doseField(i, f.name), Err: ErrInactive}
		}
	}
	return nil
}

// doseField names a field of rec.Doses[i].
func doseField(i int, field string) string {
	return "doses[" + strconv.Itoa(i) + "]." + field
}

// validDate reports whether s is YYYY-MM-DD (or, if partial, also YYYY-MM or
// YYYY) with a year in 1900–2099, as the schema's dob pattern requires, and a
// real calendar month and day.
func validDate(s string, partial bool) bool {
	return (partial || len(s) == 10) && dates.Partial(s, true)
}

// revisionKey is the UVCI input for a revision: empty for the first
// certificate, so first UVCIs do not depend on revisions at all.
func revisionKey(rev int) string {
	if rev <= 0 {
		return ""
	}
	return "rev:" + strconv.Itoa(rev) + "|"
}

// contentKey is the canonical form of the holder fields that appear in the
// certificate. They are part of the UVCI's input so that a corrected name
// or birth date gives a new UVCI: revoking the old certificate's UVCI must
// never revoke its replacement.
func contentKey(fields ...string) string {
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
	}
	b.WriteByte('|')
	return b.String()
}

// doseKey is the canonical form of the merged finalised doses, in dose-number
// order, for the UVCI: every shot field, each length-prefixed. Site and
// record_id are left out, so a shot synced from another site keeps its UVCI.
func doseKey(shots []shot) string {
	var b strings.Builder
	for _, s := range shots {
		for _, f := range []string{
			strconv.Itoa(s.DoseNumber), strconv.Itoa(s.SeriesDoses), s.Product,
			s.Manufacturer, s.Lot, s.Date, s.Country,
		} {
			b.WriteString(strconv.Itoa(len(f)))
			b.WriteByte(':')
			b.WriteString(f)
		}
		b.WriteByte(';')
	}
	return b.String()
}
