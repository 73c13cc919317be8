package hcert

import (
	"bytes"
	"errors"
	"testing"

	"github.com/veraison/go-cose"

	"github.com/vaxcert/vaxcert/internal/dgcvectors"
)

func vectorByName(t *testing.T, name string) *dgcvectors.Vector {
	t.Helper()
	for _, v := range dgcvectors.Load(t) {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("vector %s not found", name)
	return nil
}

func TestParseSign1Forms(t *testing.T) {
	tagged := vectorByName(t, "common/2DCode/raw/CO3.json").COSE
	if tagged[0] != 0xd2 {
		t.Fatalf("CO3 is not tagged 18: %x", tagged[0])
	}
	want, err := ParseSign1(tagged)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"untagged", tagged[1:]},
		{"CWT tag 61 around tag 18", append([]byte{0xd8, 0x3d}, tagged...)},
		{"CWT tag 61 around untagged", append([]byte{0xd8, 0x3d}, tagged[1:]...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSign1(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Payload, want.Payload) || !bytes.Equal(got.Signature, want.Signature) ||
				!bytes.Equal(KID(got), KID(want)) {
				t.Fatal("parsed message differs from the tagged form")
			}
		})
	}
	if len(KID(want)) != 8 {
		t.Errorf("kid length %d, want 8", len(KID(want)))
	}
}

func TestParseSign1Rejects(t *testing.T) {
	tagged := vectorByName(t, "common/2DCode/raw/CO3.json").COSE
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"only tag 61", []byte{0xd8, 0x3d}},
		{"tag 98 (COSE_Sign)", append([]byte{0xd8, 0x62}, tagged[1:]...)},
		{"a map", []byte{0xa0}},
		{"truncated", tagged[:len(tagged)-5]},
		{"trailing bytes", append(append([]byte(nil), tagged...), 0x00)},
		{"double tag 18", append([]byte{0xd2}, tagged...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseSign1(tc.in); !errors.Is(err, ErrCOSE) {
				t.Fatalf("got %v, want ErrCOSE", err)
			}
		})
	}
}

func TestKIDProtectedWins(t *testing.T) {
	m := cose.NewSign1Message()
	m.Headers.Unprotected[cose.HeaderLabelKeyID] = []byte("unprot")
	if got := KID(m); string(got) != "unprot" {
		t.Fatalf("unprotected only: %q", got)
	}
	m.Headers.Protected[cose.HeaderLabelKeyID] = []byte("prot")
	if got := KID(m); string(got) != "prot" {
		t.Fatalf("both: %q, want the protected kid", got)
	}
	m.Headers.Protected[cose.HeaderLabelKeyID] = "not bytes"
	if got := KID(m); got != nil {
		t.Fatalf("malformed protected kid: %q, want nil (no fallback)", got)
	}
}

func TestParseSign1RejectsCrit(t *testing.T) {
	// d2 84 | 44 a1 02 81 01 (protected {2: [1]}) | a0 | 41 00 | 41 00
	msg := []byte{0xd2, 0x84, 0x44, 0xa1, 0x02, 0x81, 0x01, 0xa0, 0x41, 0x00, 0x41, 0x00}
	if _, err := ParseSign1(msg); !errors.Is(err, ErrCOSE) {
		t.Fatalf("crit accepted: %v", err)
	}
}

// FuzzParseSign1 holds ParseSign1 to go-cose's own parser: whatever one
// accepts the other accepts (crit aside, which vaxcert refuses), with the
// same payload, signature, alg and kids.
func FuzzParseSign1(f *testing.F) {
	for _, v := range dgcvectors.LoadIfPresent() {
		if v.COSE != nil {
			f.Add(v.COSE)
		}
	}
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0x41, 0x00, 0x41, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		ours, err := ParseSign1(b)
		if err != nil && !errors.Is(err, ErrCOSE) {
			t.Fatalf("untyped error %v", err)
		}
		ref := new(cose.Sign1Message)
		var refErr error
		switch {
		case len(b) > 0 && b[0] == 0xd2:
			refErr = ref.UnmarshalCBOR(b)
		case len(b) > 0 && b[0] == 0x84:
			refErr = (*cose.UntaggedSign1Message)(ref).UnmarshalCBOR(b)
		default:
			return // tag 61 and garbage heads: covered by the table tests
		}
		if refErr == nil && len(ref.Payload) == 0 {
			refErr = errors.New("empty payload")
		}
		if err == nil && refErr != nil {
			t.Fatalf("vaxcert accepts what go-cose rejects (%v)", refErr)
		}
		if err != nil {
			if refErr == nil && !hasCrit(ref) {
				t.Fatalf("vaxcert rejects (%v) what go-cose accepts", err)
			}
			return
		}
		if !bytes.Equal(ours.Payload, ref.Payload) || !bytes.Equal(ours.Signature, ref.Signature) ||
			!bytes.Equal(ours.Headers.RawProtected, ref.Headers.RawProtected) || !bytes.Equal(KID(ours), KID(ref)) {
			t.Fatal("parsed messages differ")
		}
		a1, e1 := ours.Headers.Protected.Algorithm()
		a2, e2 := ref.Headers.Protected.Algorithm()
		if a1 != a2 || (e1 == nil) != (e2 == nil) {
			t.Fatalf("alg %v/%v vs %v/%v", a1, e1, a2, e2)
		}
	})
}

func hasCrit(m *cose.Sign1Message) bool {
	_, p := m.Headers.Protected[cose.HeaderLabelCritical]
	_, u := m.Headers.Unprotected[cose.HeaderLabelCritical]
	return p || u
}
