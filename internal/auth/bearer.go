package auth

import (
	"strings"

	"github.com/vaxcert/vaxcert/internal/limits"
)

const bearerScheme = "Bearer"

// BearerToken extracts the credential from an Authorization header value of
// the form "Bearer <token>". It is strict: the scheme is matched
// case-insensitively, followed by exactly one space, and the token must be
// a non-empty RFC 6750 b64token (letters, digits, "-._~+/", then optional
// "=" padding) of at most limits.MaxBearerToken bytes.
//
// Errors are *[Error] values unwrapping to [ErrUnauthenticated], with
// [ReasonMissing] for an empty header, [ReasonTooLarge] or
// [ReasonMalformed]. They never contain the header.
//
// Reference: RFC 6750 §2.1; RFC 9110 §11.1 (the scheme is case-insensitive).
func BearerToken(header string) (string, error) {
	if header == "" {
		return "", fail(ReasonMissing, "")
	}
	if len(header) > len(bearerScheme)+1+limits.MaxBearerToken {
		return "", fail(ReasonTooLarge, "")
	}
	if len(header) < len(bearerScheme)+1 ||
		!strings.EqualFold(header[:len(bearerScheme)], bearerScheme) ||
		header[len(bearerScheme)] != ' ' {
		return "", fail(ReasonMalformed, "not a bearer authorization header")
	}
	token := header[len(bearerScheme)+1:]
	if !isB64Token(token) {
		return "", fail(ReasonMalformed, "invalid bearer token syntax")
	}
	return token, nil
}

// isB64Token reports whether s matches RFC 6750's
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}
