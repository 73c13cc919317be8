package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"
)

// selfSigned returns a distinct self-signed certificate per call.
func selfSigned(t *testing.T, n int64) *x509.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(n),
		Subject:      pkix.Name{CommonName: "collision test"},
		NotBefore:    now,
		NotAfter:     now.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLookupCollision forces two distinct certificates onto one kid (a real
// 8-byte collision cannot be produced in a test): Lookup returns both.
func TestLookupCollision(t *testing.T) {
	var l TrustList
	kid := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	var want []*TrustEntry
	for i := range 2 {
		e, err := NewTrustEntry(selfSigned(t, int64(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		e.KID = kid
		if err := l.add(e); err != nil {
			t.Fatal(err)
		}
		want = append(want, e)
	}
	got := l.Lookup(kid)
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Lookup = %v, want both entries in order", got)
	}
	// A third certificate whose real kid differs is not returned.
	if err := l.Add(selfSigned(t, 3)); err != nil {
		t.Fatal(err)
	}
	if got := l.Lookup(kid); len(got) != 2 {
		t.Fatalf("Lookup after Add = %d entries, want 2", len(got))
	}
}

func TestTrustListLimit(t *testing.T) {
	l := &TrustList{limit: 2}
	a, b, c := selfSigned(t, 1), selfSigned(t, 2), selfSigned(t, 3)
	for _, cert := range []*x509.Certificate{a, b} {
		if err := l.Add(cert); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Add(c); !errors.Is(err, ErrTooManyEntries) {
		t.Fatalf("Add beyond limit = %v, want ErrTooManyEntries", err)
	}
	if err := l.Add(a); err != nil {
		t.Fatalf("Add(duplicate) on a full list = %v, want nil", err)
	}
	if l.Len() != 2 {
		t.Fatalf("Len = %d, want 2", l.Len())
	}
}
