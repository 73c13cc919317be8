package verifier_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/dgcvectors"
	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/schemas/jsonschema"
	"github.com/vaxcert/vaxcert/verifier"
)

// FuzzVerify runs the whole verify path on arbitrary QR text, against a
// trust store holding a test DSC and every vector's DSC. Properties: no
// panic; exactly one typed error when invalid; a check is skipped only
// after a failure; valid results carry a decoded, typed payload.
func FuzzVerify(f *testing.F) {
	pki := testkit.NewPKI(f)
	trust, err := keys.NewTrustList(pki.DSC.Cert)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(issue(f, pki).HC1), int64(0))
	for _, v := range dgcvectors.LoadIfPresent() {
		if certs, err := keys.ParseCertificates(v.Certificate); err == nil {
			for _, c := range certs {
				_ = trust.Add(c) // unsupported or duplicate certificates are fine to skip
			}
		}
		f.Add([]byte(v.Prefix), int64(0))
		if v.COSE != nil {
			f.Add(hcert.AppendBase45([]byte(hcert.Prefix), hcert.AppendDeflate(nil, v.COSE)), int64(0))
		}
	}
	v, err := verifier.New(trust, verifier.WithGenericValidator(jsonschema.Generic{}))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, qr []byte, offset int64) {
		at := testkit.Now.Add(time_(offset))
		res, err := v.Verify(qr, at)
		if res == nil {
			t.Fatal("nil result")
		}
		if res.Valid() != (err == nil) {
			t.Fatalf("Valid() = %v but err = %v", res.Valid(), err)
		}
		if err != nil {
			var verr *verifier.Error
			if !errors.As(err, &verr) || verr.Reason == "" || verr.Reason != res.Reason() {
				t.Fatalf("untyped or inconsistent error %v (reason %q)", err, res.Reason())
			}
		} else if res.DCC() == nil || res.Signer() == nil || res.Certificate() == nil {
			t.Fatal("valid result without a payload or signer")
		}
		if !res.Valid() && (res.DCC() != nil || res.Certificate() != nil || res.Report().Certificate != nil) {
			t.Fatal("invalid result exposes the payload")
		}
		if !res.Authentic() && (res.Issuer() != "" || !res.IssuedAt().IsZero() || res.Type() != "" || res.Signer() != nil) {
			t.Fatal("unauthenticated result exposes claims")
		}
		failed := false
		for _, c := range res.Checks() {
			switch c.Status {
			case verifier.StatusFail:
				failed = true
			case verifier.StatusSkip:
				if !failed {
					t.Fatalf("check %s skipped with no earlier failure", c.Check)
				}
			}
		}
		if err != nil && strings.Contains(err.Error(), "\x00") {
			t.Fatal("error message carries raw bytes")
		}
	})
}

// time_ maps a fuzzed integer to a time offset of at most ±10 years.
func time_(n int64) time.Duration {
	const tenYears = int64(10 * 365 * 24 * 3600)
	return time.Duration(n%tenYears) * time.Second
}
