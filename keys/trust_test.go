package keys_test

import (
	"bytes"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/issuing"
	"github.com/vaxcert/vaxcert/schemas"
)

func TestNewTrustEntry(t *testing.T) {
	pki := testkit.NewPKI(t, testkit.WithUsage(keys.UsageVaccination))
	cert := pki.DSC.Cert
	e, err := keys.NewTrustEntry(cert)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.KID, keys.KID(cert.Raw)) {
		t.Errorf("KID = %x, want %x", e.KID, keys.KID(cert.Raw))
	}
	if e.Cert != cert || e.Key != cert.PublicKey {
		t.Error("Cert or Key not taken from the certificate")
	}
	if e.Country != "VN" {
		t.Errorf("Country = %q, want VN", e.Country)
	}
	if e.Alg != keys.AlgES256 {
		t.Errorf("Alg = %v, want ES256", e.Alg)
	}
	if !e.NotBefore.Equal(testkit.Now.AddDate(0, 0, -30)) || !e.NotAfter.Equal(testkit.Now.AddDate(0, 0, -30).Add(issuing.DefaultDSCValidity)) {
		t.Errorf("validity = %v..%v", e.NotBefore, e.NotAfter)
	}
	if e.Usage != keys.UsageVaccination || !e.Permits(schemas.TypeVaccination) || e.Permits(schemas.TypeTest) {
		t.Errorf("Usage = %v, want vaccination", e.Usage)
	}
}

func TestNewTrustEntryErrors(t *testing.T) {
	pki := testkit.NewPKI(t)
	tests := []struct {
		name string
		cert *x509.Certificate
		want error
	}{
		{"nil", nil, keys.ErrMalformed},
		{"empty", &x509.Certificate{}, keys.ErrMalformed},
		{"csca", pki.CSCA.Cert, keys.ErrNotSigner},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := keys.NewTrustEntry(tc.cert)
			if !errors.Is(err, tc.want) || e != nil {
				t.Fatalf("NewTrustEntry = %v, %v; want error %v", e, err, tc.want)
			}
		})
	}
	// A certificate given as trusted whose KeyUsage omits digitalSignature
	// is trusted (the verifier warns); CanSign tells.
	noDS := makeCert(t, p256Key(t), func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageKeyEncipherment })
	if e, err := keys.NewTrustEntry(noDS); err != nil || e.Alg != keys.AlgES256 || keys.CanSign(noDS) {
		t.Errorf("KeyUsage without digitalSignature: %v, %v", e, err)
	}
	// A certificate without a KeyUsage extension may sign.
	if _, err := keys.NewTrustEntry(makeCert(t, p256Key(t), func(c *x509.Certificate) { c.KeyUsage = 0 })); err != nil {
		t.Errorf("no KeyUsage extension: %v", err)
	}
}

func TestTrustList(t *testing.T) {
	a := testkit.NewPKI(t)
	b := testkit.NewPKI(t, testkit.WithPS256(), testkit.WithCountry("DE"))
	l, err := keys.NewTrustList(a.DSC.Cert, b.DSC.Cert, a.DSC.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 2 {
		t.Fatalf("Len = %d, want 2 (duplicate not removed)", l.Len())
	}
	if err := l.Add(b.DSC.Cert); err != nil || l.Len() != 2 {
		t.Fatalf("Add(duplicate) = %v, Len %d", err, l.Len())
	}
	entries := l.Entries()
	if len(entries) != 2 || entries[0].Cert != a.DSC.Cert || entries[1].Cert != b.DSC.Cert {
		t.Fatalf("Entries not in insertion order")
	}
	for _, p := range []*testkit.PKI{a, b} {
		got := l.Lookup(p.DSC.KID())
		if len(got) != 1 || got[0].Cert != p.DSC.Cert {
			t.Fatalf("Lookup(%x) = %v", p.DSC.KID(), got)
		}
	}
	if got := l.Lookup(b.DSC.KID()); got[0].Country != "DE" || got[0].Alg != keys.AlgPS256 {
		t.Errorf("entry b: country %q alg %v", got[0].Country, got[0].Alg)
	}
	for _, kid := range [][]byte{nil, {}, []byte("foo"), keys.KID([]byte("unknown")), append(a.DSC.KID(), 0)} {
		if got := l.Lookup(kid); got != nil {
			t.Errorf("Lookup(%x) = %v, want nil", kid, got)
		}
	}
	// Results are copies: changing them leaves the list intact.
	got := l.Lookup(a.DSC.KID())
	got[0] = nil
	entries[0] = nil
	if l.Lookup(a.DSC.KID())[0] == nil || l.Entries()[0] == nil {
		t.Error("Lookup or Entries returned internal slices")
	}
}

func TestTrustListErrors(t *testing.T) {
	pki := testkit.NewPKI(t)
	if l, err := keys.NewTrustList(pki.DSC.Cert, pki.CSCA.Cert); !errors.Is(err, keys.ErrNotSigner) || l != nil {
		t.Errorf("NewTrustList(dsc, csca) = %v, %v; want ErrNotSigner", l, err)
	}
	var zero keys.TrustList
	if zero.Len() != 0 || zero.Lookup(pki.DSC.KID()) != nil {
		t.Error("zero TrustList not empty")
	}
	if err := zero.Add(pki.DSC.Cert); err != nil || len(zero.Lookup(pki.DSC.KID())) != 1 {
		t.Errorf("zero TrustList Add = %v", err)
	}
}
