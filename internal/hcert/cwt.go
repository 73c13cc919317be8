package hcert

import (
	"bytes"
	"fmt"
	"math"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/x448/float16"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/schemas"
)

// CWT claim keys used by HCERT.
//
// Reference: hcert_spec.md §3.3.1; RFC 8392 §3.1.
const (
	ClaimIssuer   = 1
	ClaimExpires  = 4
	ClaimIssuedAt = 6
	ClaimHCert    = -260
	HCertEUDCCv1  = 1
)

var (
	decMode cbor.DecMode // strict mode for claims
	encMode cbor.EncMode // Core Deterministic Encoding
)

func init() {
	opts := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthAllowed,        // some issuers stream maps; duplicates are still caught
		IntDec:            cbor.IntDecConvertSignedOrFail, // int64 or an error, never a big.Int
		MaxNestedLevels:   limits.MaxCBORNesting,
		MaxArrayElements:  limits.MaxCBORArrayElements,
		MaxMapPairs:       limits.MaxCBORMapPairs,
		UTF8:              cbor.UTF8RejectInvalid,
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
		TagsMd:            cbor.TagsAllowed, // tag 0 may mark date-time strings
		NaN:               cbor.NaNDecodeForbidden,
		Inf:               cbor.InfDecodeForbidden,
	}
	var err error
	if decMode, err = opts.DecMode(); err != nil {
		panic(err)
	}
	if encMode, err = cbor.CoreDetEncOptions().EncMode(); err != nil {
		panic(err)
	}
}

// NumericDate is a CWT NumericDate in seconds since the Unix epoch. The
// spec requires integers, but some issuers wrote floats, with fractional
// milliseconds even (the ES test vectors, expected valid): floats are
// accepted on decode and rounded down to the second, which is conservative
// for exp and within any clock-skew allowance for iat. NaN, infinities and
// values beyond ±2^53 are rejected.
type NumericDate int64

// UnmarshalCBOR implements cbor.Unmarshaler. The item (already checked
// well formed by the decoder) is read directly from its head: this is the
// verifier's hot path.
func (d *NumericDate) UnmarshalCBOR(b []byte) error {
	major, info, arg, ok := head(b)
	if !ok {
		return fmt.Errorf("%w: timestamp is not a number", ErrCWT)
	}
	switch major {
	case 0: // unsigned integer
		if arg > math.MaxInt64 {
			return fmt.Errorf("%w: timestamp out of range", ErrCWT)
		}
		*d = NumericDate(arg)
	case 1: // negative integer: -1 - arg
		if arg > math.MaxInt64 {
			return fmt.Errorf("%w: timestamp out of range", ErrCWT)
		}
		*d = NumericDate(-1 - int64(arg))
	case 7: // float
		var x float64
		switch info {
		case 25:
			x = float64(float16.Frombits(uint16(arg)).Float32())
		case 26:
			x = float64(math.Float32frombits(uint32(arg)))
		case 27:
			x = math.Float64frombits(arg)
		default:
			return fmt.Errorf("%w: timestamp is not a number", ErrCWT)
		}
		if math.IsNaN(x) || x < -(1<<53) || x > 1<<53 {
			return fmt.Errorf("%w: timestamp out of range", ErrCWT)
		}
		*d = NumericDate(math.Floor(x))
	default:
		return fmt.Errorf("%w: timestamp is not a number", ErrCWT)
	}
	return nil
}

// head reads a CBOR item that is nothing but a head (an integer or a
// float, already checked well formed): its major type, additional
// information and argument.
func head(b []byte) (major, info byte, arg uint64, ok bool) {
	if len(b) == 0 {
		return 0, 0, 0, false
	}
	major, info = b[0]>>5, b[0]&0x1f
	arg, n := uint64(info), 1
	switch {
	case info < 24:
	case info <= 27:
		n = 1 + 1<<(info-24)
		if len(b) < n {
			return 0, 0, 0, false
		}
		arg = 0
		for _, x := range b[1:n] {
			arg = arg<<8 | uint64(x)
		}
	default:
		return 0, 0, 0, false
	}
	return major, info, arg, len(b) == n
}

// Claims are the CWT claims of an HCERT. DCC holds the raw CBOR of the
// eu_dcc_v1 object (claim -260, key 1), decoded separately by [DecodeDCC].
type Claims struct {
	Issuer   string       `cbor:"1,keyasint,omitempty"`
	Expires  *NumericDate `cbor:"4,keyasint,omitempty"`
	IssuedAt *NumericDate `cbor:"6,keyasint,omitempty"`
	HCert    *HCert       `cbor:"-260,keyasint,omitempty"`
}

// HCert is the hcert claim map.
type HCert struct {
	DCC cbor.RawMessage `cbor:"1,keyasint,omitempty"`
}

// DecodeClaims strictly decodes a CWT claims map (the COSE payload):
// duplicate keys, invalid UTF-8, excessive nesting or size, and trailing
// bytes are rejected, and iat, exp and hcert/1 are required. Claims other
// than the HCERT ones are ignored. Errors match [ErrCWT].
func DecodeClaims(b []byte) (*Claims, error) {
	if len(b) == 0 || b[0]>>5 != 5 { // major type 5: map
		return nil, fmt.Errorf("%w: payload is not a CBOR map", ErrCWT)
	}
	c := new(Claims)
	if err := decMode.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCWT, err)
	}
	switch {
	case c.IssuedAt == nil:
		return nil, fmt.Errorf("%w: missing iat (6)", ErrCWT)
	case c.Expires == nil:
		return nil, fmt.Errorf("%w: missing exp (4)", ErrCWT)
	case c.HCert == nil || len(c.HCert.DCC) == 0:
		return nil, fmt.Errorf("%w: missing hcert (-260) eu_dcc_v1 (1)", ErrCWT)
	}
	return c, nil
}

