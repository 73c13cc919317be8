package verifier_test

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/veraison/go-cose"

	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/schemas/jsonschema"
	"github.com/vaxcert/vaxcert/verifier"
)

func issue(t testing.TB, pki *testkit.PKI) *issuer.Certificate {
	t.Helper()
	c, err := pki.Issuer(t).Issue(testkit.Record())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrap turns COSE bytes into an HC1 text.
func wrap(coseBytes []byte) []byte {
	z := hcert.AppendDeflate(nil, coseBytes)
	return hcert.AppendBase45([]byte(hcert.Prefix), z)
}

// craft signs claims with signer under the given headers and returns the
// HC1 text; it lets tests build messages the issuer would never write.
func craft(t testing.TB, signer crypto.Signer, alg cose.Algorithm, prot cose.ProtectedHeader, unprot cose.UnprotectedHeader, claims []byte) []byte {
	t.Helper()
	s, err := cose.NewSigner(alg, signer)
	if err != nil {
		t.Fatal(err)
	}
	if unprot == nil {
		unprot = cose.UnprotectedHeader{}
	}
	msg := &cose.Sign1Message{Headers: cose.Headers{Protected: prot, Unprotected: unprot}, Payload: claims}
	if err := msg.Sign(rand.Reader, nil, s); err != nil {
		t.Fatal(err)
	}
	b, err := msg.MarshalCBOR()
	if err != nil {
		t.Fatal(err)
	}
	return wrap(b)
}

func claimsFor(t testing.TB, iat, exp time.Time, dcc *schemas.DCC) []byte {
	t.Helper()
	b, err := hcert.EncodeClaims("VN", iat.Unix(), exp.Unix(), dcc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeStore returns fixed candidates for every kid, in order.
type fakeStore []*keys.TrustEntry

func (f fakeStore) Lookup([]byte) []*keys.TrustEntry { return f }

func entry(t testing.TB, pki *testkit.PKI) *keys.TrustEntry {
	t.Helper()
	e, err := keys.NewTrustEntry(pki.DSC.Cert)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestVerify(t *testing.T) {
	pki := testkit.NewPKI(t)
	other := testkit.NewPKI(t)
	psPKI := testkit.NewPKI(t, testkit.WithPS256())
	testOnly := testkit.NewPKI(t, testkit.WithUsage(keys.UsageTest))
	cert := issue(t, pki)
	dcc := cert.Payload
	iat, exp := cert.IssuedAt, cert.ExpiresAt
	kid := pki.DSC.KID()
	claims := claimsFor(t, iat, exp, dcc)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	badVS := *dcc
	badVS.V = append([]schemas.Vaccination(nil), dcc.V...)
	badVS.V[0].MP = "NOT-A-PRODUCT"
	badSchema := *dcc
	badSchema.Nam.FNT = "nguyen"

	bomb := func() []byte {
		var buf bytes.Buffer
		w := zlib.NewWriter(&buf)
		w.Write(make([]byte, 1<<20))
		w.Close()
		return hcert.AppendBase45([]byte(hcert.Prefix), buf.Bytes())
	}()

	afterSignature := []verifier.Check{verifier.CheckKeyUsage, verifier.CheckValidity, verifier.CheckSchema, verifier.CheckValueSets}

	type tc struct {
		name       string
		qr         []byte
		trust      verifier.TrustStore
		at         time.Time
		opts       []verifier.Option
		wantCheck  verifier.Check // first failing check; "" = valid
		wantReason verifier.Reason
		wantSkip   []verifier.Check
	}
	tests := []tc{
		{name: "valid ES256", qr: []byte(cert.HC1)},
		{name: "valid PS256", qr: []byte(issue(t, psPKI).HC1), trust: psPKI.Trust},
		{name: "valid at exp", at: exp},
		{name: "valid with kid only in unprotected header",
			qr: craft(t, pki.DSC.Signer(), cose.AlgorithmES256, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES256},
				cose.UnprotectedHeader{cose.HeaderLabelKeyID: kid}, claims)},
		{name: "protected kid wins over a wrong unprotected kid",
			qr: craft(t, pki.DSC.Signer(), cose.AlgorithmES256, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES256, cose.HeaderLabelKeyID: kid},
				cose.UnprotectedHeader{cose.HeaderLabelKeyID: []byte("foo")}, claims)},
		{name: "wrong protected kid never falls back to the unprotected one",
			qr: craft(t, pki.DSC.Signer(), cose.AlgorithmES256, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES256, cose.HeaderLabelKeyID: []byte("foo")},
				cose.UnprotectedHeader{cose.HeaderLabelKeyID: kid}, claims),
			wantCheck: verifier.CheckSignature, wantReason: verifier.ReasonUnknownKID,
			wantSkip: afterSignature},
		{name: "no kid", qr: craft(t, pki.DSC.Signer(), cose.AlgorithmES256, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES256}, nil, claims),
			wantCheck: verifier.CheckSignature, wantReason: verifier.ReasonUnknownKID},
		{name: "unknown kid", trust: other.Trust, wantCheck: verifier.CheckSignature, wantReason: verifier.ReasonUnknownKID},
		{name: "wrong key under a colliding kid", trust: fakeStore{entry(t, other)},
			wantCheck: verifier.CheckSignature, wantReason: verifier.ReasonBadSignature, wantSkip: afterSignature},
		{name: "every candidate with the kid is tried", trust: fakeStore{entry(t, other), entry(t, pki)}},
		{name: "tampered payload",
			qr: func() []byte {
				m, _ := hcert.ParseSign1(cert.COSE)
				m.Payload = claimsFor(t, iat, exp.Add(365*24*time.Hour), dcc)
				b, _ := m.MarshalCBOR()
				return wrap(b)
			}(),
			wantCheck: verifier.CheckSignature, wantReason: verifier.ReasonBadSignature, wantSkip: afterSignature},
		{name: "alg header PS256 with a P-256 key",
			qr: craftPS(t, psPKI, kid, claims), wantCheck: verifier.CheckSignature, wantReason: verifier.ReasonAlgMismatch},
		{name: "ES384 header", qr: craft(t, p384, cose.AlgorithmES384, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES384, cose.HeaderLabelKeyID: kid}, nil, claims),
			wantCheck: verifier.CheckSignature, wantReason: verifier.ReasonAlgMismatch},
		{name: "expired", at: exp.Add(time.Second), wantCheck: verifier.CheckValidity, wantReason: verifier.ReasonExpired},
		{name: "expired, within clock skew", at: exp.Add(time.Minute), opts: []verifier.Option{verifier.WithClockSkew(5 * time.Minute)}},
		{name: "not yet valid", at: iat.Add(-time.Second), wantCheck: verifier.CheckValidity, wantReason: verifier.ReasonNotYetValid},
		{name: "exp after the DSC's notAfter",
			qr:        craft(t, pki.DSC.Signer(), cose.AlgorithmES256, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES256, cose.HeaderLabelKeyID: kid}, nil, claimsFor(t, iat, pki.DSC.Cert.NotAfter.Add(time.Hour), dcc)),
			wantCheck: verifier.CheckValidity, wantReason: verifier.ReasonOutsideSignerWindow},
		{name: "iat before the DSC's notBefore",
			qr:        craft(t, pki.DSC.Signer(), cose.AlgorithmES256, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES256, cose.HeaderLabelKeyID: kid}, nil, claimsFor(t, pki.DSC.Cert.NotBefore.Add(-time.Hour), exp, dcc)),
			wantCheck: verifier.CheckValidity, wantReason: verifier.ReasonOutsideSignerWindow},
		{name: "DSC for tests signs a vaccination", qr: []byte(issue(t, testOnly).HC1), trust: testOnly.Trust,
			wantCheck: verifier.CheckKeyUsage, wantReason: verifier.ReasonKeyUsage},
		{name: "value set violation",
			qr:        craft(t, pki.DSC.Signer(), cose.AlgorithmES256, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES256, cose.HeaderLabelKeyID: kid}, nil, claimsFor(t, iat, exp, &badVS)),
			wantCheck: verifier.CheckValueSets, wantReason: verifier.ReasonValueSet},
		{name: "schema violation",
			qr:        craft(t, pki.DSC.Signer(), cose.AlgorithmES256, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES256, cose.HeaderLabelKeyID: kid}, nil, claimsFor(t, iat, exp, &badSchema)),
			wantCheck: verifier.CheckSchema, wantReason: verifier.ReasonSchema, wantSkip: []verifier.Check{verifier.CheckValueSets}},
		{name: "exp before iat, within clock skew",
			qr: craft(t, pki.DSC.Signer(), cose.AlgorithmES256, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES256, cose.HeaderLabelKeyID: kid}, nil, claimsFor(t, iat, iat.Add(-time.Minute), dcc)),
			at: iat, opts: []verifier.Option{verifier.WithClockSkew(5 * time.Minute)},
			wantCheck: verifier.CheckValidity, wantReason: verifier.ReasonExpired},
		{name: "no prefix", qr: []byte(cert.HC1[4:]), wantCheck: verifier.CheckPrefix, wantReason: verifier.ReasonBadPrefix,
			wantSkip: []verifier.Check{verifier.CheckBase45, verifier.CheckDecompress, verifier.CheckCOSE, verifier.CheckSignature, verifier.CheckKeyUsage, verifier.CheckValidity, verifier.CheckSchema, verifier.CheckValueSets}},
		{name: "HC2 prefix", qr: []byte("HC2:" + cert.HC1[4:]), wantCheck: verifier.CheckPrefix, wantReason: verifier.ReasonBadPrefix},
		{name: "oversized input", qr: []byte("HC1:" + strings.Repeat("0", 5000)), wantCheck: verifier.CheckPrefix, wantReason: verifier.ReasonTooLarge},
		{name: "lowercase base45", qr: []byte(strings.ToLower(cert.HC1[:10]) + cert.HC1[10:]), wantCheck: verifier.CheckPrefix, wantReason: verifier.ReasonBadPrefix},
		{name: "bad base45", qr: []byte(cert.HC1[:20] + "#" + cert.HC1[21:]), wantCheck: verifier.CheckBase45, wantReason: verifier.ReasonBadBase45},
		{name: "decompression bomb", qr: bomb, wantCheck: verifier.CheckDecompress, wantReason: verifier.ReasonTooLarge},
		{name: "not compressed", qr: hcert.AppendBase45([]byte(hcert.Prefix), cert.COSE), wantCheck: verifier.CheckDecompress, wantReason: verifier.ReasonBadCompression},
		{name: "not COSE", qr: wrap([]byte{0xa0}), wantCheck: verifier.CheckCOSE, wantReason: verifier.ReasonBadCOSE},
		{name: "claims without hcert",
			qr:        craft(t, pki.DSC.Signer(), cose.AlgorithmES256, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES256, cose.HeaderLabelKeyID: kid}, nil, []byte{0xa2, 0x04, 0x01, 0x06, 0x01}),
			wantCheck: verifier.CheckCOSE, wantReason: verifier.ReasonBadCWT,
			wantSkip: []verifier.Check{verifier.CheckKeyUsage, verifier.CheckValidity, verifier.CheckSchema, verifier.CheckValueSets}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.qr == nil {
				tc.qr = []byte(cert.HC1)
			}
			if tc.trust == nil {
				tc.trust = pki.Trust
			}
			if tc.at.IsZero() {
				tc.at = testkit.Now
			}
			v, err := verifier.New(tc.trust, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(tc.qr, tc.at)
			if res == nil {
				t.Fatal("nil result")
			}
			if tc.wantCheck == "" {
				if err != nil || !res.Valid() {
					t.Fatalf("want valid, got %v", err)
				}
				if res.DCC() == nil || res.DCC().Nam.FNT != dcc.Nam.FNT || res.Type() != schemas.TypeVaccination {
					t.Fatalf("decoded payload = %+v", res.DCC())
				}
				if !res.IssuedAt().Equal(iat) || !res.CheckedAt().Equal(tc.at) {
					t.Errorf("iat = %v, want %v", res.IssuedAt(), iat)
				}
				return
			}
			var verr *verifier.Error
			if !errors.As(err, &verr) {
				t.Fatalf("got %v, want *verifier.Error", err)
			}
			if verr.Check != tc.wantCheck || verr.Reason != tc.wantReason {
				t.Fatalf("got %s/%s (%v), want %s/%s", verr.Check, verr.Reason, err, tc.wantCheck, tc.wantReason)
			}
			if res.Valid() || res.Reason() != tc.wantReason || res.Status(tc.wantCheck) != verifier.StatusFail {
				t.Fatalf("result: valid=%v reason=%s status=%v", res.Valid(), res.Reason(), res.Status(tc.wantCheck))
			}
			for _, c := range tc.wantSkip {
				if s := res.Status(c); s != verifier.StatusSkip {
					t.Errorf("%s = %v, want skip", c, s)
				}
			}
			if strings.Contains(err.Error(), "Nguy") || strings.Contains(err.Error(), "1990") {
				t.Errorf("error leaks personal data: %v", err)
			}
		})
	}
}

