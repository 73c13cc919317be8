package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Fixed test configuration: every time check runs against testNow.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	testIss = "https://id.example.gov.vn"
	testAud = "vaxcert-issuer"
	testSub = "001099012345" // a made-up 12-digit CCCD number
)

func fixedClock() time.Time { return testNow }

// testKeys are generated once per test binary.
type testKeys struct {
	ec, ecOther, ecSameKID *ecdsa.PrivateKey // ecSameKID shares kid "ec-1" with ec
	ecP384                 *ecdsa.PrivateKey
	rsa                    *rsa.PrivateKey
	ed                     ed25519.PrivateKey
}

var keys = sync.OnceValue(func() *testKeys {
	must := func(k any, err error) any {
		if err != nil {
			panic(err)
		}
		return k
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return &testKeys{
		ec:        must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)).(*ecdsa.PrivateKey),
		ecOther:   must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)).(*ecdsa.PrivateKey),
		ecSameKID: must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)).(*ecdsa.PrivateKey),
		ecP384:    must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader)).(*ecdsa.PrivateKey),
		rsa:       must(rsa.GenerateKey(rand.Reader, 2048)).(*rsa.PrivateKey),
		ed:        ed,
	}
})

// jwkJSON returns the JWK of key (a public or private raw key) with the
// given members added (a nil value removes nothing; members override).
func jwkJSON(t testing.TB, key any, members map[string]any) map[string]any {
	t.Helper()
	k, err := jwk.FromRaw(key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	maps.Copy(m, members)
	return m
}

func jwksOf(t testing.TB, ks ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": ks})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// standardJWKS trusts ec (kid ec-1, implied ES256), ecSameKID (also kid
// ec-1), rsa as RS256 (kid rsa-1, implied) and as PS256 (kid rsa-pss), and
// ed (kid ed-1, implied EdDSA).
func standardJWKS(t testing.TB) []byte {
	k := keys()
	return jwksOf(t,
		jwkJSON(t, &k.ec.PublicKey, map[string]any{"kid": "ec-1", "use": "sig"}),
		jwkJSON(t, &k.ecSameKID.PublicKey, map[string]any{"kid": "ec-1", "alg": "ES256"}),
		jwkJSON(t, &k.rsa.PublicKey, map[string]any{"kid": "rsa-1"}),
		jwkJSON(t, &k.rsa.PublicKey, map[string]any{"kid": "rsa-pss", "alg": "PS256", "key_ops": []string{"verify"}}),
		jwkJSON(t, k.ed.Public(), map[string]any{"kid": "ed-1"}),
	)
}

func newTestVerifier(t testing.TB, jwks []byte, opts ...Option) *CitizenVerifier {
	t.Helper()
	opts = append([]Option{WithIssuer(testIss), WithAudience(testAud), WithClock(fixedClock)}, opts...)
	v, err := NewCitizenVerifier(jwks, opts...)
	if err != nil {
		t.Fatalf("NewCitizenVerifier: %v", err)
	}
	return v
}

// validClaims are the claims of a token valid at testNow.
func validClaims() map[string]any {
	return map[string]any{
		"iss": testIss,
		"aud": testAud,
		"sub": testSub,
		"iat": testNow.Add(-time.Minute).Unix(),
		"nbf": testNow.Add(-time.Minute).Unix(),
		"exp": testNow.Add(10 * time.Minute).Unix(),
	}
}

// claimsWith returns validClaims with overrides; a nil value deletes the
// claim.
func claimsWith(over map[string]any) map[string]any {
	c := validClaims()
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// signJWT signs claims as a compact JWS with jwx, with kid (if non-empty)
// in the protected header.
func signJWT(t testing.TB, alg jwa.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	hdr := map[string]any{}
	if kid != "" {
		hdr[jws.KeyIDKey] = kid
	}
	return signJWTHeaders(t, alg, key, hdr, claims)
}

// signJWTHeaders is signJWT with arbitrary extra protected headers.
func signJWTHeaders(t testing.TB, alg jwa.SignatureAlgorithm, key any, headers, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	hdr := jws.NewHeaders()
	for k, v := range headers {
		if err := hdr.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	out, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// rawJWS assembles a compact JWS from a header, claims and signature
// bytes, with no signing at all.
func rawJWS(t testing.TB, header, claims map[string]any, sig []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(c) + "." + enc(sig)
}

// es256 signs claims with the trusted P-256 key under kid ec-1.
func es256(t testing.TB, claims map[string]any) string {
	t.Helper()
	return signJWT(t, jwa.ES256, keys().ec, "ec-1", claims)
}
