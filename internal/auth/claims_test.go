package auth

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// TestNumericDates: "exp", "nbf" and "iat" are NumericDates, JSON numbers
// (RFC 7519 §2); jwx also reads them from strings, which Verify refuses,
// as it refuses a claim given twice (RFC 7519 §4).
func TestNumericDates(t *testing.T) {
	v := newTestVerifier(t, standardJWKS(t))
	exp := testNow.Add(10 * time.Minute).Unix()
	past := testNow.Add(-time.Minute).Unix()
	expS, pastS := strconv.FormatInt(exp, 10), strconv.FormatInt(past, 10)
	valid := `"iss":"` + testIss + `","aud":"` + testAud + `","sub":"` + testSub + `"`
	tests := []struct {
		name    string
		payload string
		wantErr Reason
	}{
		{"numbers", `{` + valid + `,"exp":` + expS + `,"iat":` + pastS + `,"nbf":` + pastS + `}`, 0},
		{"fractional exp", `{` + valid + `,"exp":` + expS + `.5}`, 0},
		{"exponent exp", `{` + valid + `,"exp":` + expS[:1] + `.` + expS[1:] + `e9}`, 0},
		{"exp string of digits", `{` + valid + `,"exp":"` + expS + `"}`, ReasonMalformed},
		{"exp RFC 3339 string", `{` + valid + `,"exp":"` + testNow.Add(time.Hour).Format(time.RFC3339) + `"}`, ReasonMalformed},
		{"nbf string", `{` + valid + `,"exp":` + expS + `,"nbf":"` + pastS + `"}`, ReasonMalformed},
		{"iat string", `{` + valid + `,"exp":` + expS + `,"iat":"` + pastS + `"}`, ReasonMalformed},
		{"exp true", `{` + valid + `,"exp":true}`, ReasonMalformed},
		{"exp null", `{` + valid + `,"exp":null}`, ReasonMalformed},
		{"exp object", `{` + valid + `,"exp":{"v":` + expS + `}}`, ReasonMalformed},
		{"exp twice", `{` + valid + `,"exp":1,"exp":` + expS + `}`, ReasonMalformed},
		{"sub twice", `{` + valid + `,"exp":` + expS + `,"sub":"123456789"}`, ReasonMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Verify(signPayload(t, []byte(tc.payload)))
			if tc.wantErr != 0 {
				assertReason(t, err, tc.wantErr)
				if strings.Contains(err.Error(), expS) || strings.Contains(err.Error(), testSub) {
					t.Errorf("error message leaks a claim value: %v", err)
				}
				return
			}
			if err != nil || got.ID != testSub {
				t.Fatalf("Verify = %+v, %v", got, err)
			}
		})
	}
}

// TestTokenType: without WithType a token's "typ" must be absent or JWT;
// with it, the configured type is required (RFC 8725 §3.11).
func TestTokenType(t *testing.T) {
	k := keys()
	token := func(typ any) string {
		hdr := map[string]any{"kid": "ec-1", "alg": "ES256"}
		if typ != nil {
			hdr["typ"] = typ
		}
		if _, ok := typ.(string); ok || typ == nil {
			return signJWTHeaders(t, jwa.ES256, k.ec, hdr, validClaims())
		}
		// jwx will not sign a non-string typ: sign by hand.
		enc := base64.RawURLEncoding.EncodeToString
		input := enc(mustJSON(t, hdr)) + "." + enc(mustJSON(t, validClaims()))
		sum := sha256.Sum256([]byte(input))
		r, s, err := ecdsa.Sign(rand.Reader, k.ec, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
		return input + "." + enc(sig)
	}
	plain := newTestVerifier(t, standardJWKS(t))
	typed := newTestVerifier(t, standardJWKS(t), WithType("at+jwt"))
	tests := []struct {
		name      string
		v         *CitizenVerifier
		typ       any
		wantErr   Reason
		wantValid bool
	}{
		{"no typ", plain, nil, 0, true},
		{"JWT", plain, "JWT", 0, true},
		{"jwt lowercase", plain, "jwt", 0, true},
		{"application/jwt", plain, "application/jwt", 0, true},
		{"ID token type refused", plain, "id_token+jwt", ReasonWrongType, false},
		{"logout token refused", plain, "logout+jwt", ReasonWrongType, false},
		{"configured type", typed, "at+jwt", 0, true},
		{"configured type, media type spelling", typed, "application/AT+JWT", 0, true},
		{"configured type missing", typed, nil, ReasonWrongType, false},
		{"plain JWT where a type is configured", typed, "JWT", ReasonWrongType, false},
		{"typ not a string", plain, 7, ReasonMalformed, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.v.Verify(token(tc.typ))
			if !tc.wantValid {
				assertReason(t, err, tc.wantErr)
				return
			}
			if err != nil || got.ID != testSub {
				t.Fatalf("Verify = %+v, %v", got, err)
			}
		})
	}
	if _, err := NewCitizenVerifier(standardJWKS(t), WithIssuer(testIss), WithAudience(testAud), WithType(" ")); err == nil {
		t.Error("WithType accepted an empty type")
	}
}
