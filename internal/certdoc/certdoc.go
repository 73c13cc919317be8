package certdoc

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/vaxcert/vaxcert/internal/hcqr"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/schemas"
)

// Document is what the printed certificate shows. Text fields are display
// strings in Vietnamese and/or English (value-set codes already resolved to
// their display names); they are NFC-normalised before printing. Fields that
// do not belong to Type are ignored.
type Document struct {
	// HolderName is the name as written, with diacritics ("Nguyễn Văn Đức").
	// HolderNameStd is the ICAO 9303 standardised name ("NGUYEN<<VAN<DUC" or
	// "NGUYEN VAN DUC"). At least one of the two is required.
	HolderName    string
	HolderNameStd string
	// BirthDate is the date of birth as in the DCC: YYYY-MM-DD, YYYY-MM,
	// YYYY or empty (printed as a dash).
	BirthDate string

	// Type selects the title and the detail rows; required.
	Type schemas.CertType
	// Disease is the disease or agent targeted ("COVID-19"); required.
	Disease string

	// Vaccination (Type vaccination; all required): product, vaccine type,
	// manufacturer or marketing authorisation holder, dose N of M, date of
	// vaccination.
	Vaccine      string
	VaccineType  string
	Manufacturer string // also the optional test device manufacturer
	DoseNumber   int
	SeriesDoses  int
	DoseDate     string

	// Test (Type test): test type, sample collection time and result are
	// required; the NAA test name, Manufacturer and testing centre are
	// optional.
	TestType   string
	TestName   string
	SampleTime string
	TestResult string
	TestCentre string

	// Recovery (Type recovery; all required): date of the first positive
	// result, certificate valid from and until.
	FirstPositive string
	ValidFrom     string
	ValidUntil    string

	// Country is where the vaccination or test took place (display name);
	// required.
	Country string
	// Issuer is the certificate issuer ("Bộ Y tế / Ministry of Health of
	// Viet Nam") and UVCI the certificate identifier; both required.
	Issuer string
	UVCI   string

	// IssuedAt and ExpiresAt are the CWT iat and exp; both required, printed
	// as dates in their own location. IssuedAt also sets the PDF creation
	// date, so the same Document always renders to the same bytes.
	IssuedAt  time.Time
	ExpiresAt time.Time

	// HC1 is the QR payload, "HC1:" followed by Base45; required.
	HC1 string
}

// Text length limits, in characters: the DCC schema allows 80 per name part
// (fn and gn, joined with a separator) and per free-text field; display names
// from value sets stay well under maxText. A Document at these limits still
// fits one page.
const (
	maxName = 2*80 + 2
	maxText = 100
	maxDose = 99 // dose numbers and series lengths

	// maxBytesPerChar bounds the UTF-8 bytes per character before NFC
	// normalisation: a decomposed Vietnamese letter takes up to 5 bytes.
	maxBytesPerChar = 8
)

// hc1Prefix is the HCERT context identifier.
const hc1Prefix = "HC1:"

// RenderPDF renders doc as a one-page A4 PDF: the bilingual
// (Vietnamese/English) certificate with the HC1 QR code, for the holder to
// print. The same doc always yields the same bytes.
//
// Errors: a [*FieldError] for a bad field, or [ErrTooMuchText]; both match
// [ErrInvalidDocument], and name at most the field, never its value. Any
// other error is an internal failure of the PDF writer.
//
// RenderPDF is safe for concurrent use.
func RenderPDF(doc Document) ([]byte, error) {
	d, err := normalize(doc)
	if err != nil {
		return nil, err
	}
	m, ok := hcqr.Encode(d.HC1)
	if !ok {
		return nil, &FieldError{Field: "HC1", Reason: ReasonHC1TooLong}
	}
	return render(&d, m)
}

// field is one text field of a Document, for validation.
type field struct {
	name     string
	v        *string
	required bool
	max      int
}

