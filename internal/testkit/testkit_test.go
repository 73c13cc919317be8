package testkit_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/asn1"
	"testing"

	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/issuing"
	"github.com/vaxcert/vaxcert/schemas"
)

func TestNewPKI(t *testing.T) {
	expired := testkit.NewPKI(t, testkit.WithValidity(testkit.Now.AddDate(-3, 0, 0), issuing.DefaultDSCValidity), testkit.WithoutEKU())
	if !expired.DSC.Cert.NotAfter.Before(testkit.Now) {
		t.Error("WithValidity: DSC not expired at Now")
	}
	if e := expired.Trust.Lookup(expired.DSC.KID()); len(e) != 1 || e[0].Usage != keys.UsageAll || len(e[0].Cert.UnknownExtKeyUsage) != 0 {
		t.Error("WithoutEKU: DSC has an EKU or is not in Trust")
	}
	icao := testkit.NewPKI(t, testkit.WithEKUs(asn1.ObjectIdentifier{2, 23, 136, 1, 1, 14, 2}))
	if e := icao.Trust.Lookup(icao.DSC.KID())[0]; e.Permits(schemas.TypeVaccination) {
		t.Error("WithEKUs(ICAO): permits vaccination")
	}
	if k, ok := testkit.NewPKI(t).DSC.Cert.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Error("default DSC key is not P-256")
	}
	if testkit.Clock() != testkit.Now {
		t.Error("Clock() != Now")
	}
}

func TestNewPKIDefaults(t *testing.T) {
	p := testkit.NewPKI(t)
	c := p.DSC.Cert
	if c.NotBefore.After(testkit.Now) || c.NotAfter.Before(testkit.Now) {
		t.Errorf("DSC not valid at Now: %v..%v", c.NotBefore, c.NotAfter)
	}
	if c.NotBefore.Before(p.CSCA.Cert.NotBefore) || c.NotAfter.After(p.CSCA.Cert.NotAfter) {
		t.Error("DSC validity outside the CSCA's")
	}
	if got := c.Subject.Country; len(got) != 1 || got[0] != "VN" {
		t.Errorf("country = %v, want VN", got)
	}
	if p.Trust.Len() != 1 {
		t.Errorf("Trust.Len = %d, want 1", p.Trust.Len())
	}
	if keys.AlgorithmFor(testkit.NewPKI(t, testkit.WithPS256()).DSC.Cert.PublicKey) != keys.AlgPS256 {
		t.Error("WithPS256: DSC is not PS256")
	}
	if e := testkit.NewPKI(t, testkit.WithUsage(keys.UsageTest)).Trust.Entries()[0]; e.Usage != keys.UsageTest {
		t.Errorf("WithUsage: usage %v", e.Usage)
	}
}
