package keys_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/keys"
)

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestParseCertificates(t *testing.T) {
	a := testkit.NewPKI(t).DSC.Cert.Raw
	b := testkit.NewPKI(t).CSCA.Cert.Raw
	b64 := base64.StdEncoding.EncodeToString(a)
	wrapped := func(s string, n int) string {
		var out strings.Builder
		for len(s) > n {
			out.WriteString(s[:n] + "\r\n")
			s = s[n:]
		}
		return out.String() + s
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	keyBlock := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})
	withHeaders := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: a})

	tests := []struct {
		name    string
		in      []byte
		want    [][]byte // DER of the certificates returned
		wantErr error
	}{
		{name: "pem", in: pemCert(a), want: [][]byte{a}},
		{name: "pem two", in: cat(pemCert(a), pemCert(b)), want: [][]byte{a, b}},
		{name: "pem surrounded by whitespace", in: cat([]byte("\n \t"), pemCert(a), []byte("\r\n\n"), pemCert(b), []byte("  \n")), want: [][]byte{a, b}},
		{name: "der", in: a, want: [][]byte{a}},
		{name: "base64 padded", in: []byte(b64), want: [][]byte{a}},
		{name: "base64 unpadded", in: []byte(strings.TrimRight(b64, "=")), want: [][]byte{a}},
		{name: "base64 wrapped", in: []byte(" " + wrapped(b64, 64) + "\n"), want: [][]byte{a}},
		{name: "base64 with inner spaces", in: []byte(wrapped(b64, 10)), want: [][]byte{a}},

		{name: "empty", in: nil, wantErr: keys.ErrNoCertificate},
		{name: "whitespace only", in: []byte(" \r\n\t"), wantErr: keys.ErrNoCertificate},
		{name: "garbage", in: []byte("hello, world"), wantErr: keys.ErrMalformed},
		{name: "text before pem", in: cat([]byte("subject=CN foo\n"), pemCert(a)), wantErr: keys.ErrMalformed},
		{name: "text after pem", in: cat(pemCert(a), []byte("trailer\n")), wantErr: keys.ErrTrailingData},
		{name: "text between pem blocks", in: cat(pemCert(a), []byte("x\n"), pemCert(b)), wantErr: keys.ErrTrailingData},
		{name: "private key block", in: keyBlock, wantErr: keys.ErrPEMBlockType},
		{name: "certificate then private key", in: cat(pemCert(a), keyBlock), wantErr: keys.ErrPEMBlockType},
		{name: "pem headers", in: withHeaders, wantErr: keys.ErrMalformed},
		{name: "pem without end", in: bytes.TrimSuffix(pemCert(a), []byte("-----END CERTIFICATE-----\n")), wantErr: keys.ErrMalformed},
		{name: "pem body not a certificate", in: pemCert([]byte{0x30, 0x03, 0x02, 0x01, 0x01}), wantErr: keys.ErrMalformed},
		{name: "der with trailing byte", in: cat(a, []byte{0}), wantErr: keys.ErrMalformed},
		{name: "two der certificates", in: cat(a, b), wantErr: keys.ErrMalformed},
		{name: "der truncated", in: a[:len(a)-1], wantErr: keys.ErrMalformed},
		{name: "base64 url alphabet", in: []byte(strings.NewReplacer("+", "-", "/", "_").Replace(b64) + "-_"), wantErr: keys.ErrMalformed},
		{name: "base64 excess padding", in: []byte(b64 + "==="), wantErr: keys.ErrMalformed},
		{name: "base64 of two certificates", in: []byte(base64.StdEncoding.EncodeToString(cat(a, b))), wantErr: keys.ErrMalformed},
		{name: "input too large", in: bytes.Repeat([]byte(" "), limits.MaxTrustList+1), wantErr: keys.ErrTooLarge},
		{name: "der too large", in: cat([]byte{0x30, 0x83, 0x01, 0x00, 0x00}, make([]byte, limits.MaxCertificate)), wantErr: keys.ErrTooLarge},
		{name: "pem block too large", in: pemCert(make([]byte, limits.MaxCertificate+1)), wantErr: keys.ErrTooLarge},
		{name: "base64 too large", in: bytes.Repeat([]byte("A"), 4*limits.MaxCertificate), wantErr: keys.ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			certs, err := keys.ParseCertificates(tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !errors.Is(err, keys.ErrCertificate) || certs != nil {
					t.Fatalf("got %d certs, err %v; want %v", len(certs), err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != len(tc.want) {
				t.Fatalf("got %d certificates, want %d", len(certs), len(tc.want))
			}
			for i := range certs {
				if !bytes.Equal(certs[i].Raw, tc.want[i]) {
					t.Errorf("certificate %d differs", i)
				}
			}
		})
	}
}

func TestParseCertificatesCount(t *testing.T) {
	// A small Ed25519 certificate, so that MaxTrustEntries+1 of them fit in
	// MaxTrustList.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: testkit.Now, NotAfter: testkit.Now.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	one := pemCert(der)
	n := limits.MaxTrustEntries + 1
	if len(one)*n > limits.MaxTrustList {
		t.Fatalf("%d PEM certificates of %d bytes exceed MaxTrustList", n, len(one))
	}
	if certs, err := keys.ParseCertificates(bytes.Repeat(one, n-1)); err != nil || len(certs) != n-1 {
		t.Fatalf("MaxTrustEntries certificates: got %d, err %v", len(certs), err)
	}
	certs, err := keys.ParseCertificates(bytes.Repeat(one, n))
	if !errors.Is(err, keys.ErrTooLarge) || certs != nil {
		t.Fatalf("got %d certs, err %v; want ErrTooLarge", len(certs), err)
	}
}

// TestParseCertificatesVectors parses the certificate of every EU vector in
// its base64 text form, as PEM and as DER.
func TestParseCertificatesVectors(t *testing.T) {
	n := 0
	for _, v := range loadVectors(t) {
		der := vectorCertDER(t, v)
		for form, in := range map[string][]byte{"base64": []byte(v.CertText), "pem": pemCert(der), "der": der} {
			certs, err := keys.ParseCertificates(in)
			if err != nil {
				t.Fatalf("%s (%s): %v", v.Name, form, err)
			}
			if len(certs) != 1 || !bytes.Equal(certs[0].Raw, der) {
				t.Fatalf("%s (%s): wrong result", v.Name, form)
			}
		}
		n++
	}
	if n != 103 {
		t.Fatalf("parsed %d vectors, want 103", n)
	}
}