// normalize validates doc and returns a copy with NFC-normalised text.
func normalize(doc Document) (Document, error) {
	switch {
	case doc.HC1 == "":
		return doc, &FieldError{Field: "HC1", Reason: ReasonMissing}
	case len(doc.HC1) > limits.MaxQRText:
		return doc, &FieldError{Field: "HC1", Reason: ReasonHC1TooLong}
	}
	if !strings.HasPrefix(doc.HC1, hc1Prefix) {
		return doc, &FieldError{Field: "HC1", Reason: ReasonHC1Prefix}
	}
	if !hcqr.IsAlphanumeric(doc.HC1) {
		return doc, &FieldError{Field: "HC1", Reason: ReasonHC1Charset}
	}

	fields := []field{
		{"HolderName", &doc.HolderName, false, maxName},
		{"HolderNameStd", &doc.HolderNameStd, false, maxName},
		{"BirthDate", &doc.BirthDate, false, maxText},
		{"Disease", &doc.Disease, true, maxText},
		{"Country", &doc.Country, true, maxText},
		{"Issuer", &doc.Issuer, true, maxText},
		{"UVCI", &doc.UVCI, true, maxText},
	}
	switch doc.Type {
	case schemas.TypeVaccination:
		fields = append(fields,
			field{"Vaccine", &doc.Vaccine, true, maxText},
			field{"VaccineType", &doc.VaccineType, true, maxText},
			field{"Manufacturer", &doc.Manufacturer, true, maxText},
			field{"DoseDate", &doc.DoseDate, true, maxText})
		if doc.DoseNumber < 1 || doc.DoseNumber > maxDose {
			return doc, &FieldError{Field: "DoseNumber", Reason: ReasonRange}
		}
		if doc.SeriesDoses < 1 || doc.SeriesDoses > maxDose {
			return doc, &FieldError{Field: "SeriesDoses", Reason: ReasonRange}
		}
	case schemas.TypeTest:
		fields = append(fields,
			field{"TestType", &doc.TestType, true, maxText},
			field{"TestName", &doc.TestName, false, maxText},
			field{"Manufacturer", &doc.Manufacturer, false, maxText},
			field{"SampleTime", &doc.SampleTime, true, maxText},
			field{"TestResult", &doc.TestResult, true, maxText},
			field{"TestCentre", &doc.TestCentre, false, maxText})
	case schemas.TypeRecovery:
		fields = append(fields,
			field{"FirstPositive", &doc.FirstPositive, true, maxText},
			field{"ValidFrom", &doc.ValidFrom, true, maxText},
			field{"ValidUntil", &doc.ValidUntil, true, maxText})
	default:
		return doc, &FieldError{Field: "Type", Reason: ReasonType}
	}
	for _, f := range fields {
		if len(*f.v) > maxBytesPerChar*f.max { // bound the work before normalising
			return doc, &FieldError{Field: f.name, Reason: ReasonTooLong}
		}
		if !utf8.ValidString(*f.v) {
			return doc, &FieldError{Field: f.name, Reason: ReasonText}
		}
		*f.v = strings.TrimSpace(norm.NFC.String(*f.v))
		switch {
		case *f.v == "" && f.required:
			return doc, &FieldError{Field: f.name, Reason: ReasonMissing}
		case utf8.RuneCountInString(*f.v) > f.max:
			return doc, &FieldError{Field: f.name, Reason: ReasonTooLong}
		case strings.IndexFunc(*f.v, func(r rune) bool { return !unicode.Is(repertoire, r) }) >= 0:
			return doc, &FieldError{Field: f.name, Reason: ReasonText}
		}
	}
	if doc.HolderName == "" && doc.HolderNameStd == "" {
		return doc, &FieldError{Field: "HolderName", Reason: ReasonMissing}
	}
	if doc.IssuedAt.IsZero() {
		return doc, &FieldError{Field: "IssuedAt", Reason: ReasonMissing}
	}
	if doc.ExpiresAt.IsZero() {
		return doc, &FieldError{Field: "ExpiresAt", Reason: ReasonMissing}
	}
	if !doc.ExpiresAt.After(doc.IssuedAt) {
		return doc, &FieldError{Field: "ExpiresAt", Reason: ReasonRange}
	}
	return doc, nil
}

// dose formats the dose number as "N/M".
func (d *Document) dose() string {
	return strconv.Itoa(d.DoseNumber) + "/" + strconv.Itoa(d.SeriesDoses)
}
