package auth

import (
	"errors"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/vaxcert/vaxcert/internal/limits"
)

func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{
		"Bearer " + es256(f, validClaims()),
		"Bearer vxs_" + strings.Repeat("A", 43),
		"bearer abc==", "Bearer  a", "Basic dXNlcjpwYXNz", "Bearer", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, err := BearerToken(header)
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) || !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("error %v is not an *Error unwrapping to ErrUnauthenticated", err)
			}
			if tok != "" {
				t.Fatal("token returned with an error")
			}
			return
		}
		if tok == "" || len(tok) > limits.MaxBearerToken {
			t.Fatalf("accepted token of length %d", len(tok))
		}
		if !strings.EqualFold(header[:6], "bearer") || header[6] != ' ' || header[7:] != tok {
			t.Fatalf("accepted header %q is not %q", header, "Bearer "+tok)
		}
		if strings.TrimLeft(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/") != strings.Repeat("=", len(tok)-len(strings.TrimRight(tok, "="))) {
			t.Fatalf("accepted token %q outside the b64token syntax", tok)
		}
	})
}

// FuzzVerify checks that Verify never panics, always fails with an *Error,
// and accepts nothing but the seeded tokens that were validly signed: a
// mutation that still verifies would be a forgery or a malleability bug.
func FuzzVerify(f *testing.F) {
	k := keys()
	v := newTestVerifier(f, standardJWKS(f))
	valid := map[string]bool{}
	for _, tok := range []string{
		es256(f, validClaims()),
		signJWT(f, jwa.RS256, k.rsa, "rsa-1", validClaims()),
		signJWT(f, jwa.PS256, k.rsa, "rsa-pss", validClaims()),
		signJWT(f, jwa.EdDSA, k.ed, "ed-1", validClaims()),
	} {
		valid[tok] = true
		f.Add(tok)
	}
	for _, tok := range []string{
		rawJWS(f, map[string]any{"alg": "none", "kid": "ec-1"}, validClaims(), nil),
		rawJWS(f, map[string]any{"alg": "none", "kid": "ec-1"}, validClaims(), []byte("sig")),
		signJWT(f, jwa.HS256, pubPEM(f, &k.ec.PublicKey), "ec-1", validClaims()),
		signJWT(f, jwa.ES256, k.ecOther, "ec-1", validClaims()),
		es256(f, claimsWith(map[string]any{"exp": nil})),
		"", "a.b.c", "..",
	} {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(token)
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) || !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("error %v is not an *Error unwrapping to ErrUnauthenticated", err)
			}
			return
		}
		if !valid[token] {
			t.Fatalf("accepted a token that was not validly signed: %q", token)
		}
		if !validNationalID(c.ID) {
			t.Fatal("accepted a malformed subject")
		}
	})
}

// FuzzParseJWKS checks that a parsed key set never holds a key bound to an
// algorithm outside ES256, RS256, PS256 and EdDSA.
func FuzzParseJWKS(f *testing.F) {
	k := keys()
	f.Add(standardJWKS(f))
	f.Add(jwksOf(f, jwkJSON(f, k.ec, map[string]any{"kid": "ec-1"})))
	f.Add([]byte(`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","kid":"a","x":"","y":""}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		set, err := parseJWKS(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidJWKS) {
				t.Fatalf("error %v does not wrap ErrInvalidJWKS", err)
			}
			return
		}
		for kid, cands := range set.byKID {
			if kid == "" || len(cands) == 0 {
				t.Fatal("empty kid or candidate list")
			}
			for _, c := range cands {
				switch c.alg {
				case jwa.ES256, jwa.RS256, jwa.PS256, jwa.EdDSA:
				default:
					t.Fatalf("key bound to algorithm %q", c.alg)
				}
			}
		}
	})
}
