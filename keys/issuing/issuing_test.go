package issuing_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"slices"
	"testing"
	"testing/iotest"
	"time"

	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/issuing"
)

func newCSCA(t *testing.T) *issuing.CA {
	t.Helper()
	ca, err := issuing.NewCSCA(issuing.CSCAOptions{Country: "VN", NotBefore: testkit.Now})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestNewCSCA(t *testing.T) {
	ca := newCSCA(t)
	c := ca.Cert
	if !slices.Equal(c.Subject.Country, []string{"VN"}) || c.Subject.CommonName != "VN CSCA" {
		t.Errorf("subject = %v", c.Subject)
	}
	if !c.BasicConstraintsValid || !c.IsCA || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("basic constraints: valid %v ca %v pathlen %d zero %v", c.BasicConstraintsValid, c.IsCA, c.MaxPathLen, c.MaxPathLenZero)
	}
	if c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("KeyUsage = %v", c.KeyUsage)
	}
	if !c.NotBefore.Equal(testkit.Now) || !c.NotAfter.Equal(testkit.Now.Add(issuing.DefaultCSCAValidity)) {
		t.Errorf("validity %v..%v", c.NotBefore, c.NotAfter)
	}
	if c.SerialNumber.BitLen() != 127 {
		t.Errorf("serial has %d bits, want 127", c.SerialNumber.BitLen())
	}
	if len(c.SubjectKeyId) != 20 {
		t.Errorf("SKI has %d bytes, want 20", len(c.SubjectKeyId))
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("self-signature: %v", err)
	}
	if keys.AlgorithmFor(c.PublicKey) != keys.AlgES256 {
		t.Errorf("CSCA key is not P-256")
	}
	if !bytes.Equal(ca.KID(), keys.KID(c.Raw)) {
		t.Error("KID differs from KID(Raw)")
	}
	if pub, ok := ca.Signer().Public().(*ecdsa.PublicKey); !ok || !pub.Equal(c.PublicKey) {
		t.Error("Signer does not hold the certificate key")
	}
}

