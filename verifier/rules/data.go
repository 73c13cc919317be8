package rules

import (
	"encoding/base64"
	"time"

	"github.com/vaxcert/vaxcert/schemas"
)

// External is what the rules see next to the payload.
type External struct {
	ValueSets       map[string]any // valueSetId → []any of codes; see [ValueSetsData]
	ValidationClock time.Time
	CountryCode     string
	Region          string
	Exp, Iat        time.Time // the CWT's expiry and issue time
	KID             []byte
}

// Data builds the data context of a rule evaluation: {"payload": payload,
// "external": {...}}. payload is the eu_dcc_v1 object in certlogic's Go
// form (see [PayloadFromDCC], certlogic.FromJSON).
func Data(payload any, ext External) map[string]any {
	e := map[string]any{
		"valueSets":       ext.ValueSets,
		"validationClock": ext.ValidationClock.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		"countryCode":     ext.CountryCode,
	}
	if ext.ValueSets == nil {
		e["valueSets"] = map[string]any{}
	}
	if ext.Region != "" {
		e["region"] = ext.Region
	}
	if !ext.Exp.IsZero() {
		e["exp"] = ext.Exp.UTC().Format(time.RFC3339)
	}
	if !ext.Iat.IsZero() {
		e["iat"] = ext.Iat.UTC().Format(time.RFC3339)
	}
	if len(ext.KID) > 0 {
		e["kid"] = base64.StdEncoding.EncodeToString(ext.KID)
	}
	return map[string]any{"payload": payload, "external": e}
}

// ValueSetsData returns vs in the form rules see (external.valueSets): each
// valueSetId with the array of its codes, active or not. Build it once per
// value-set release ([NewCheck] does) and do not modify it.
func ValueSetsData(vs *schemas.ValueSets) map[string]any {
	m := map[string]any{}
	for _, id := range vs.IDs() {
		codes := vs.Set(id).Codes()
		if codes == nil {
			continue
		}
		arr := make([]any, len(codes))
		for i, c := range codes {
			arr[i] = c
		}
		m[id] = arr
	}
	return m
}

// PayloadFromDCC returns d as the JSON value rules see, built directly
// (no JSON round trip). Members the schema marks optional are left out
// when empty, as the CBOR had them absent.
func PayloadFromDCC(d *schemas.DCC) map[string]any {
	nam := make(map[string]any, 4)
	setNonEmpty(nam, "fn", d.Nam.FN)
	setNonEmpty(nam, "fnt", d.Nam.FNT)
	setNonEmpty(nam, "gn", d.Nam.GN)
	setNonEmpty(nam, "gnt", d.Nam.GNT)
	p := map[string]any{"ver": d.Ver, "nam": nam, "dob": d.Dob}
	if d.V != nil {
		vs := make([]any, len(d.V))
		for i, v := range d.V {
			vs[i] = map[string]any{"tg": v.TG, "vp": v.VP, "mp": v.MP, "ma": v.MA, "dn": float64(v.DN), "sd": float64(v.SD),
				"dt": v.DT, "co": v.CO, "is": v.IS, "ci": v.CI}
		}
		p["v"] = vs
	}
	if d.T != nil {
		ts := make([]any, len(d.T))
		for i, t := range d.T {
			m := map[string]any{"tg": t.TG, "tt": t.TT, "sc": t.SC, "tr": t.TR, "co": t.CO, "is": t.IS, "ci": t.CI}
			setNonEmpty(m, "nm", t.NM)
			setNonEmpty(m, "ma", t.MA)
			setNonEmpty(m, "tc", t.TC)
			ts[i] = m
		}
		p["t"] = ts
	}
	if d.R != nil {
		rs := make([]any, len(d.R))
		for i, r := range d.R {
			rs[i] = map[string]any{"tg": r.TG, "fr": r.FR, "co": r.CO, "is": r.IS, "df": r.DF, "du": r.DU, "ci": r.CI}
		}
		p["r"] = rs
	}
	return p
}

func setNonEmpty(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// CertType maps a DCC's type to the rule envelope's CertificateType.
func CertType(t schemas.CertType) string {
	switch t {
	case schemas.TypeVaccination:
		return TypeVaccination
	case schemas.TypeTest:
		return TypeTest
	case schemas.TypeRecovery:
		return TypeRecovery
	}
	return ""
}
