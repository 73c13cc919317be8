package auth_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vaxcert/vaxcert/internal/auth"
)

// A citizen request end to end with the development identity provider:
// extract the bearer token, verify it, then see a tampered token refused.
func ExampleCitizenVerifier_Verify() {
	dir, err := os.MkdirTemp("", "dev-idp")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := auth.GenerateDevIdentity(dir); err != nil {
		panic(err)
	}
	keyPEM, _ := os.ReadFile(filepath.Join(dir, auth.DevKeyFile))
	jwks, _ := os.ReadFile(filepath.Join(dir, auth.DevJWKSFile))

	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	v, err := auth.NewCitizenVerifier(jwks,
		auth.WithIssuer("https://id.example.gov.vn"),
		auth.WithAudience("vaxcert-issuer"),
		auth.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	tok, err := auth.MintDevToken(keyPEM, "001099012345", "https://id.example.gov.vn", "vaxcert-issuer", 15*time.Minute, now)
	if err != nil {
		panic(err)
	}

	bearer, err := auth.BearerToken("Bearer " + tok)
	if err != nil {
		panic(err)
	}
	c, err := v.Verify(bearer)
	fmt.Println(c.Expires, err)

	// Flip one character of the signature.
	last := strings.LastIndexByte(bearer, '.') + 1
	flip := byte('A')
	if bearer[last] == 'A' {
		flip = 'B'
	}
	_, err = v.Verify(bearer[:last] + string(flip) + bearer[last+1:])
	var ae *auth.Error
	fmt.Println(errors.Is(err, auth.ErrUnauthenticated), errors.As(err, &ae) && ae.Reason == auth.ReasonBadSignature)
	// Output:
	// 2026-03-01 12:15:00 +0000 UTC <nil>
	// true true
}

func ExampleRole_Allows() {
	role, err := auth.ParseRole("finaliser")
	if err != nil {
		panic(err)
	}
	fmt.Println(role.Allows(auth.PermIssue), role.Allows(auth.PermUpload))
	// Output: true false
}
