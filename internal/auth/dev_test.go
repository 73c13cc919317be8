package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
	}
}

func TestGenerateDevIdentity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	keyPath, jwksPath := filepath.Join(dir, DevKeyFile), filepath.Join(dir, DevJWKSFile)
	if err := GenerateDevIdentity(dir); err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, 0o700)
	assertMode(t, keyPath, 0o600)
	assertMode(t, jwksPath, 0o644)
	keyPEM, jwks := readFile(t, keyPath), readFile(t, jwksPath)

	// The pair works end to end.
	v := newTestVerifier(t, jwks)
	tok, err := MintDevToken(keyPEM, testSub, testIss, testAud, 15*time.Minute, testNow)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(tok)
	if err != nil {
		t.Fatalf("Verify(dev token): %v", err)
	}
	if got.ID != testSub || !got.Expires.Equal(testNow.Add(15*time.Minute)) {
		t.Errorf("Verify = %+v", got)
	}

	// Idempotent: a second run changes nothing.
	if err := GenerateDevIdentity(dir); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, keyPath), keyPEM) || !bytes.Equal(readFile(t, jwksPath), jwks) {
		t.Fatal("second GenerateDevIdentity changed the files")
	}

	// A missing or stale JWKS is re-derived from the kept key.
	if err := os.Remove(jwksPath); err != nil {
		t.Fatal(err)
	}
	if err := GenerateDevIdentity(dir); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, jwksPath), jwks) {
		t.Fatal("re-derived JWKS differs")
	}
	if err := os.WriteFile(jwksPath, []byte(`{"keys":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := GenerateDevIdentity(dir); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, jwksPath), jwks) {
		t.Fatal("stale JWKS not rewritten")
	}

	// A corrupt key is reported, never replaced.
	if err := os.WriteFile(keyPath, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := GenerateDevIdentity(dir); !errors.Is(err, ErrInvalidDevKey) {
		t.Fatalf("corrupt key: err = %v, want ErrInvalidDevKey", err)
	}
	if !bytes.Equal(readFile(t, keyPath), []byte("garbage")) {
		t.Error("corrupt key was overwritten")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("dir holds %d entries, want 2 (no temporary files left)", len(entries))
	}
}

func TestMintDevToken(t *testing.T) {
	dir := t.TempDir()
	if err := GenerateDevIdentity(dir); err != nil {
		t.Fatal(err)
	}
	keyPEM := readFile(t, filepath.Join(dir, DevKeyFile))
	v := newTestVerifier(t, readFile(t, filepath.Join(dir, DevJWKSFile)))

	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(p384)
	if err != nil {
		t.Fatal(err)
	}
	p384PEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	ecDER, err := x509.MarshalECPrivateKey(keys().ec)
	if err != nil {
		t.Fatal(err)
	}
	sec1PEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})

	tests := []struct {
		name       string
		keyPEM     []byte
		sub        string
		iss, aud   string
		ttl        time.Duration
		now        time.Time
		wantErr    error  // from MintDevToken
		wantReason Reason // from Verify, when MintDevToken succeeds
	}{
		{name: "valid", keyPEM: keyPEM, sub: testSub, iss: testIss, aud: testAud, ttl: time.Hour, now: testNow},
		{name: "expired", keyPEM: keyPEM, sub: testSub, iss: testIss, aud: testAud, ttl: time.Hour, now: testNow.Add(-2 * time.Hour), wantReason: ReasonExpired},
		{name: "not yet valid", keyPEM: keyPEM, sub: testSub, iss: testIss, aud: testAud, ttl: time.Hour, now: testNow.Add(time.Hour), wantReason: ReasonNotYetValid},
		{name: "wrong issuer", keyPEM: keyPEM, sub: testSub, iss: "https://other.example", aud: testAud, ttl: time.Hour, now: testNow, wantReason: ReasonWrongIssuer},
		{name: "wrong audience", keyPEM: keyPEM, sub: testSub, iss: testIss, aud: "other", ttl: time.Hour, now: testNow, wantReason: ReasonWrongAudience},
		{name: "no sub", keyPEM: keyPEM, iss: testIss, aud: testAud, ttl: time.Hour, now: testNow, wantReason: ReasonBadSubject},
		{name: "bad sub", keyPEM: keyPEM, sub: "abc", iss: testIss, aud: testAud, ttl: time.Hour, now: testNow, wantReason: ReasonBadSubject},

		{name: "zero ttl", keyPEM: keyPEM, sub: testSub, iss: testIss, aud: testAud, now: testNow, wantErr: ErrInvalidArgument},
		{name: "no issuer", keyPEM: keyPEM, sub: testSub, aud: testAud, ttl: time.Hour, now: testNow, wantErr: ErrInvalidArgument},
		{name: "no audience", keyPEM: keyPEM, sub: testSub, iss: testIss, ttl: time.Hour, now: testNow, wantErr: ErrInvalidArgument},
		{name: "not PEM", keyPEM: []byte("not a key"), sub: testSub, iss: testIss, aud: testAud, ttl: time.Hour, now: testNow, wantErr: ErrInvalidDevKey},
		{name: "trailing PEM block", keyPEM: append(bytes.Clone(keyPEM), keyPEM...), sub: testSub, iss: testIss, aud: testAud, ttl: time.Hour, now: testNow, wantErr: ErrInvalidDevKey},
		{name: "SEC1 instead of PKCS#8", keyPEM: sec1PEM, sub: testSub, iss: testIss, aud: testAud, ttl: time.Hour, now: testNow, wantErr: ErrInvalidDevKey},
		{name: "P-384 key", keyPEM: p384PEM, sub: testSub, iss: testIss, aud: testAud, ttl: time.Hour, now: testNow, wantErr: ErrInvalidDevKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := MintDevToken(tc.keyPEM, tc.sub, tc.iss, tc.aud, tc.ttl, tc.now)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("MintDevToken err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(tok)
			if tc.wantReason != 0 {
				assertReason(t, err, tc.wantReason)
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.ID != tc.sub || !got.Expires.Equal(tc.now.Add(tc.ttl)) {
				t.Errorf("Verify = %+v", got)
			}
		})
	}
}
