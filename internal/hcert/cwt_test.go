package hcert

import (
	"errors"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/vaxcert/vaxcert/internal/dgcvectors"
	"github.com/vaxcert/vaxcert/schemas"
)

func sampleDCC() *schemas.DCC {
	return &schemas.DCC{
		Ver: "1.3.0",
		Nam: schemas.Name{FN: "Nguyễn", FNT: "NGUYEN", GN: "Văn Đức", GNT: "VAN<DUC"},
		Dob: "1990-04-12",
		V: []schemas.Vaccination{{TG: "840539006", VP: "1119349007", MP: "EU/1/20/1528", MA: "ORG-100030215",
			DN: 2, SD: 2, DT: "2021-09-01", CO: "VN", IS: "Ministry of Health of Viet Nam", CI: "URN:UVCI:01:VN:ABC#X"}},
	}
}

func TestClaimsRoundTrip(t *testing.T) {
	b, err := EncodeClaims("VN", 1780000000, 1811536000, sampleDCC())
	if err != nil {
		t.Fatal(err)
	}
	c, err := DecodeClaims(b)
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "VN" || *c.IssuedAt != 1780000000 || *c.Expires != 1811536000 {
		t.Fatalf("claims = %q %d %d", c.Issuer, *c.IssuedAt, *c.Expires)
	}
	d, err := DecodeDCC(c.HCert.DCC)
	if err != nil {
		t.Fatal(err)
	}
	if d.Nam.GN != "Văn Đức" || d.V[0].DN != 2 || d.Type() != schemas.TypeVaccination {
		t.Fatalf("decoded DCC = %+v", d)
	}
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeClaims(t *testing.T) {
	dcc := map[string]any{"ver": "1.3.0"}
	hc := map[int]any{1: dcc}
	for _, tc := range []struct {
		name    string
		in      []byte
		wantErr bool
		wantIat int64
	}{
		{"integer timestamps", encode(t, map[int]any{1: "VN", 6: 1000, 4: 2000, -260: hc}), false, 1000},
		{"whole-number float iat", encode(t, map[int]any{6: 1000.0, 4: 2000, -260: hc}), false, 1000},
		{"half-precision float iat", []byte{0xa3, 0x06, 0xf9, 0x3c, 0x00, 0x04, 0x19, 0x07, 0xd0, 0x39, 0x01, 0x03, 0xa1, 0x01, 0xa0}, false, 1},
		{"fractional iat rounds down", encode(t, map[int]any{6: 1000.75, 4: 2000, -260: hc}), false, 1000},
		{"NaN iat", []byte{0xa3, 0x06, 0xf9, 0x7e, 0x00, 0x04, 0x19, 0x07, 0xd0, 0x39, 0x01, 0x03, 0xa1, 0x01, 0xa0}, true, 0},
		{"huge float iat", encode(t, map[int]any{6: 1e300, 4: 2000, -260: hc}), true, 0},
		{"string iat", encode(t, map[int]any{6: "1000", 4: 2000, -260: hc}), true, 0},
		{"missing exp", encode(t, map[int]any{6: 1000, -260: hc}), true, 0},
		{"missing iat", encode(t, map[int]any{4: 1000, -260: hc}), true, 0},
		{"missing hcert", encode(t, map[int]any{6: 1000, 4: 2000}), true, 0},
		{"hcert without key 1", encode(t, map[int]any{6: 1000, 4: 2000, -260: map[int]any{2: dcc}}), true, 0},
		{"not a map", encode(t, []int{1, 2}), true, 0},
		{"empty", nil, true, 0},
		// {6: 1, 6: 2, …}: a duplicate key.
		{"duplicate key", []byte{0xa4, 0x06, 0x01, 0x06, 0x02, 0x04, 0x03, 0x39, 0x01, 0x03, 0xa1, 0x01, 0xa0}, true, 0},
		{"trailing bytes", append(encode(t, map[int]any{6: 1000, 4: 2000, -260: hc}), 0x00), true, 0},
		{"iss not a string", encode(t, map[int]any{1: 7, 6: 1000, 4: 2000, -260: hc}), true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodeClaims(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrCWT) {
					t.Fatalf("got %v, want ErrCWT", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if int64(*c.IssuedAt) != tc.wantIat {
				t.Errorf("iat = %d, want %d", *c.IssuedAt, tc.wantIat)
			}
		})
	}
}

func TestDecodeDCCStrict(t *testing.T) {
	good := encode(t, sampleDCC())
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"wrong type", encode(t, map[string]any{"ver": 130})},
		{"dn as string", encode(t, map[string]any{"v": []any{map[string]any{"dn": "1"}}})},
		{"not a map", encode(t, "x")},
		{"invalid UTF-8", []byte{0xa1, 0x63, 0x76, 0x65, 0x72, 0x61, 0xff}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeDCC(tc.in); !errors.Is(err, ErrCWT) {
				t.Fatalf("got %v, want ErrCWT", err)
			}
		})
	}
	if _, err := DecodeDCC(good); err != nil {
		t.Fatalf("good DCC: %v", err)
	}
	// Members the schema does not define are allowed and ignored.
	if d, err := DecodeDCC(encode(t, map[string]any{"ver": "1.3.0", "xyz": 1})); err != nil || d.Ver != "1.3.0" {
		t.Fatalf("unknown member: %v", err)
	}
	// Member names match case-sensitively: "VER" is not "ver".
	if d, err := DecodeDCC(encode(t, map[string]any{"VER": "1.3.0"})); err != nil || d.Ver != "" {
		t.Fatalf("case-insensitive match: %q, %v", d.Ver, err)
	}
}

func TestMayHoldNull(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want bool
	}{
		{map[string]any{"fn": "Đức ặ ỹ"}, false},
		{map[string]any{"fn": nil}, true},
		{map[string]any{"dn": 246}, true}, // 0x18 0xf6: a false positive, by design
	} {
		if got := MayHoldNull(encode(t, tc.v)); got != tc.want {
			t.Errorf("MayHoldNull(%v) = %v", tc.v, got)
		}
	}
}

// TestVectorsDecode decodes every vector's COSE payload and compares the
// claims' eu_dcc_v1 with the vector's CBOR field where that field holds it.
func TestVectorsDecode(t *testing.T) {
	for _, v := range dgcvectors.Load(t) {
		want, ok := v.Has("EXPECTEDDECODE")
		if !ok || v.COSE == nil {
			continue
		}
		msg, err := ParseSign1(v.COSE)
		if err == nil {
			_, err = DecodeClaims(msg.Payload)
		}
		if got := err == nil; got != want {
			t.Errorf("%s: decode ok = %v (%v), want %v", v.Name, got, err, want)
		}
	}
}
