package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/vaxcert/vaxcert/internal/limits"
)

func TestParseJWKS(t *testing.T) {
	k := keys()
	ecPub := func(members map[string]any) map[string]any {
		return jwkJSON(t, &k.ec.PublicKey, members)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	offCurve := ecPub(map[string]any{"kid": "ec-1"})
	offCurve["y"] = offCurve["x"]
	x25519 := map[string]any{"kty": "OKP", "crv": "X25519", "kid": "x", "x": base64.RawURLEncoding.EncodeToString(make([]byte, 32))}
	valid := jwksOf(t, ecPub(map[string]any{"kid": "ec-1"}))
	tooLarge := append(bytes.Clone(valid), bytes.Repeat([]byte(" "), limits.MaxJWKS)...)

	tests := []struct {
		name    string
		jwks    []byte
		wantErr error
	}{
		{name: "not json", jwks: []byte("keys"), wantErr: ErrMalformedJWKS},
		{name: "empty document", jwks: nil, wantErr: ErrMalformedJWKS},
		{name: "array", jwks: []byte("[]"), wantErr: ErrMalformedJWKS},
		{name: "single jwk instead of a set", jwks: mustJSON(t, ecPub(map[string]any{"kid": "ec-1"})), wantErr: ErrMalformedJWKS},
		{name: "empty keys", jwks: []byte(`{"keys":[]}`), wantErr: ErrMalformedJWKS},
		{name: "keys not an array", jwks: []byte(`{"keys":{}}`), wantErr: ErrMalformedJWKS},
		{name: "trailing data", jwks: append(bytes.Clone(valid), []byte("{}")...), wantErr: ErrMalformedJWKS},
		{name: "missing kid", jwks: jwksOf(t, ecPub(nil)), wantErr: ErrMalformedJWKS},
		{name: "point not on curve", jwks: jwksOf(t, offCurve), wantErr: ErrMalformedJWKS},
		{name: "unknown kty", jwks: []byte(`{"keys":[{"kty":"XYZ","kid":"a"}]}`), wantErr: ErrMalformedJWKS},
		{name: "too large", jwks: tooLarge, wantErr: ErrJWKSTooLarge},

		{name: "EC private key", jwks: jwksOf(t, jwkJSON(t, k.ec, map[string]any{"kid": "ec-1"})), wantErr: ErrPrivateKey},
		{name: "RSA private key", jwks: jwksOf(t, jwkJSON(t, k.rsa, map[string]any{"kid": "rsa-1"})), wantErr: ErrPrivateKey},
		{name: "Ed25519 private key", jwks: jwksOf(t, jwkJSON(t, k.ed, map[string]any{"kid": "ed-1"})), wantErr: ErrPrivateKey},
		{name: "RSA public key with stray prime", jwks: jwksOf(t, jwkJSON(t, &k.rsa.PublicKey, map[string]any{"kid": "rsa-1", "p": "AQAB"})), wantErr: ErrPrivateKey},
		{name: "HMAC secret", jwks: []byte(`{"keys":[{"kty":"oct","kid":"h","alg":"HS256","k":"c2VjcmV0"}]}`), wantErr: ErrPrivateKey},
		{name: "private key after a public one", jwks: jwksOf(t, ecPub(map[string]any{"kid": "ec-1"}), jwkJSON(t, k.ecOther, map[string]any{"kid": "ec-2"})), wantErr: ErrPrivateKey},

		{name: "P-384 key", jwks: jwksOf(t, jwkJSON(t, &k.ecP384.PublicKey, map[string]any{"kid": "p384"})), wantErr: ErrUnsupportedKey},
		{name: "X25519 key", jwks: mustJSON(t, map[string]any{"keys": []any{x25519}}), wantErr: ErrUnsupportedKey},
		{name: "RSA 1024", jwks: jwksOf(t, jwkJSON(t, &rsa1024.PublicKey, map[string]any{"kid": "r"})), wantErr: ErrUnsupportedKey},
		{name: "EC key stating HS256", jwks: jwksOf(t, ecPub(map[string]any{"kid": "ec-1", "alg": "HS256"})), wantErr: ErrUnsupportedKey},
		{name: "EC key stating none", jwks: jwksOf(t, ecPub(map[string]any{"kid": "ec-1", "alg": "none"})), wantErr: ErrUnsupportedKey},
		{name: "P-256 key stating ES384", jwks: jwksOf(t, ecPub(map[string]any{"kid": "ec-1", "alg": "ES384"})), wantErr: ErrUnsupportedKey},
		{name: "RSA key stating ES256", jwks: jwksOf(t, jwkJSON(t, &k.rsa.PublicKey, map[string]any{"kid": "r", "alg": "ES256"})), wantErr: ErrUnsupportedKey},
		{name: "RSA key stating RS512", jwks: jwksOf(t, jwkJSON(t, &k.rsa.PublicKey, map[string]any{"kid": "r", "alg": "RS512"})), wantErr: ErrUnsupportedKey},
		{name: "encryption key", jwks: jwksOf(t, ecPub(map[string]any{"kid": "ec-1", "use": "enc"})), wantErr: ErrUnsupportedKey},
		{name: "key_ops without verify", jwks: jwksOf(t, ecPub(map[string]any{"kid": "ec-1", "key_ops": []string{"sign"}})), wantErr: ErrUnsupportedKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := parseJWKS(tc.jwks)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !errors.Is(err, ErrInvalidJWKS) {
				t.Errorf("err = %v does not wrap ErrInvalidJWKS", err)
			}
			if set != nil {
				t.Error("key set returned with an error")
			}
			if _, err := NewCitizenVerifier(tc.jwks, WithIssuer(testIss), WithAudience(testAud)); !errors.Is(err, tc.wantErr) {
				t.Errorf("NewCitizenVerifier err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestParseJWKSCandidates(t *testing.T) {
	k := keys()
	ec1 := jwkJSON(t, &k.ec.PublicKey, map[string]any{"kid": "ec-1"})
	set, err := parseJWKS(jwksOf(t,
		ec1,
		ec1, // exact duplicate: merged
		jwkJSON(t, &k.ec.PublicKey, map[string]any{"kid": "ec-1", "alg": "ES256", "use": "sig"}), // same key, alg stated: merged
		jwkJSON(t, &k.ecSameKID.PublicKey, map[string]any{"kid": "ec-1"}),                        // different key, same kid: kept
		jwkJSON(t, &k.rsa.PublicKey, map[string]any{"kid": "rsa"}),
		jwkJSON(t, &k.rsa.PublicKey, map[string]any{"kid": "rsa", "alg": "PS256"}), // same key, other alg: kept
	))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"ec-1": {"ES256", "ES256"}, "rsa": {"RS256", "PS256"}}
	if len(set.byKID) != len(want) {
		t.Fatalf("kids = %d, want %d", len(set.byKID), len(want))
	}
	for kid, algs := range want {
		got := set.byKID[kid]
		if len(got) != len(algs) {
			t.Fatalf("kid %s: %d candidates, want %d", kid, len(got), len(algs))
		}
		for i, alg := range algs {
			if got[i].alg.String() != alg {
				t.Errorf("kid %s candidate %d: alg %s, want %s", kid, i, got[i].alg, alg)
			}
		}
	}
}

func TestReadJWKSFile(t *testing.T) {
	dir := t.TempDir()
	valid := standardJWKS(t)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := ReadJWKSFile(write("ok.json", valid))
	if err != nil || !bytes.Equal(got, valid) {
		t.Fatalf("ReadJWKSFile = %d bytes, %v; want the file", len(got), err)
	}
	if _, err := ReadJWKSFile(write("max.json", bytes.Repeat([]byte(" "), limits.MaxJWKS))); err != nil {
		t.Errorf("file of exactly MaxJWKS bytes: %v", err)
	}
	if _, err := ReadJWKSFile(write("big.json", bytes.Repeat([]byte(" "), limits.MaxJWKS+1))); !errors.Is(err, ErrJWKSTooLarge) {
		t.Errorf("oversized file: err = %v, want ErrJWKSTooLarge", err)
	}
	if _, err := ReadJWKSFile(filepath.Join(dir, "missing.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
}
