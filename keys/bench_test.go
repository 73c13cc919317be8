package keys_test

import (
	"encoding/base64"
	"testing"

	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/keys"
)

func BenchmarkLookup(b *testing.B) {
	pki := testkit.NewPKI(b)
	kid := pki.DSC.KID()
	for b.Loop() {
		if len(pki.Trust.Lookup(kid)) != 1 {
			b.Fatal("not found")
		}
	}
}

func BenchmarkParseCertificates(b *testing.B) {
	raw := testkit.NewPKI(b).DSC.Cert.Raw
	for name, in := range map[string][]byte{
		"pem":    pemCert(raw),
		"base64": []byte(base64.StdEncoding.EncodeToString(raw)),
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := keys.ParseCertificates(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
