package testkit

import (
	"encoding/asn1"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/issuing"
)

// Now is the fixed instant of every test: 2026-06-01 12:00:00 UTC. Do not
// modify it.
var Now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// Clock returns [Now]. Pass it where a func() time.Time clock is expected.
func Clock() time.Time { return Now }

// PKI is a test CSCA, one DSC it issued, and a trust list holding that DSC.
type PKI struct {
	CSCA  *issuing.CA
	DSC   *issuing.DSC
	Trust *keys.TrustList
}

// Option changes what [NewPKI] builds.
type Option func(*config)

type config struct {
	csca issuing.CSCAOptions
	dsc  issuing.DSCOptions
}

// WithPS256 gives the DSC an RSA-2048 key, so it signs with PS256. RSA key
// generation takes tens of milliseconds.
func WithPS256() Option {
	return func(c *config) { c.dsc.Algorithm = keys.AlgPS256 }
}

// WithValidity sets the DSC's validity: from notBefore for d. The default
// (and the value of a zero argument) is from 30 days before [Now] for two
// years. The CSCA's validity is widened to cover it.
func WithValidity(notBefore time.Time, d time.Duration) Option {
	return func(c *config) { c.dsc.NotBefore, c.dsc.Validity = notBefore, d }
}

// WithUsage writes the current EKU OIDs of u into the DSC (default: all
// three types).
func WithUsage(u keys.Usage) Option {
	return func(c *config) { c.dsc.Usage = u }
}

// WithEKUs writes oids verbatim as the DSC's EKU extension: legacy OIDs
// ([keys.Usage.LegacyOIDs]) or unrelated ones.
func WithEKUs(oids ...asn1.ObjectIdentifier) Option {
	return func(c *config) { c.dsc.EKUs = oids }
}

// WithoutEKU leaves the EKU extension out of the DSC: it may sign any type.
func WithoutEKU() Option {
	return func(c *config) { c.dsc.OmitEKU = true }
}

// WithCountry sets the country of the CSCA and the DSC (default "VN").
func WithCountry(country string) Option {
	return func(c *config) { c.csca.Country = country }
}

// NewPKI builds a CSCA (ECDSA P-256) and a DSC (ES256 unless [WithPS256])
// for the fixed clock, and a trust list holding the DSC. It fails the test
// on any error.
func NewPKI(tb testing.TB, opts ...Option) *PKI {
	tb.Helper()
	cfg := config{csca: issuing.CSCAOptions{Country: "VN"}}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.dsc.NotBefore.IsZero() {
		cfg.dsc.NotBefore = Now.AddDate(0, 0, -30)
	}
	if cfg.dsc.Validity == 0 {
		cfg.dsc.Validity = issuing.DefaultDSCValidity
	}
	// The CSCA starts a year before the DSC and ends a year after it.
	cfg.csca.NotBefore = cfg.dsc.NotBefore.AddDate(-1, 0, 0)
	cfg.csca.Validity = cfg.dsc.NotBefore.Add(cfg.dsc.Validity).AddDate(1, 0, 0).Sub(cfg.csca.NotBefore)
	csca, err := issuing.NewCSCA(cfg.csca)
	if err != nil {
		tb.Fatalf("testkit: NewCSCA: %v", err)
	}
	dsc, err := csca.IssueDSC(cfg.dsc)
	if err != nil {
		tb.Fatalf("testkit: IssueDSC: %v", err)
	}
	trust, err := keys.NewTrustList(dsc.Cert)
	if err != nil {
		tb.Fatalf("testkit: NewTrustList: %v", err)
	}
	return &PKI{CSCA: csca, DSC: dsc, Trust: trust}
}

// IssuerName is the certificate issuer (`is`) of test certificates.
const IssuerName = "Ministry of Health of Viet Nam"

// UVCISecret is a fixed UVCI secret for tests.
var UVCISecret = []byte("vaxcert test UVCI secret, 32 by!")

// Record returns a fresh dose record for tests: Nguyễn Văn Đức, two
// finalised Comirnaty doses at site HN-001.
func Record() issuer.Record {
	return issuer.Record{
		Person: issuer.Person{ID: "001090012345", FamilyName: "Nguyễn", GivenName: "Văn Đức", BirthDate: "1990-04-12"},
		Doses: []issuer.Dose{
			{RecordID: "r1", Site: "HN-001", Product: "EU/1/20/1528", Manufacturer: "ORG-100030215", Lot: "FF1234",
				DoseNumber: 1, SeriesDoses: 2, Date: "2021-08-01", Country: "VN", Status: issuer.StatusFinalised},
			{RecordID: "r2", Site: "HN-001", Product: "EU/1/20/1528", Manufacturer: "ORG-100030215", Lot: "FF5678",
				DoseNumber: 2, SeriesDoses: 2, Date: "2021-09-01", Country: "VN", Status: issuer.StatusFinalised},
		},
	}
}

// Issuer returns an issuer signing with the PKI's DSC on the fixed clock.
func (p *PKI) Issuer(tb testing.TB) *issuer.Issuer {
	tb.Helper()
	iss, err := issuer.New(p.DSC.Signer(), p.DSC.Cert, issuer.WithClock(Clock), issuer.WithIssuerName(IssuerName),
		issuer.WithUVCISecret(UVCISecret))
	if err != nil {
		tb.Fatalf("testkit: issuer.New: %v", err)
	}
	return iss
}
