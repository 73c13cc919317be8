package service

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/textcheck"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/schemas"
)

// validationOptions are the payload options record validation runs
// issuer.BuildPayload with: only its checks matter, so the UVCI secret is a
// fixed dummy and the issuer name a placeholder.
func validationOptions(vs *schemas.ValueSets) issuer.PayloadOptions {
	if vs == nil {
		vs = schemas.DefaultValueSets()
	}
	return issuer.PayloadOptions{Country: "VN", Issuer: "validation", ValueSets: vs,
		UVCISecret: []byte(strings.Repeat("v", issuer.MinUVCISecretLen))}
}

// validateDose checks one uploaded dose and its person with the same rules
// that issuance applies ([issuer.BuildPayload]: required fields, formats,
// value sets, dose date not before birth), plus intake rules: status draft
// or finalised, national ID shape, dose date not in the future, bounded
// site, record id and lot. Field names are those of the dose-record format
// without the "doses[i]." prefix ("product", "person.birth_date"). Codes
// that are in their value set but no longer active are accepted: the shot
// happened; issuance will refuse the code.
//
// A text field holding a control character or invalid UTF-8 is refused
// with [textcheck.ErrControl] before any other check: bulk-upload rows do
// not pass the server's JSON edge check, and PostgreSQL would refuse the
// text (SQLSTATE 22021) that SQLite stores.
func (s *Service) validateDose(p issuer.Person, d issuer.Dose, today string) []*issuer.FieldError {
	var errs []*issuer.FieldError
	add := func(field string, err error) {
		if !hasField(errs, field) {
			errs = append(errs, &issuer.FieldError{Field: field, Err: err})
		}
	}
	for _, f := range []struct{ name, v string }{{"person.id", p.ID}, {"person.family_name", p.FamilyName},
		{"person.given_name", p.GivenName}, {"person.birth_date", p.BirthDate}, {"record_id", d.RecordID},
		{"site", d.Site}, {"product", d.Product}, {"manufacturer", d.Manufacturer}, {"lot", d.Lot},
		{"date", d.Date}, {"country", d.Country}, {"status", d.Status}} {
		if !textcheck.Valid(f.v) {
			add(f.name, textcheck.ErrControl)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if !validNationalID(p.ID) {
		add("person.id", fieldErr(p.ID))
	}
	switch d.Status {
	case issuer.StatusDraft, issuer.StatusFinalised:
	case "":
		add("status", issuer.ErrMissing)
	default:
		add("status", issuer.ErrInvalid)
	}
	for _, f := range []struct{ name, v string }{{"site", d.Site}, {"record_id", d.RecordID}, {"lot", d.Lot}} {
		if utf8.RuneCountInString(f.v) > limits.MaxRecordField || !utf8.ValidString(f.v) || strings.TrimSpace(f.v) != f.v {
			add(f.name, issuer.ErrInvalid)
		}
	}
	if d.Date > today && len(d.Date) == len(today) {
		add("date", issuer.ErrInvalid)
	}
	d.Status = issuer.StatusFinalised
	_, err := issuer.BuildPayload(issuer.Record{Person: p, Doses: []issuer.Dose{d}}, s.check)
	var fe *issuer.FieldError
	switch {
	case err == nil, errors.Is(err, issuer.ErrInactive):
	case errors.As(err, &fe):
		if !hasField(errs, fe.Field) {
			add(strings.TrimPrefix(fe.Field, "doses[0]."), fe.Err)
		}
	default:
		add("record", err)
	}
	return errs
}

func hasField(errs []*issuer.FieldError, field string) bool {
	field = strings.TrimPrefix(field, "doses[0].")
	for _, e := range errs {
		if e.Field == field {
			return true
		}
	}
	return false
}

func fieldErr(v string) error {
	if v == "" {
		return issuer.ErrMissing
	}
	return issuer.ErrInvalid
}

// validNationalID reports whether id is shaped like a Vietnamese national ID
// number, 12 digits (CCCD) or 9 (CMND): the shape the identity provider's
// subjects have (see internal/auth), so that citizens can find the records
// uploaded for them.
func validNationalID(id string) bool {
	if len(id) != 12 && len(id) != 9 {
		return false
	}
	for i := range len(id) {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// dateOf formats t as YYYY-MM-DD.
func dateOf(t time.Time) string { return t.Format(time.DateOnly) }