// craftPS signs with an RSA key under alg PS256 but names the P-256 DSC's
// kid, so the trusted key (P-256 → ES256) disagrees with the header.
func craftPS(t testing.TB, ps *testkit.PKI, kid []byte, claims []byte) []byte {
	return craft(t, ps.DSC.Signer(), cose.AlgorithmPS256,
		cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmPS256, cose.HeaderLabelKeyID: kid}, nil, claims)
}

func TestNewRejectsBadOptions(t *testing.T) {
	pki := testkit.NewPKI(t)
	for name, opt := range map[string]verifier.Option{
		"negative skew":  verifier.WithClockSkew(-time.Second),
		"huge skew":      verifier.WithClockSkew(48 * time.Hour),
		"nil value sets": verifier.WithValueSets(nil),
		"nil validator":  verifier.WithGenericValidator(nil),
	} {
		if _, err := verifier.New(pki.Trust, opt); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := verifier.New(nil); err == nil {
		t.Error("nil trust store accepted")
	}
}

func TestReport(t *testing.T) {
	pki := testkit.NewPKI(t)
	cert := issue(t, pki)
	v, err := verifier.New(pki.Trust)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := v.Verify([]byte(cert.HC1), testkit.Now)
	rep := res.Report()
	if !rep.Valid || rep.Reason != "" || len(rep.Checks) != len(verifier.BuiltinChecks()) || len(rep.Errors) != 0 ||
		rep.Alg != "ES256" || rep.KID != keys.KIDString(pki.DSC.KID()) || rep.Type != schemas.TypeVaccination ||
		rep.IssuedAt != "2026-06-01T12:00:00Z" || !strings.Contains(string(rep.Certificate), `"fnt":"NGUYEN"`) {
		t.Fatalf("valid report: %+v", rep)
	}
	res, _ = v.Verify([]byte("HC2:"+cert.HC1[4:]), testkit.Now)
	rep = res.Report()
	if rep.Valid || rep.Reason != verifier.ReasonBadPrefix || rep.Checks["prefix"] != "fail" || rep.Checks["schema"] != "skip" ||
		rep.Errors["prefix"] == "" || rep.KID != "" || rep.Certificate != nil {
		t.Fatalf("invalid report: %+v", rep)
	}
}

// Payloads the EU accepts: a Bimervax certificate (value-set release 2.12.0)
// and a schema 1.0 payload with two vaccination entries and a date-time in
// dt, judged by the schema of the version it declares (issue 9 item 14).
func TestVerifyEUPayloads(t *testing.T) {
	pki := testkit.NewPKI(t)
	rec := testkit.Record()
	for i := range rec.Doses {
		rec.Doses[i].Product, rec.Doses[i].Manufacturer = "EU/1/22/1709", "ORG-100036914"
	}
	bimervax, err := pki.Issuer(t).Issue(rec)
	if err != nil {
		t.Fatalf("issue Bimervax: %v", err)
	}
	cert := issue(t, pki)
	old := *cert.Payload
	old.Ver = "1.0.0"
	first := old.V[0]
	first.DN, first.DT = 1, "2021-08-15T00:00:00Z"
	second := old.V[0]
	second.DT = "2021-09-05T00:00:00Z"
	old.V = []schemas.Vaccination{first, second}
	oldQR := craft(t, pki.DSC.Signer(), cose.AlgorithmES256,
		cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES256, cose.HeaderLabelKeyID: pki.DSC.KID()}, nil,
		claimsFor(t, cert.IssuedAt, cert.ExpiresAt, &old))
	as13 := old
	as13.Ver = "1.3.0"
	as13QR := craft(t, pki.DSC.Signer(), cose.AlgorithmES256,
		cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES256, cose.HeaderLabelKeyID: pki.DSC.KID()}, nil,
		claimsFor(t, cert.IssuedAt, cert.ExpiresAt, &as13))

	full, err := verifier.New(pki.Trust, verifier.WithGenericValidator(jsonschema.Generic{}))
	if err != nil {
		t.Fatal(err)
	}
	typedOnly, err := verifier.New(pki.Trust)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		v      *verifier.Verifier
		qr     string
		reason verifier.Reason
	}{
		{"Bimervax", typedOnly, bimervax.HC1, ""},
		{"schema 1.0, two entries, date-time dt", full, string(oldQR), ""},
		{"the same declared as 1.3", full, string(as13QR), verifier.ReasonSchema},
		{"schema 1.0 without a generic validator", typedOnly, string(oldQR), verifier.ReasonSchema},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := tc.v.Verify([]byte(tc.qr), testkit.Now)
			if res.Reason() != tc.reason {
				t.Fatalf("reason %q (%v), want %q", res.Reason(), res.Err(), tc.reason)
			}
		})
	}
}
