package auth

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/vaxcert/vaxcert/internal/limits"
)

func pubPEM(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// replaceSegment replaces segment i (0 header, 1 payload, 2 signature).
func replaceSegment(token string, i int, seg string) string {
	parts := strings.Split(token, ".")
	parts[i] = seg
	return strings.Join(parts, ".")
}

// nonCanonical sets an unused low bit in the last character of the
// signature segment: base64 decoders that ignore those bits decode the same
// signature bytes.
func nonCanonical(token string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, token[len(token)-1])
	return token[:len(token)-1] + string(alphabet[last|1])
}

func assertReason(t *testing.T, err error, want Reason) {
	t.Helper()
	if !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("err = %v, want ErrUnauthenticated", err)
	}
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %T, want *Error", err)
	}
	if ae.Reason != want {
		t.Fatalf("reason = %v (%v), want %v", ae.Reason, err, want)
	}
}

func TestVerify(t *testing.T) {
	k := keys()
	v := newTestVerifier(t, standardJWKS(t))
	valid := es256(t, validClaims())
	wantExp := testNow.Add(10 * time.Minute)
	tampered := replaceSegment(valid, 1, base64.RawURLEncoding.EncodeToString(
		mustJSON(t, claimsWith(map[string]any{"sub": "001099099999"}))))
	if len(valid)%4 == 1 {
		t.Fatal("test token has an impossible base64 length")
	}

	tests := []struct {
		name    string
		token   string
		wantID  string // checked when wantErr is 0
		wantErr Reason
	}{
		{name: "valid ES256", token: valid, wantID: testSub},
		{name: "valid ES256 second key under same kid", token: signJWT(t, jwa.ES256, k.ecSameKID, "ec-1", validClaims()), wantID: testSub},
		{name: "valid RS256 implied by RSA key", token: signJWT(t, jwa.RS256, k.rsa, "rsa-1", validClaims()), wantID: testSub},
		{name: "valid PS256 stated by key", token: signJWT(t, jwa.PS256, k.rsa, "rsa-pss", validClaims()), wantID: testSub},
		{name: "valid EdDSA", token: signJWT(t, jwa.EdDSA, k.ed, "ed-1", validClaims()), wantID: testSub},
		{name: "valid 9-digit CMND", token: es256(t, claimsWith(map[string]any{"sub": "123456789"})), wantID: "123456789"},
		{name: "valid aud array", token: es256(t, claimsWith(map[string]any{"aud": []string{"other", testAud}})), wantID: testSub},
		{name: "valid exp passed within skew", token: es256(t, claimsWith(map[string]any{"exp": testNow.Add(-30 * time.Second).Unix()})), wantID: testSub},
		{name: "valid nbf and iat ahead within skew", token: es256(t, claimsWith(map[string]any{"nbf": testNow.Add(30 * time.Second).Unix(), "iat": testNow.Add(30 * time.Second).Unix()})), wantID: testSub},
		{name: "valid without iat and nbf", token: es256(t, claimsWith(map[string]any{"iat": nil, "nbf": nil})), wantID: testSub},

		{name: "empty", token: "", wantErr: ReasonMissing},
		{name: "oversized", token: strings.Repeat("A", limits.MaxBearerToken+1), wantErr: ReasonTooLarge},
		{name: "two segments", token: valid[:strings.LastIndexByte(valid, '.')], wantErr: ReasonMalformed},
		{name: "four segments", token: valid + ".AAAA", wantErr: ReasonMalformed},
		{name: "json serialisation", token: `{"payload":"e30","signatures":[]}`, wantErr: ReasonMalformed},
		{name: "padded signature", token: valid + "==", wantErr: ReasonMalformed},
		{name: "standard base64 alphabet", token: replaceSegment(valid, 2, "+/"+strings.Repeat("A", 84)), wantErr: ReasonMalformed},
		{name: "non-canonical trailing bits", token: nonCanonical(valid), wantErr: ReasonMalformed},
		{name: "header not json", token: "AAAA." + strings.SplitN(valid, ".", 2)[1], wantErr: ReasonMalformed},
		{name: "signed payload not json", token: signPayload(t, []byte("not json")), wantErr: ReasonMalformed},
		{name: "signed payload json array", token: signPayload(t, []byte("[1]")), wantErr: ReasonMalformed},
		{name: "missing exp", token: es256(t, claimsWith(map[string]any{"exp": nil})), wantErr: ReasonMalformed},
		{name: "sub not a string", token: es256(t, claimsWith(map[string]any{"sub": 1099012345})), wantErr: ReasonMalformed},
		{name: "crit header", token: signJWTHeaders(t, jwa.ES256, k.ec, map[string]any{"kid": "ec-1", "crit": []string{"exp"}, "exp": 1}, validClaims()), wantErr: ReasonMalformed},
		{name: "unencoded payload header", token: signJWTHeaders(t, jwa.ES256, k.ec, map[string]any{"kid": "ec-1", "b64": true}, validClaims()), wantErr: ReasonMalformed},

		{name: "expired", token: es256(t, claimsWith(map[string]any{"exp": testNow.Add(-61 * time.Second).Unix()})), wantErr: ReasonExpired},
		{name: "exp zero", token: es256(t, claimsWith(map[string]any{"exp": 0})), wantErr: ReasonExpired},
		{name: "exp negative", token: es256(t, claimsWith(map[string]any{"exp": -1})), wantErr: ReasonMalformed},
		{name: "nbf in the future", token: es256(t, claimsWith(map[string]any{"nbf": testNow.Add(2 * time.Minute).Unix()})), wantErr: ReasonNotYetValid},
		{name: "iat in the future", token: es256(t, claimsWith(map[string]any{"iat": testNow.Add(2 * time.Minute).Unix(), "nbf": nil})), wantErr: ReasonNotYetValid},
		{name: "wrong issuer", token: es256(t, claimsWith(map[string]any{"iss": "https://evil.example"})), wantErr: ReasonWrongIssuer},
		{name: "missing issuer", token: es256(t, claimsWith(map[string]any{"iss": nil})), wantErr: ReasonWrongIssuer},
		{name: "wrong audience", token: es256(t, claimsWith(map[string]any{"aud": "another-service"})), wantErr: ReasonWrongAudience},
		{name: "missing audience", token: es256(t, claimsWith(map[string]any{"aud": nil})), wantErr: ReasonWrongAudience},
		{name: "missing sub", token: es256(t, claimsWith(map[string]any{"sub": nil})), wantErr: ReasonBadSubject},
		{name: "sub 11 digits", token: es256(t, claimsWith(map[string]any{"sub": "00109901234"})), wantErr: ReasonBadSubject},
		{name: "sub 10 digits", token: es256(t, claimsWith(map[string]any{"sub": "0010990123"})), wantErr: ReasonBadSubject},
		{name: "sub 13 digits", token: es256(t, claimsWith(map[string]any{"sub": "0010990123456"})), wantErr: ReasonBadSubject},
		{name: "sub with letter", token: es256(t, claimsWith(map[string]any{"sub": "00109901234X"})), wantErr: ReasonBadSubject},
		{name: "sub with space", token: es256(t, claimsWith(map[string]any{"sub": " 123456789"})), wantErr: ReasonBadSubject},
		{name: "sub non-ASCII digits", token: es256(t, claimsWith(map[string]any{"sub": "١٢٣٤٥٦٧٨٩"})), wantErr: ReasonBadSubject},

		{name: "unknown kid", token: signJWT(t, jwa.ES256, k.ecOther, "ec-9", validClaims()), wantErr: ReasonUnknownKey},
		{name: "missing kid", token: signJWT(t, jwa.ES256, k.ec, "", validClaims()), wantErr: ReasonUnknownKey},
		{name: "untrusted key under trusted kid", token: signJWT(t, jwa.ES256, k.ecOther, "ec-1", validClaims()), wantErr: ReasonBadSignature},
		{name: "tampered payload", token: tampered, wantErr: ReasonBadSignature},
		{name: "alg none unsigned", token: rawJWS(t, map[string]any{"alg": "none", "kid": "ec-1"}, validClaims(), nil), wantErr: ReasonMalformed},
		{name: "alg none with signature", token: rawJWS(t, map[string]any{"alg": "none", "kid": "ec-1"}, validClaims(), []byte("sig")), wantErr: ReasonBadSignature},
		{name: "HS256 keyed with EC public key PEM", token: signJWT(t, jwa.HS256, pubPEM(t, &k.ec.PublicKey), "ec-1", validClaims()), wantErr: ReasonBadSignature},
		{name: "HS256 keyed with RSA public key PEM", token: signJWT(t, jwa.HS256, pubPEM(t, &k.rsa.PublicKey), "rsa-1", validClaims()), wantErr: ReasonBadSignature},
		{name: "HS256 keyed with the JWKS", token: signJWT(t, jwa.HS256, standardJWKS(t), "ec-1", validClaims()), wantErr: ReasonBadSignature},
		{name: "RS256 header on EC kid", token: signJWT(t, jwa.RS256, k.rsa, "ec-1", validClaims()), wantErr: ReasonBadSignature},
		{name: "ES256 header on RSA kid", token: signJWT(t, jwa.ES256, k.ec, "rsa-1", validClaims()), wantErr: ReasonBadSignature},
		{name: "PS256 on key implying RS256", token: signJWT(t, jwa.PS256, k.rsa, "rsa-1", validClaims()), wantErr: ReasonBadSignature},
		{name: "RS256 on key stating PS256", token: signJWT(t, jwa.RS256, k.rsa, "rsa-pss", validClaims()), wantErr: ReasonBadSignature},
		{name: "ES384 with P-384 key under P-256 kid", token: signJWT(t, jwa.ES384, k.ecP384, "ec-1", validClaims()), wantErr: ReasonBadSignature},
		{name: "EdDSA header on EC kid", token: signJWT(t, jwa.EdDSA, k.ed, "ec-1", validClaims()), wantErr: ReasonBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Verify(tc.token)
			if tc.wantErr != 0 {
				assertReason(t, err, tc.wantErr)
				if got != (Citizen{}) {
					t.Errorf("Verify returned %+v with an error", got)
				}
				for _, secret := range []string{testSub, tc.token} {
					if secret != "" && strings.Contains(err.Error(), secret) {
						t.Errorf("error message leaks token content")
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			exp := wantExp
			if tc.name == "valid exp passed within skew" {
				exp = testNow.Add(-30 * time.Second)
			}
			if want := (Citizen{ID: tc.wantID, Expires: exp}); !got.Expires.Equal(want.Expires) || got.ID != want.ID {
				t.Errorf("Verify = %+v, want %+v", got, want)
			}
		})
	}
}

// signPayload signs arbitrary payload bytes with the trusted key ec-1.
func signPayload(t testing.TB, payload []byte) string {
	t.Helper()
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, "ec-1"); err != nil {
		t.Fatal(err)
	}
	out, err := jws.Sign(payload, jws.WithKey(jwa.ES256, keys().ec, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifySkew(t *testing.T) {
	token := es256(t, claimsWith(map[string]any{"exp": testNow.Add(-time.Second).Unix()}))
	tests := []struct {
		name    string
		opts    []Option
		wantErr Reason
	}{
		{name: "default skew accepts 1s late", opts: nil},
		{name: "zero skew refuses 1s late", opts: []Option{WithSkew(0)}, wantErr: ReasonExpired},
		{name: "clock moved back", opts: []Option{WithSkew(0), WithClock(func() time.Time { return testNow.Add(-time.Minute) })}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newTestVerifier(t, standardJWKS(t), tc.opts...).Verify(token)
			if tc.wantErr == 0 {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			assertReason(t, err, tc.wantErr)
		})
	}
}

func TestNewCitizenVerifierOptions(t *testing.T) {
	jwks := standardJWKS(t)
	tests := []struct {
		name string
		opts []Option
	}{
		{name: "no issuer", opts: []Option{WithAudience(testAud)}},
		{name: "no audience", opts: []Option{WithIssuer(testIss)}},
		{name: "empty issuer", opts: []Option{WithIssuer(""), WithAudience(testAud)}},
		{name: "empty audience", opts: []Option{WithIssuer(testIss), WithAudience("")}},
		{name: "nil clock", opts: []Option{WithIssuer(testIss), WithAudience(testAud), WithClock(nil)}},
		{name: "negative skew", opts: []Option{WithIssuer(testIss), WithAudience(testAud), WithSkew(-time.Second)}},
		{name: "skew above 5 minutes", opts: []Option{WithIssuer(testIss), WithAudience(testAud), WithSkew(5*time.Minute + time.Second)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewCitizenVerifier(jwks, tc.opts...)
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("err = %v, want ErrInvalidArgument", err)
			}
			if v != nil {
				t.Error("verifier returned with an error")
			}
		})
	}
	if _, err := NewCitizenVerifier(jwks, WithIssuer(testIss), WithAudience(testAud), WithSkew(5*time.Minute)); err != nil {
		t.Errorf("5-minute skew refused: %v", err)
	}
}

func TestKeyRotation(t *testing.T) {
	k := keys()
	oldSet := jwksOf(t, jwkJSON(t, &k.ec.PublicKey, map[string]any{"kid": "2026-01"}))
	newSet := jwksOf(t, jwkJSON(t, &k.ecOther.PublicKey, map[string]any{"kid": "2026-02"}))
	oldTok := signJWT(t, jwa.ES256, k.ec, "2026-01", validClaims())
	newTok := signJWT(t, jwa.ES256, k.ecOther, "2026-02", validClaims())

	v := newTestVerifier(t, oldSet)
	check := func(step, token string, want Reason) {
		t.Helper()
		_, err := v.Verify(token)
		if want == 0 {
			if err != nil {
				t.Fatalf("%s: Verify: %v", step, err)
			}
			return
		}
		var ae *Error
		if !errors.As(err, &ae) || ae.Reason != want {
			t.Fatalf("%s: err = %v, want reason %v", step, err, want)
		}
	}
	check("before rotation, old key", oldTok, 0)
	check("before rotation, new key", newTok, ReasonUnknownKey)

	if err := v.ReloadJWKS(newSet); err != nil {
		t.Fatal(err)
	}
	check("after rotation, new key", newTok, 0)
	check("after rotation, old key", oldTok, ReasonUnknownKey)

	bad := jwksOf(t, jwkJSON(t, k.ec, map[string]any{"kid": "2026-03"}))
	if err := v.ReloadJWKS(bad); !errors.Is(err, ErrPrivateKey) {
		t.Fatalf("ReloadJWKS(private key) = %v, want ErrPrivateKey", err)
	}
	check("after refused reload, new key", newTok, 0)
}

// TestReloadConcurrent swaps key sets while verifying; run with -race.
func TestReloadConcurrent(t *testing.T) {
	k := keys()
	one := jwksOf(t, jwkJSON(t, &k.ec.PublicKey, map[string]any{"kid": "ec-1"}))
	two := jwksOf(t,
		jwkJSON(t, &k.ec.PublicKey, map[string]any{"kid": "ec-1"}),
		jwkJSON(t, &k.ecOther.PublicKey, map[string]any{"kid": "ec-2"}))
	v := newTestVerifier(t, one)
	token := es256(t, validClaims())

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if _, err := v.Verify(token); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range 50 {
		set := one
		if i%2 == 0 {
			set = two
		}
		if err := v.ReloadJWKS(set); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Verify during reload: %v", err)
	}
}
