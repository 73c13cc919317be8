package keys_test

import (
	"bytes"
	"encoding/hex"
	"path/filepath"
	"testing"

	"github.com/vaxcert/vaxcert/keys"
)

func TestKIDKnownVector(t *testing.T) {
	// common/2DCode/raw/CO3.json: the protected header of its COSE is
	// a2 04 48 ac3690ee8361cc96 01 26.
	want, _ := hex.DecodeString("ac3690ee8361cc96")
	for _, v := range loadVectors(t) {
		if v.Name != filepath.Join("common", "2DCode", "raw", "CO3.json") {
			continue
		}
		if got := coseKID(v.COSE); !bytes.Equal(got, want) {
			t.Fatalf("CO3 COSE kid = %x, want %x", got, want)
		}
		got := keys.KID(vectorCertDER(t, v))
		if !bytes.Equal(got, want) {
			t.Fatalf("KID(CO3 certificate) = %x, want %x", got, want)
		}
		if s := keys.KIDString(got); s != "rDaQ7oNhzJY=" {
			t.Errorf("KIDString = %q, want %q", s, "rDaQ7oNhzJY=")
		}
		return
	}
	t.Fatal("CO3.json not found among the vectors")
}

// TestKIDVectors checks every vector expected to verify whose COSE carries
// an 8-byte kid: the kid must be KID of its certificate.
func TestKIDVectors(t *testing.T) {
	checked := 0
	for _, v := range loadVectors(t) {
		ok, present := v.expect("EXPECTEDVERIFY")
		kid := coseKID(v.COSE)
		if !present || !ok || len(kid) != keys.KIDSize {
			continue
		}
		checked++
		if got := keys.KID(vectorCertDER(t, v)); !bytes.Equal(got, kid) {
			t.Errorf("%s: KID = %x, COSE kid %x", v.Name, got, kid)
		}
	}
	// 73 of the 103 vectors qualify; a parser regression must not turn this
	// test into a silent pass.
	if checked < 73 {
		t.Fatalf("checked %d vectors, want 73", checked)
	}
	t.Logf("checked %d vectors", checked)
}

func TestKIDSize(t *testing.T) {
	if got := len(keys.KID([]byte("x"))); got != keys.KIDSize {
		t.Fatalf("len(KID) = %d, want %d", got, keys.KIDSize)
	}
	// SHA-256("x") = 2d711642b726b044...
	if got := hex.EncodeToString(keys.KID([]byte("x"))); got != "2d711642b726b044" {
		t.Fatalf("KID(x) = %s", got)
	}
}