func TestIssueDSC(t *testing.T) {
	ca := newCSCA(t)
	nb := testkit.Now.Add(time.Hour)
	tests := []struct {
		name     string
		opts     issuing.DSCOptions
		alg      keys.Algorithm
		oids     []asn1.ObjectIdentifier // UnknownExtKeyUsage expected
		usage    keys.Usage
		validity time.Duration
	}{
		{name: "defaults", opts: issuing.DSCOptions{NotBefore: nb}, alg: keys.AlgES256, oids: keys.UsageAll.OIDs(), usage: keys.UsageAll, validity: issuing.DefaultDSCValidity},
		{name: "PS256", opts: issuing.DSCOptions{NotBefore: nb, Algorithm: keys.AlgPS256}, alg: keys.AlgPS256, oids: keys.UsageAll.OIDs(), usage: keys.UsageAll, validity: issuing.DefaultDSCValidity},
		{name: "vaccination only", opts: issuing.DSCOptions{NotBefore: nb, Usage: keys.UsageVaccination, Validity: 180 * 24 * time.Hour}, alg: keys.AlgES256, oids: keys.UsageVaccination.OIDs(), usage: keys.UsageVaccination, validity: 180 * 24 * time.Hour},
		{name: "legacy EKUs", opts: issuing.DSCOptions{NotBefore: nb, EKUs: keys.UsageTest.LegacyOIDs()}, alg: keys.AlgES256, oids: keys.UsageTest.LegacyOIDs(), usage: keys.UsageTest, validity: issuing.DefaultDSCValidity},
		{name: "no EKU", opts: issuing.DSCOptions{NotBefore: nb, OmitEKU: true}, alg: keys.AlgES256, usage: keys.UsageAll, validity: issuing.DefaultDSCValidity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dsc, err := ca.IssueDSC(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			c := dsc.Cert
			if err := c.CheckSignatureFrom(ca.Cert); err != nil {
				t.Errorf("not signed by the CSCA: %v", err)
			}
			if !bytes.Equal(c.AuthorityKeyId, ca.Cert.SubjectKeyId) {
				t.Errorf("AKI %x, CSCA SKI %x", c.AuthorityKeyId, ca.Cert.SubjectKeyId)
			}
			if len(c.SubjectKeyId) != 20 || bytes.Equal(c.SubjectKeyId, ca.Cert.SubjectKeyId) {
				t.Errorf("SKI %x", c.SubjectKeyId)
			}
			if !slices.Equal(c.Subject.Country, []string{"VN"}) || c.Subject.CommonName != "VN DSC" {
				t.Errorf("subject = %v", c.Subject)
			}
			if c.IsCA || c.KeyUsage != x509.KeyUsageDigitalSignature {
				t.Errorf("IsCA %v KeyUsage %v", c.IsCA, c.KeyUsage)
			}
			if c.SerialNumber.BitLen() != 127 {
				t.Errorf("serial has %d bits", c.SerialNumber.BitLen())
			}
			if !c.NotBefore.Equal(nb) || !c.NotAfter.Equal(nb.Add(tc.validity)) {
				t.Errorf("validity %v..%v", c.NotBefore, c.NotAfter)
			}
			if len(c.ExtKeyUsage) != 0 || !slices.EqualFunc(c.UnknownExtKeyUsage, tc.oids, asn1.ObjectIdentifier.Equal) {
				t.Errorf("EKU %v %v, want %v", c.ExtKeyUsage, c.UnknownExtKeyUsage, tc.oids)
			}
			e, err := keys.NewTrustEntry(c)
			if err != nil {
				t.Fatal(err)
			}
			if e.Alg != tc.alg || e.Usage != tc.usage {
				t.Errorf("entry alg %v usage %v, want %v %v", e.Alg, e.Usage, tc.alg, tc.usage)
			}
			if !bytes.Equal(dsc.KID(), e.KID) {
				t.Error("DSC.KID differs from the entry's")
			}
			// The signer signs for the certificate's key.
			digest := sha256.Sum256([]byte("payload"))
			var opts crypto.SignerOpts = crypto.SHA256
			if tc.alg == keys.AlgPS256 {
				opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
			}
			sig, err := dsc.Signer().Sign(rand.Reader, digest[:], opts)
			if err != nil {
				t.Fatal(err)
			}
			switch k := e.Key.(type) {
			case *ecdsa.PublicKey:
				if !ecdsa.VerifyASN1(k, digest[:], sig) {
					t.Error("ECDSA signature does not verify")
				}
			case *rsa.PublicKey:
				if k.N.BitLen() != 2048 || rsa.VerifyPSS(k, crypto.SHA256, digest[:], sig, opts.(*rsa.PSSOptions)) != nil {
					t.Error("PSS signature does not verify, or key is not RSA-2048")
				}
			}
		})
	}
}

func TestIssueDSCUnique(t *testing.T) {
	ca := newCSCA(t)
	a, err := ca.IssueDSC(issuing.DSCOptions{NotBefore: testkit.Now})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ca.IssueDSC(issuing.DSCOptions{NotBefore: testkit.Now})
	if err != nil {
		t.Fatal(err)
	}
	if a.Cert.SerialNumber.Cmp(b.Cert.SerialNumber) == 0 || bytes.Equal(a.Cert.SubjectKeyId, b.Cert.SubjectKeyId) || bytes.Equal(a.KID(), b.KID()) {
		t.Error("two DSCs share a serial, SKI or kid")
	}
}

