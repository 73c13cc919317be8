package keys_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"path/filepath"
	"testing"

	"github.com/vaxcert/vaxcert/keys"
)

func TestAlgorithmFor(t *testing.T) {
	ecKey := func(c elliptic.Curve) func(*testing.T) crypto.PublicKey {
		return func(t *testing.T) crypto.PublicKey {
			k, err := ecdsa.GenerateKey(c, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			return k.Public()
		}
	}
	rsaKey := func(bits int) func(*testing.T) crypto.PublicKey {
		return func(t *testing.T) crypto.PublicKey {
			k, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				t.Fatal(err)
			}
			return k.Public()
		}
	}
	tests := []struct {
		name string
		key  func(*testing.T) crypto.PublicKey
		want keys.Algorithm
	}{
		{"P-256", ecKey(elliptic.P256()), keys.AlgES256},
		{"P-384", ecKey(elliptic.P384()), keys.AlgNone},
		{"P-521", ecKey(elliptic.P521()), keys.AlgNone},
		{"RSA-1024", rsaKey(1024), keys.AlgNone},
		{"RSA-2048", rsaKey(2048), keys.AlgPS256},
		{"RSA-3072", rsaKey(3072), keys.AlgPS256},
		{"Ed25519", func(t *testing.T) crypto.PublicKey {
			pub, _, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			return pub
		}, keys.AlgNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := keys.NewTrustEntry(makeCert(t, tc.key(t), nil))
			if err != nil {
				t.Fatal(err)
			}
			if e.Alg != tc.want {
				t.Errorf("Alg = %v, want %v", e.Alg, tc.want)
			}
			for _, alg := range []keys.Algorithm{keys.AlgNone, keys.AlgES256, keys.AlgPS256, keys.Algorithm(-35)} {
				want := alg == tc.want && alg != keys.AlgNone
				if got := e.Accepts(alg); got != want {
					t.Errorf("Accepts(%v) = %v, want %v", alg, got, want)
				}
			}
		})
	}
	if got := keys.AlgorithmFor(nil); got != keys.AlgNone {
		t.Errorf("AlgorithmFor(nil) = %v, want none", got)
	}
}

func TestAlgorithmVectors(t *testing.T) {
	want := map[string]keys.Algorithm{
		filepath.Join("common", "2DCode", "raw", "CO1.json"): keys.AlgPS256, // RSA-2048
		filepath.Join("common", "2DCode", "raw", "CO2.json"): keys.AlgPS256, // RSA-3072
		filepath.Join("common", "2DCode", "raw", "CO3.json"): keys.AlgES256, // P-256
		filepath.Join("ES", "2DCode", "raw", "401.json"):     keys.AlgNone,  // P-384
	}
	for _, v := range loadVectors(t) {
		alg, ok := want[v.Name]
		if !ok {
			continue
		}
		delete(want, v.Name)
		certs, err := keys.ParseCertificates([]byte(v.CertText))
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if got := keys.AlgorithmFor(certs[0].PublicKey); got != alg {
			t.Errorf("%s: AlgorithmFor = %v, want %v", v.Name, got, alg)
		}
	}
	for name := range want {
		t.Errorf("vector %s not found", name)
	}
}

func TestAlgorithmString(t *testing.T) {
	for a, want := range map[keys.Algorithm]string{
		keys.AlgES256: "ES256", keys.AlgPS256: "PS256", keys.AlgNone: "none", -35: "Algorithm(-35)",
	} {
		if got := a.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(a), got, want)
		}
	}
}
