package rules

import (
	"encoding/base64"
	"time"

	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier/certlogic"
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
func Data(payload any, ext External) *certlogic.Object {
	vs := ext.ValueSets
	if vs == nil {
		vs = map[string]any{}
	}
	e := &certlogic.Object{
		Keys:   make([]string, 0, 7),
		Values: make([]any, 0, 7),
	}
	add := func(k string, v any) {
		e.Keys = append(e.Keys, k)
		e.Values = append(e.Values, v)
	}
	add("valueSets", vs)
	add("validationClock", ext.ValidationClock.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	add("countryCode", ext.CountryCode)
	if ext.Region != "" {
		add("region", ext.Region)
	}
	if !ext.Exp.IsZero() {
		add("exp", ext.Exp.UTC().Format(time.RFC3339))
	}
	if !ext.Iat.IsZero() {
		add("iat", ext.Iat.UTC().Format(time.RFC3339))
	}
	if len(ext.KID) > 0 {
		add("kid", base64.StdEncoding.EncodeToString(ext.KID))
	}
	return &certlogic.Object{Keys: dataKeys, Values: []any{payload, e}}
}

var dataKeys = []string{"payload", "external"}

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

// Member names of the DCC objects, in schema order.
var (
	vKeys = []string{"tg", "vp", "mp", "ma", "dn", "sd", "dt", "co", "is", "ci"}
	rKeys = []string{"tg", "fr", "co", "is", "df", "du", "ci"}
)

// PayloadFromDCC returns d as the JSON value rules see, built directly
// (no JSON round trip; objects as *certlogic.Object). Members the schema
// marks optional are left out when empty, as the CBOR had them absent.
func PayloadFromDCC(d *schemas.DCC) *certlogic.Object {
	nam := &certlogic.Object{}
	optional(nam, "fn", d.Nam.FN)
	optional(nam, "fnt", d.Nam.FNT)
	optional(nam, "gn", d.Nam.GN)
	optional(nam, "gnt", d.Nam.GNT)
	p := &certlogic.Object{Keys: []string{"ver", "nam", "dob"}, Values: []any{d.Ver, nam, d.Dob}}
	if d.V != nil {
		vs := make([]any, len(d.V))
		for i, v := range d.V {
			vs[i] = &certlogic.Object{Keys: vKeys, Values: []any{v.TG, v.VP, v.MP, v.MA, float64(v.DN), float64(v.SD), v.DT, v.CO, v.IS, v.CI}}
		}
		p.Keys, p.Values = append(p.Keys, "v"), append(p.Values, vs)
	}
	if d.T != nil {
		ts := make([]any, len(d.T))
		for i, t := range d.T {
			o := &certlogic.Object{Keys: []string{"tg", "tt", "sc", "tr", "co", "is", "ci"}, Values: []any{t.TG, t.TT, t.SC, t.TR, t.CO, t.IS, t.CI}}
			optional(o, "nm", t.NM)
			optional(o, "ma", t.MA)
			optional(o, "tc", t.TC)
			ts[i] = o
		}
		p.Keys, p.Values = append(p.Keys, "t"), append(p.Values, ts)
	}
	if d.R != nil {
		rs := make([]any, len(d.R))
		for i, r := range d.R {
			rs[i] = &certlogic.Object{Keys: rKeys, Values: []any{r.TG, r.FR, r.CO, r.IS, r.DF, r.DU, r.CI}}
		}
		p.Keys, p.Values = append(p.Keys, "r"), append(p.Values, rs)
	}
	return p
}

// optional adds the member k to o unless v is empty.
func optional(o *certlogic.Object, k, v string) {
	if v != "" {
		o.Keys = append(o.Keys, k)
		o.Values = append(o.Values, v)
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