func TestCAOptionErrors(t *testing.T) {
	ca := newCSCA(t)
	tests := []struct {
		name string
		csca *issuing.CSCAOptions
		dsc  *issuing.DSCOptions
	}{
		{name: "csca no country", csca: &issuing.CSCAOptions{}},
		{name: "csca lowercase country", csca: &issuing.CSCAOptions{Country: "vn"}},
		{name: "csca three letters", csca: &issuing.CSCAOptions{Country: "VNM"}},
		{name: "csca long CN", csca: &issuing.CSCAOptions{Country: "VN", CommonName: string(bytes.Repeat([]byte("x"), 65))}},
		{name: "csca negative validity", csca: &issuing.CSCAOptions{Country: "VN", Validity: -time.Hour}},
		{name: "csca RSA-1024", csca: &issuing.CSCAOptions{Country: "VN", Algorithm: keys.AlgPS256, RSABits: 1024}},
		{name: "csca RSABits with ES256", csca: &issuing.CSCAOptions{Country: "VN", RSABits: 2048}},
		{name: "csca unknown algorithm", csca: &issuing.CSCAOptions{Country: "VN", Algorithm: -35}},
		{name: "dsc other country", dsc: &issuing.DSCOptions{Country: "DE", NotBefore: testkit.Now}},
		{name: "dsc bad country", dsc: &issuing.DSCOptions{Country: "V1", NotBefore: testkit.Now}},
		{name: "dsc before csca", dsc: &issuing.DSCOptions{NotBefore: testkit.Now.Add(-time.Second)}},
		{name: "dsc after csca", dsc: &issuing.DSCOptions{NotBefore: testkit.Now, Validity: issuing.DefaultCSCAValidity + time.Second}},
		{name: "dsc OmitEKU and Usage", dsc: &issuing.DSCOptions{NotBefore: testkit.Now, OmitEKU: true, Usage: keys.UsageTest}},
		{name: "dsc OmitEKU and EKUs", dsc: &issuing.DSCOptions{NotBefore: testkit.Now, OmitEKU: true, EKUs: keys.UsageTest.OIDs()}},
		{name: "dsc Usage and EKUs", dsc: &issuing.DSCOptions{NotBefore: testkit.Now, Usage: keys.UsageTest, EKUs: keys.UsageTest.OIDs()}},
		{name: "dsc unknown usage bit", dsc: &issuing.DSCOptions{NotBefore: testkit.Now, Usage: 8}},
		{name: "dsc RSA-1024", dsc: &issuing.DSCOptions{NotBefore: testkit.Now, Algorithm: keys.AlgPS256, RSABits: 1024}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.csca != nil {
				_, err = issuing.NewCSCA(*tc.csca)
			} else {
				_, err = ca.IssueDSC(*tc.dsc)
			}
			if !errors.Is(err, issuing.ErrOptions) {
				t.Fatalf("err = %v, want ErrOptions", err)
			}
		})
	}
}

func TestRandFailure(t *testing.T) {
	boom := errors.New("no entropy")
	_, err := issuing.NewCSCA(issuing.CSCAOptions{Country: "VN", Rand: iotest.ErrReader(boom)})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the reader's error", err)
	}
}

func TestNewCAAndNewDSC(t *testing.T) {
	pki := testkit.NewPKI(t)
	other := testkit.NewPKI(t)
	tests := []struct {
		name    string
		newFunc func(*x509.Certificate, crypto.Signer) error
		cert    *x509.Certificate
		signer  crypto.Signer
		want    error
	}{
		{"CA ok", newCA, pki.CSCA.Cert, pki.CSCA.Signer(), nil},
		{"CA wrong key", newCA, pki.CSCA.Cert, other.CSCA.Signer(), issuing.ErrKeyMismatch},
		{"CA nil signer", newCA, pki.CSCA.Cert, nil, issuing.ErrKeyMismatch},
		{"CA from DSC", newCA, pki.DSC.Cert, pki.DSC.Signer(), issuing.ErrNotCA},
		{"CA nil cert", newCA, nil, pki.CSCA.Signer(), issuing.ErrNotCA},
		{"DSC ok", newDSC, pki.DSC.Cert, pki.DSC.Signer(), nil},
		{"DSC wrong key", newDSC, pki.DSC.Cert, other.DSC.Signer(), issuing.ErrKeyMismatch},
		{"DSC from CSCA", newDSC, pki.CSCA.Cert, pki.CSCA.Signer(), issuing.ErrNotSigner},
		{"DSC nil cert", newDSC, nil, pki.DSC.Signer(), issuing.ErrNotSigner},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.newFunc(tc.cert, tc.signer); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// A rebuilt CA issues DSCs.
	ca, err := issuing.NewCA(pki.CSCA.Cert, pki.CSCA.Signer())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.IssueDSC(issuing.DSCOptions{NotBefore: testkit.Now}); err != nil {
		t.Fatal(err)
	}
}

func newCA(c *x509.Certificate, s crypto.Signer) error  { _, err := issuing.NewCA(c, s); return err }
func newDSC(c *x509.Certificate, s crypto.Signer) error { _, err := issuing.NewDSC(c, s); return err }
