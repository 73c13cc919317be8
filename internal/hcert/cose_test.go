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
