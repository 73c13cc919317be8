package keys_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/keys"
)

// FuzzParseCertificates checks that ParseCertificates never panics, that
// every error wraps ErrCertificate, and that what it accepts respects the
// limits and round-trips through PEM.
func FuzzParseCertificates(f *testing.F) {
	pki := testkit.NewPKI(f)
	f.Add(pemCert(pki.DSC.Cert.Raw))
	f.Add(append(pemCert(pki.DSC.Cert.Raw), pemCert(pki.CSCA.Cert.Raw)...))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{0x30, 0x80})
	f.Add([]byte("===="))
	vs, err := readVectors()
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range vs { // none when the vectors are absent
		f.Add([]byte(v.CertText))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := keys.ParseCertificates(data)
		if err != nil {
			if !errors.Is(err, keys.ErrCertificate) || certs != nil {
				t.Fatalf("error %v does not wrap ErrCertificate, or certs returned", err)
			}
			return
		}
		if len(certs) == 0 || len(certs) > limits.MaxTrustEntries {
			t.Fatalf("%d certificates", len(certs))
		}
		var again []byte
		for _, c := range certs {
			if len(c.Raw) > limits.MaxCertificate {
				t.Fatalf("certificate of %d bytes", len(c.Raw))
			}
			again = append(again, pemCert(c.Raw)...)
		}
		certs2, err := keys.ParseCertificates(again)
		if err != nil || len(certs2) != len(certs) {
			t.Fatalf("PEM round trip: %d certs, %v", len(certs2), err)
		}
		for i := range certs {
			if !bytes.Equal(certs[i].Raw, certs2[i].Raw) {
				t.Fatalf("PEM round trip changed certificate %d", i)
			}
		}
	})
}
