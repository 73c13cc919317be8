package hcert

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/vaxcert/vaxcert/internal/dgcvectors"
	"github.com/vaxcert/vaxcert/schemas"
)

// slowClaimsDCC is DecodeClaimsDCC through fxamacker/cbor only.
func slowClaimsDCC(b []byte) (*Claims, *schemas.DCC, error) {
	var c claimsDCC
	if err := decMode.Unmarshal(b, &c); err != nil {
		return nil, nil, err
	}
	if c.IssuedAt == nil || c.Expires == nil || c.HCert == nil || c.HCert.DCC == nil {
		return nil, nil, ErrCWT
	}
	return &Claims{Issuer: c.Issuer, Expires: c.Expires, IssuedAt: c.IssuedAt}, c.HCert.DCC, nil
}

// sameAsLibrary fails when the fast reader accepts b and fxamacker does
// not, or decodes it differently. It reports whether the fast path took b.
func sameAsLibrary(t *testing.T, b []byte) bool {
	t.Helper()
	c, d, ok := decodeClaimsDCCFast(b)
	if !ok {
		return false
	}
	wc, wd, err := slowClaimsDCC(b)
	if err != nil {
		t.Fatalf("fast path accepted what fxamacker refuses (%v): %x", err, b)
	}
	if !reflect.DeepEqual(c, wc) || !reflect.DeepEqual(d, wd) {
		t.Fatalf("fast path differs from fxamacker on %x:\n fast %+v %+v\n slow %+v %+v", b, c, d, wc, wd)
	}
	return true
}

// claimSamples are claims in the issuers' shape: vaxcert's own (each
// certificate type), then the EU vectors' payloads.
func claimSamples(t testing.TB) [][]byte {
	var out [][]byte
	test := &schemas.DCC{Ver: "1.3.0", Nam: schemas.Name{FNT: "MUSTER", GN: ""}, Dob: "1964",
		T: []schemas.Test{{TG: "840539006", TT: "LP6464-4", NM: "x", MA: "1232", SC: "2021-05-30T10:12:22Z",
			TR: "260415000", TC: "Centre", CO: "AT", IS: "BMSGPK", CI: "URN:UVCI:01:AT:1"}}}
	rec := &schemas.DCC{Ver: "1.3.0", Nam: schemas.Name{FN: "Ä", FNT: "AE"}, Dob: "",
		R: []schemas.Recovery{{TG: "840539006", FR: "2021-01-01", CO: "DE", IS: "RKI", DF: "2021-02-01", DU: "2021-07-01", CI: "U"}}}
	two := sampleDCC()
	two.V = append(two.V, two.V[0])
	empty := sampleDCC()
	empty.V = []schemas.Vaccination{}
	for _, d := range []*schemas.DCC{sampleDCC(), test, rec, two, empty, {}} {
		b, err := EncodeClaims("VN", 1780000000, 1811536000, d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	if b, err := EncodeClaims("", -5, 0, sampleDCC()); err == nil {
		out = append(out, b)
	}
	for _, v := range dgcvectors.LoadIfPresent() {
		if msg, err := ParseSign1(v.COSE); err == nil {
			out = append(out, msg.Payload)
		}
	}
	return out
}

func TestDecodeClaimsFastMatchesLibrary(t *testing.T) {
	samples := claimSamples(t)
	fast := 0
	for i, b := range samples {
		took := sameAsLibrary(t, b)
		if i < 7 && !took {
			t.Fatalf("sample %d (vaxcert's own shape) not taken by the fast path: %x", i, b)
		}
		if took {
			fast++
		}
		if i >= 7 {
			continue // the vectors: the fuzz target mutates them
		}
		// Every truncation and every one-byte change: same verdicts.
		for n := range len(b) {
			sameAsLibrary(t, b[:n])
		}
		for j := range b {
			for _, x := range []byte{0x00, 0x01, 0x18, 0x20, 0x40, 0x60, 0x7f, 0x80, 0xa0, 0xc0, 0xf6, 0xf9, 0xff} {
				m := bytes.Clone(b)
				m[j] = x
				sameAsLibrary(t, m)
				m[j] = b[j] ^ 1
				sameAsLibrary(t, m)
			}
		}
	}
	t.Logf("%d of %d samples on the fast path", fast, len(samples))
}

func TestDecodeClaimsFastRefuses(t *testing.T) {
	good, err := EncodeClaims("VN", 1780000000, 1811536000, sampleDCC())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := decodeClaimsDCCFast(good); !ok {
		t.Fatal("vaxcert's own claims refused")
	}
	// A duplicate iss (the claims map grows by one pair): fxamacker
	// refuses it, and so must DecodeClaimsDCC.
	dup := append([]byte{good[0] + 1, 0x01, 0x62, 'V', 'N'}, good[1:]...)
	if _, _, ok := decodeClaimsDCCFast(dup); ok {
		t.Fatal("duplicate iss taken by the fast path")
	}
	if _, _, err := DecodeClaimsDCC(dup); err == nil {
		t.Fatal("duplicate iss accepted")
	}
	// Trailing bytes, an indefinite-length map, invalid UTF-8 in iss.
	bad := bytes.Replace(good, []byte{0x62, 'V', 'N'}, []byte{0x62, 0xff, 'N'}, 1)
	for _, b := range [][]byte{append(bytes.Clone(good), 0x00), append([]byte{0xbf}, append(bytes.Clone(good[1:]), 0xff)...), bad} {
		if _, _, ok := decodeClaimsDCCFast(b); ok {
			t.Fatalf("%x taken by the fast path", b[:8])
		}
	}
	if _, _, err := DecodeClaimsDCC(bad); err == nil {
		t.Fatal("invalid UTF-8 accepted")
	}
}

// FuzzDecodeClaimsFast holds the claims fast path to fxamacker/cbor: what
// the fast path accepts, fxamacker accepts with the same result.
func FuzzDecodeClaimsFast(f *testing.F) {
	for _, b := range claimSamples(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sameAsLibrary(t, b)
	})
}
