package schemas

// DCC is the EU Digital COVID Certificate payload, schema 1.3.x: the object
// under CWT claim hcert (-260), key 1 (eu_dcc_v1). Field names follow the
// schema's short keys; struct tags give the CBOR and JSON encodings.
//
// Exactly one of V, T and R holds one entry in a valid certificate.
type DCC struct {
	Ver string        `cbor:"ver" json:"ver"`
	Nam Name          `cbor:"nam" json:"nam"`
	Dob string        `cbor:"dob" json:"dob"`
	V   []Vaccination `cbor:"v,omitempty" json:"v,omitempty"`
	T   []Test        `cbor:"t,omitempty" json:"t,omitempty"`
	R   []Recovery    `cbor:"r,omitempty" json:"r,omitempty"`
}

// Name is the holder's name: as written (fn, gn) and standardised by ICAO
// 9303 transliteration (fnt, gnt; only A-Z and '<').
type Name struct {
	FN  string `cbor:"fn,omitempty" json:"fn,omitempty"`
	FNT string `cbor:"fnt,omitempty" json:"fnt,omitempty"`
	GN  string `cbor:"gn,omitempty" json:"gn,omitempty"`
	GNT string `cbor:"gnt,omitempty" json:"gnt,omitempty"`
}

// Vaccination is one vaccination entry (v[0]).
type Vaccination struct {
	TG string `cbor:"tg" json:"tg"` // disease or agent targeted
	VP string `cbor:"vp" json:"vp"` // vaccine or prophylaxis
	MP string `cbor:"mp" json:"mp"` // vaccine medicinal product
	MA string `cbor:"ma" json:"ma"` // marketing authorisation holder or manufacturer
	DN int    `cbor:"dn" json:"dn"` // dose number
	SD int    `cbor:"sd" json:"sd"` // total doses in the series
	DT string `cbor:"dt" json:"dt"` // date of vaccination, YYYY-MM-DD
	CO string `cbor:"co" json:"co"` // country of vaccination
	IS string `cbor:"is" json:"is"` // certificate issuer
	CI string `cbor:"ci" json:"ci"` // UVCI
}

// Test is one test entry (t[0]).
type Test struct {
	TG string `cbor:"tg" json:"tg"`
	TT string `cbor:"tt" json:"tt"`
	NM string `cbor:"nm,omitempty" json:"nm,omitempty"`
	MA string `cbor:"ma,omitempty" json:"ma,omitempty"`
	SC string `cbor:"sc" json:"sc"`
	TR string `cbor:"tr" json:"tr"`
	TC string `cbor:"tc,omitempty" json:"tc,omitempty"`
	CO string `cbor:"co" json:"co"`
	IS string `cbor:"is" json:"is"`
	CI string `cbor:"ci" json:"ci"`
}

// Recovery is one recovery entry (r[0]).
type Recovery struct {
	TG string `cbor:"tg" json:"tg"`
	FR string `cbor:"fr" json:"fr"`
	CO string `cbor:"co" json:"co"`
	IS string `cbor:"is" json:"is"`
	DF string `cbor:"df" json:"df"`
	DU string `cbor:"du" json:"du"`
	CI string `cbor:"ci" json:"ci"`
}

// CertType is the kind of certificate a DCC holds.
type CertType string

const (
	TypeVaccination CertType = "vaccination"
	TypeTest        CertType = "test"
	TypeRecovery    CertType = "recovery"
	TypeUnknown     CertType = ""
)

// Type reports which entry the DCC holds. A DCC with none, or with more than
// one of v, t and r, is TypeUnknown.
func (d *DCC) Type() CertType {
	n, t := 0, TypeUnknown
	if d.V != nil {
		n, t = n+1, TypeVaccination
	}
	if d.T != nil {
		n, t = n+1, TypeTest
	}
	if d.R != nil {
		n, t = n+1, TypeRecovery
	}
	if n != 1 {
		return TypeUnknown
	}
	return t
}