// claimsDCC is Claims with the eu_dcc_v1 object decoded in the same pass.
type claimsDCC struct {
	Issuer   string       `cbor:"1,keyasint,omitempty"`
	Expires  *NumericDate `cbor:"4,keyasint,omitempty"`
	IssuedAt *NumericDate `cbor:"6,keyasint,omitempty"`
	HCert    *struct {
		DCC *schemas.DCC `cbor:"1,keyasint,omitempty"`
	} `cbor:"-260,keyasint,omitempty"`
}

// DecodeClaimsDCC decodes the claims and the eu_dcc_v1 object in one strict
// pass: the verifier's hot path. Claims in the shape issuers write are read
// by a hand-written reader held to fxamacker/cbor by a differential fuzz
// test (cwtfast.go says why); anything else is decoded by fxamacker/cbor.
// The returned Claims has no raw HCert. It
// fails where [DecodeClaims] or [DecodeDCC] would; callers then use those
// for the precise error.
func DecodeClaimsDCC(b []byte) (*Claims, *schemas.DCC, error) {
	if len(b) == 0 || b[0]>>5 != 5 {
		return nil, nil, fmt.Errorf("%w: payload is not a CBOR map", ErrCWT)
	}
	if c, d, ok := decodeClaimsDCCFast(b); ok { // the issuers' shape (cwtfast.go)
		return c, d, nil
	}
	var c claimsDCC
	if err := decMode.Unmarshal(b, &c); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrCWT, err)
	}
	if c.IssuedAt == nil || c.Expires == nil || c.HCert == nil || c.HCert.DCC == nil {
		return nil, nil, fmt.Errorf("%w: missing iat, exp or hcert", ErrCWT)
	}
	return &Claims{Issuer: c.Issuer, Expires: c.Expires, IssuedAt: c.IssuedAt}, c.HCert.DCC, nil
}

// DecodeDCC decodes the eu_dcc_v1 object into the schema's Go type.
// Members the type does not define are ignored, as the schema allows them
// (it has no "additionalProperties": false). It fails with [ErrCWT] when a
// member has the wrong type; callers that must still report on such
// payloads use [DecodeGeneric]. Note that a CBOR null decodes as the zero
// value: callers that must tell null from absent check [MayHoldNull].
func DecodeDCC(raw []byte) (*schemas.DCC, error) {
	if len(raw) == 0 || raw[0]>>5 != 5 {
		return nil, fmt.Errorf("%w: eu_dcc_v1 is not a CBOR map", ErrCWT)
	}
	d := new(schemas.DCC)
	if err := decMode.Unmarshal(raw, d); err != nil {
		return nil, fmt.Errorf("%w: eu_dcc_v1: %v", ErrCWT, err)
	}
	return d, nil
}

// MayHoldNull reports whether a CBOR item may contain null or undefined:
// false means it certainly holds neither, so a struct decode of it is
// exact. (0xf6 and 0xf7 never occur in UTF-8 text, but they may occur
// inside lengths, integers, floats and byte strings.)
func MayHoldNull(raw []byte) bool {
	return bytes.IndexByte(raw, 0xf6) >= 0 || bytes.IndexByte(raw, 0xf7) >= 0
}

// DecodeGeneric decodes a CBOR item into generic Go values (maps with
// string or integer keys, slices, strings, numbers), with the same strict
// checks as [DecodeClaims]. It is for reporting and JSON rendering, not the
// hot path.
func DecodeGeneric(raw []byte) (any, error) {
	var v any
	if err := decMode.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCWT, err)
	}
	return v, nil
}

// EncodeClaims encodes CWT claims for issuance with Core Deterministic
// Encoding: integer iat and exp, iss as given, hcert {1: dcc}.
func EncodeClaims(iss string, iat, exp int64, dcc *schemas.DCC) ([]byte, error) {
	raw, err := encMode.Marshal(dcc)
	if err != nil {
		return nil, fmt.Errorf("hcert: failed to encode eu_dcc_v1: %w", err)
	}
	ia, ex := NumericDate(iat), NumericDate(exp)
	b, err := encMode.Marshal(&Claims{Issuer: iss, Expires: &ex, IssuedAt: &ia, HCert: &HCert{DCC: raw}})
	if err != nil {
		return nil, fmt.Errorf("hcert: failed to encode claims: %w", err)
	}
	return b, nil
}

// JSONValue converts generic CBOR values (from [DecodeGeneric]) to values
// encoding/json can marshal: integer map keys become decimal strings,
// time.Time values RFC 3339 strings.
func JSONValue(v any) (any, error) {
	switch x := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			var key string
			switch kk := k.(type) {
			case string:
				key = kk
			case int64, uint64:
				key = fmt.Sprint(kk)
			default:
				return nil, fmt.Errorf("hcert: map key of type %T cannot be rendered as JSON", k)
			}
			je, err := JSONValue(e)
			if err != nil {
				return nil, err
			}
			m[key] = je
		}
		return m, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			je, err := JSONValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = je
		}
		return out, nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	default:
		return v, nil
	}
}
