package auth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// File names written by [GenerateDevIdentity]. Development only.
const (
	// DevKeyFile holds the development signing key (PKCS#8 PEM, mode 0600).
	DevKeyFile = "dev-signing-key.pem"
	// DevJWKSFile holds its public JWK Set (mode 0644).
	DevJWKSFile = "dev-jwks.json"
)

// GenerateDevIdentity sets up a DEVELOPMENT-ONLY identity provider in dir
// (created with mode 0700 if missing): an ECDSA P-256 signing key in
// [DevKeyFile] and its public JWK Set in [DevJWKSFile], for `make run` and
// tests. Never use it in production: anyone holding the key can sign in as
// any citizen.
//
// It is idempotent: an existing key is kept (and must be valid, else
// [ErrInvalidDevKey]); the JWK Set is derived from the key and rewritten
// only when missing or different. Both files are written atomically
// (temporary file, fsync, rename). Do not run it concurrently on one dir.
func GenerateDevIdentity(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("auth: failed to create dev identity dir: %w", err)
	}
	keyPath := filepath.Join(dir, DevKeyFile)
	keyPEM, err := os.ReadFile(keyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if keyPEM, err = newDevKeyPEM(); err != nil {
			return err
		}
		if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("auth: failed to read dev key: %w", err)
	}
	key, err := parseDevKey(keyPEM)
	if err != nil {
		return err
	}
	jwks, err := devJWKS(&key.PublicKey)
	if err != nil {
		return err
	}
	jwksPath := filepath.Join(dir, DevJWKSFile)
	old, err := os.ReadFile(jwksPath)
	if err == nil && bytes.Equal(old, jwks) {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("auth: failed to read dev jwks: %w", err)
	}
	return writeFileAtomic(jwksPath, jwks, 0o644)
}

// MintDevToken signs a DEVELOPMENT-ONLY citizen JWT with the key written by
// [GenerateDevIdentity]: ES256, with the key's RFC 7638 thumbprint as
// "kid", claims "iss", "aud", "sub" (omitted when empty), "iat" and "nbf"
// set to now, and "exp" set to now+ttl. sub is not checked, so tests can
// mint tokens that [CitizenVerifier.Verify] must refuse.
func MintDevToken(keyPEM []byte, sub string, iss, aud string, ttl time.Duration, now time.Time) (string, error) {
	if iss == "" || aud == "" || ttl <= 0 {
		return "", fmt.Errorf("%w: dev token needs an issuer, an audience and a positive ttl", ErrInvalidArgument)
	}
	key, err := parseDevKey(keyPEM)
	if err != nil {
		return "", err
	}
	jk, err := devJWK(key)
	if err != nil {
		return "", err
	}
	b := jwt.NewBuilder().
		Issuer(iss).
		Audience([]string{aud}).
		IssuedAt(now).
		NotBefore(now).
		Expiration(now.Add(ttl))
	if sub != "" {
		b = b.Subject(sub)
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("auth: failed to build dev token: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, jk))
	if err != nil {
		return "", fmt.Errorf("auth: failed to sign dev token: %w", err)
	}
	return string(signed), nil
}

func newDevKeyPEM() ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("auth: failed to generate dev key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("auth: failed to encode dev key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func parseDevKey(keyPEM []byte) (*ecdsa.PrivateKey, error) {
	block, rest := pem.Decode(keyPEM)
	if block == nil || block.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: want one PKCS#8 PEM block", ErrInvalidDevKey)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidDevKey, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: want an ECDSA P-256 key", ErrInvalidDevKey)
	}
	return key, nil
}

// devJWK wraps a dev key (private or public) as a JWK with kid, alg and use.
func devJWK(raw any) (jwk.Key, error) {
	k, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, fmt.Errorf("auth: failed to convert dev key: %w", err)
	}
	thumb, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("auth: failed to compute dev key thumbprint: %w", err)
	}
	for name, v := range map[string]any{
		jwk.KeyIDKey:     base64.RawURLEncoding.EncodeToString(thumb),
		jwk.AlgorithmKey: jwa.ES256,
		jwk.KeyUsageKey:  jwk.ForSignature,
	} {
		if err := k.Set(name, v); err != nil {
			return nil, fmt.Errorf("auth: failed to set dev key %s: %w", name, err)
		}
	}
	return k, nil
}

// devJWKS returns the JWK Set document for a dev public key; the output is
// deterministic, so GenerateDevIdentity can compare it with the file.
func devJWKS(pub *ecdsa.PublicKey) ([]byte, error) {
	k, err := devJWK(pub)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(map[string][]jwk.Key{"keys": {k}}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("auth: failed to encode dev jwks: %w", err)
	}
	return append(b, '\n'), nil
}

// writeFileAtomic writes data to a temporary file in path's directory,
// syncs it, sets perm and renames it over path.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("auth: failed to create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("auth: failed to set file mode: %w", err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("auth: failed to write file: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("auth: failed to sync file: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("auth: failed to close file: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("auth: failed to rename file: %w", err)
	}
	return nil
}
