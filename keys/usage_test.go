package keys_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"slices"
	"testing"

	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/schemas"
)

func oid(s ...int) asn1.ObjectIdentifier { return asn1.ObjectIdentifier(s) }

var (
	oidTest        = oid(1, 3, 6, 1, 4, 1, 1847, 2021, 1, 1)
	oidVacc        = oid(1, 3, 6, 1, 4, 1, 1847, 2021, 1, 2)
	oidRec         = oid(1, 3, 6, 1, 4, 1, 1847, 2021, 1, 3)
	oidLegacyTest  = oid(1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 1)
	oidLegacyVacc  = oid(1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 2)
	oidLegacyRec   = oid(1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 3)
	oidICAO        = oid(2, 23, 136, 1, 1, 14, 2)
	oidEKU         = oid(2, 5, 29, 37)
	oidClientAuth  = oid(1, 3, 6, 1, 5, 5, 7, 3, 2)
	oidEmailProtec = oid(1, 3, 6, 1, 5, 5, 7, 3, 4)
)

// ekuExtension encodes an EKU extension holding oids verbatim.
func ekuExtension(t *testing.T, oids ...asn1.ObjectIdentifier) pkix.Extension {
	t.Helper()
	if oids == nil {
		oids = []asn1.ObjectIdentifier{}
	}
	val, err := asn1.Marshal(oids)
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: oidEKU, Value: val}
}

func TestPermits(t *testing.T) {
	tests := []struct {
		name    string
		noExt   bool // no EKU extension at all
		oids    []asn1.ObjectIdentifier
		t, v, r bool
	}{
		{name: "no extension", noExt: true, t: true, v: true, r: true},
		{name: "empty extension", oids: nil, t: true, v: true, r: true},
		{name: "current test", oids: []asn1.ObjectIdentifier{oidTest}, t: true},
		{name: "current vaccination", oids: []asn1.ObjectIdentifier{oidVacc}, v: true},
		{name: "current recovery", oids: []asn1.ObjectIdentifier{oidRec}, r: true},
		{name: "current all", oids: []asn1.ObjectIdentifier{oidTest, oidVacc, oidRec}, t: true, v: true, r: true},
		{name: "legacy test", oids: []asn1.ObjectIdentifier{oidLegacyTest}, t: true},
		{name: "legacy vaccination", oids: []asn1.ObjectIdentifier{oidLegacyVacc}, v: true},
		{name: "legacy recovery", oids: []asn1.ObjectIdentifier{oidLegacyRec}, r: true},
		{name: "legacy all", oids: []asn1.ObjectIdentifier{oidLegacyTest, oidLegacyVacc, oidLegacyRec}, t: true, v: true, r: true},
		{name: "legacy test and current recovery", oids: []asn1.ObjectIdentifier{oidLegacyTest, oidRec}, t: true, r: true},
		{name: "clientAuth only", oids: []asn1.ObjectIdentifier{oidClientAuth}},
		{name: "clientAuth and emailProtection", oids: []asn1.ObjectIdentifier{oidClientAuth, oidEmailProtec}},
		{name: "ICAO only", oids: []asn1.ObjectIdentifier{oidICAO}},
		{name: "clientAuth and vaccination", oids: []asn1.ObjectIdentifier{oidClientAuth, oidVacc}, v: true},
		{name: "arc 4 is no type", oids: []asn1.ObjectIdentifier{oid(1, 3, 6, 1, 4, 1, 1847, 2021, 1, 4)}},
		{name: "arc 0 is no type", oids: []asn1.ObjectIdentifier{oid(1, 3, 6, 1, 4, 1, 1847, 2021, 1, 0)}},
		{name: "longer OID", oids: []asn1.ObjectIdentifier{oid(1, 3, 6, 1, 4, 1, 1847, 2021, 1, 2, 1)}},
		{name: "shorter OID", oids: []asn1.ObjectIdentifier{oid(1, 3, 6, 1, 4, 1, 1847, 2021, 1)}},
		{name: "other branch", oids: []asn1.ObjectIdentifier{oid(1, 3, 6, 1, 4, 1, 1847, 2021, 2, 2)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cert := makeCert(t, p256Key(t), func(c *x509.Certificate) {
				if !tc.noExt {
					c.ExtraExtensions = []pkix.Extension{ekuExtension(t, tc.oids...)}
				}
			})
			e, err := keys.NewTrustEntry(cert)
			if err != nil {
				t.Fatal(err)
			}
			for typ, want := range map[schemas.CertType]bool{
				schemas.TypeTest:        tc.t,
				schemas.TypeVaccination: tc.v,
				schemas.TypeRecovery:    tc.r,
				schemas.TypeUnknown:     false,
			} {
				if got := e.Permits(typ); got != want {
					t.Errorf("Permits(%q) = %v, want %v (usage %v)", typ, got, want, e.Usage)
				}
			}
		})
	}
}

// TestPermitsVectors checks every EXPECTEDKEYUSAGE flag of the EU vectors.
func TestPermitsVectors(t *testing.T) {
	checked := 0
	for _, v := range loadVectors(t) {
		want, ok := v.expect("EXPECTEDKEYUSAGE")
		if !ok {
			continue
		}
		if v.Type == schemas.TypeUnknown {
			t.Fatalf("%s: cannot tell the certificate type", v.Name)
		}
		certs, err := keys.ParseCertificates([]byte(v.CertText))
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		e, err := keys.NewTrustEntry(certs[0])
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		checked++
		if got := e.Permits(v.Type); got != want {
			t.Errorf("%s: Permits(%q) = %v, want %v (usage %v)", v.Name, v.Type, got, want, e.Usage)
		}
	}
	if checked != 23 {
		t.Fatalf("checked %d vectors, want 23", checked)
	}
}

func TestUsageOIDs(t *testing.T) {
	if got, want := keys.UsageAll.OIDs(), []asn1.ObjectIdentifier{oidTest, oidVacc, oidRec}; !slices.EqualFunc(got, want, asn1.ObjectIdentifier.Equal) {
		t.Errorf("UsageAll.OIDs() = %v, want %v", got, want)
	}
	if got, want := keys.UsageRecovery.LegacyOIDs(), []asn1.ObjectIdentifier{oidLegacyRec}; !slices.EqualFunc(got, want, asn1.ObjectIdentifier.Equal) {
		t.Errorf("UsageRecovery.LegacyOIDs() = %v, want %v", got, want)
	}
	if got := keys.Usage(0).OIDs(); len(got) != 0 {
		t.Errorf("Usage(0).OIDs() = %v, want none", got)
	}
	// The result is a fresh copy: changing it must not change later results.
	keys.UsageTest.OIDs()[0][6] = 9999
	if got := keys.UsageTest.OIDs()[0]; !got.Equal(oidTest) {
		t.Errorf("OIDs() shares memory: got %v", got)
	}
}

func TestUsageString(t *testing.T) {
	for u, want := range map[keys.Usage]string{
		0:                                   "none",
		keys.UsageAll:                       "test|vaccination|recovery",
		keys.UsageVaccination:               "vaccination",
		keys.UsageTest | keys.UsageRecovery: "test|recovery",
	} {
		if got := u.String(); got != want {
			t.Errorf("Usage(%d).String() = %q, want %q", u, got, want)
		}
	}
}
