package issuer_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"image/png"
	"io"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"
	"rsc.io/qr/coding"

	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/internal/hcqr/hcqrtest"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/schemas"
)

var secret = testkit.UVCISecret

func sampleRecord() issuer.Record { return testkit.Record() }

func newIssuer(t testing.TB, pki *testkit.PKI, opts ...issuer.Option) *issuer.Issuer {
	t.Helper()
	opts = append([]issuer.Option{issuer.WithClock(testkit.Clock), issuer.WithIssuerName(testkit.IssuerName), issuer.WithUVCISecret(secret)}, opts...)
	iss, err := issuer.New(pki.DSC.Signer(), pki.DSC.Cert, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func TestIssueWireFormat(t *testing.T) {
	pki := testkit.NewPKI(t)
	c, err := newIssuer(t, pki).Issue(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.HC1, "HC1:") || len(c.HC1) > limits.MaxQRText {
		t.Fatalf("HC1 text %q…", c.HC1[:10])
	}
	if c.COSE[0] != 0xd2 {
		t.Errorf("COSE starts with %#x, want tag 18 (0xd2)", c.COSE[0])
	}
	// The HC1 text decodes back to exactly the COSE bytes.
	z, err := hcert.AppendBase45Decode(nil, []byte(c.HC1[4:]))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hcert.AppendInflate(nil, z, limits.MaxCOSE)
	if err != nil || !bytes.Equal(raw, c.COSE) {
		t.Fatalf("inflate: %v", err)
	}
	msg, err := hcert.ParseSign1(c.COSE)
	if err != nil {
		t.Fatal(err)
	}
	if alg, _ := msg.Headers.Protected.Algorithm(); alg != cose.AlgorithmES256 {
		t.Errorf("alg %v, want ES256", alg)
	}
	if kid := msg.Headers.Protected[cose.HeaderLabelKeyID]; !bytes.Equal(kid.([]byte), pki.DSC.KID()) || len(pki.DSC.KID()) != 8 {
		t.Errorf("protected kid %x, want %x", kid, pki.DSC.KID())
	}
	if len(msg.Headers.Unprotected) != 0 {
		t.Errorf("unprotected header %v, want empty", msg.Headers.Unprotected)
	}
	var claims map[int]any
	if err := cbor.Unmarshal(msg.Payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims[1] != "VN" {
		t.Errorf("iss = %v", claims[1])
	}
	if iat, ok := claims[6].(uint64); !ok || int64(iat) != testkit.Now.Unix() {
		t.Errorf("iat = %#v, want integer %d", claims[6], testkit.Now.Unix())
	}
	if exp, ok := claims[4].(uint64); !ok || int64(exp) != testkit.Now.Add(issuer.DefaultValidity).Unix() {
		t.Errorf("exp = %#v", claims[4])
	}
	if !c.IssuedAt.Equal(testkit.Now) || !c.ExpiresAt.Equal(testkit.Now.Add(issuer.DefaultValidity)) {
		t.Errorf("IssuedAt/ExpiresAt = %v/%v", c.IssuedAt, c.ExpiresAt)
	}
	v := c.Payload.V[0]
	if c.UVCI == "" || v.CI != c.UVCI || v.DN != 2 || v.SD != 2 || v.DT != "2021-09-01" {
		t.Errorf("payload %+v, UVCI %q", v, c.UVCI)
	}
}

func TestIssueDeterministicContent(t *testing.T) {
	pki := testkit.NewPKI(t)
	now := testkit.Now
	iss := newIssuer(t, pki, issuer.WithClock(func() time.Time { return now }))
	a, err := iss.Issue(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	// The same finalised doses in another order and with a draft, in the
	// same second: the same payload, UVCI included.
	rec := sampleRecord()
	rec.Doses[0], rec.Doses[1] = rec.Doses[1], rec.Doses[0]
	rec.Doses = append(rec.Doses, issuer.Dose{RecordID: "d", Site: "HN-001", Product: "EU/1/20/1507",
		Manufacturer: "ORG-100031184", DoseNumber: 3, SeriesDoses: 3, Date: "2022-01-01", Country: "VN", Status: issuer.StatusDraft})
	now = now.Add(500 * time.Millisecond)
	b, err := iss.Issue(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Payload, b.Payload) || a.UVCI != b.UVCI {
		t.Fatalf("same finalised doses gave different content:\n%+v\n%+v", a.Payload, b.Payload)
	}
	// Two days later: the same content under a UVCI that sorts after the
	// first (it starts with the issuing second), and another iat.
	now = now.Add(48 * time.Hour)
	c, err := iss.Issue(rec)
	if err != nil {
		t.Fatal(err)
	}
	withoutCI := func(d *schemas.DCC) schemas.DCC {
		out := *d
		out.V = []schemas.Vaccination{d.V[0]}
		out.V[0].CI = ""
		return out
	}
	if !reflect.DeepEqual(withoutCI(a.Payload), withoutCI(c.Payload)) {
		t.Fatalf("same finalised doses gave different content:\n%+v\n%+v", a.Payload, c.Payload)
	}
	if c.UVCI <= a.UVCI {
		t.Errorf("UVCI issued two days later %q does not sort after %q", c.UVCI, a.UVCI)
	}
	if a.HC1 == c.HC1 || !c.IssuedAt.Equal(now.Truncate(time.Second)) {
		t.Fatal("iat should differ")
	}
}

func TestExpCappedAtDSCNotAfter(t *testing.T) {
	// The DSC expires 100 days after the fixed clock.
	pki := testkit.NewPKI(t, testkit.WithValidity(testkit.Now.AddDate(0, 0, -30), 130*24*time.Hour))
	c, err := newIssuer(t, pki).Issue(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	if !c.ExpiresAt.Equal(pki.DSC.Cert.NotAfter) {
		t.Fatalf("exp %v, want the DSC's notAfter %v", c.ExpiresAt, pki.DSC.Cert.NotAfter)
	}
}

func TestSignerNotValid(t *testing.T) {
	for name, clock := range map[string]time.Time{
		"before notBefore": testkit.Now.AddDate(0, 0, -31),
		"after notAfter":   testkit.Now.AddDate(3, 0, 0),
	} {
		pki := testkit.NewPKI(t)
		_, err := newIssuer(t, pki, issuer.WithClock(func() time.Time { return clock })).Issue(sampleRecord())
		if !errors.Is(err, issuer.ErrSignerNotValid) {
			t.Errorf("%s: got %v, want ErrSignerNotValid", name, err)
		}
	}
}

func TestRefusedRecordsAreNotSigned(t *testing.T) {
	pki := testkit.NewPKI(t)
	counting := &countingSigner{Signer: pki.DSC.Signer()}
	iss, err := issuer.New(counting, pki.DSC.Cert, issuer.WithClock(testkit.Clock), issuer.WithIssuerName(testkit.IssuerName), issuer.WithUVCISecret(secret))
	if err != nil {
		t.Fatal(err)
	}
	drafts := sampleRecord()
	for i := range drafts.Doses {
		drafts.Doses[i].Status = issuer.StatusDraft
	}
	contradictory := sampleRecord()
	contradictory.Doses = append(contradictory.Doses, contradictory.Doses[1])
	contradictory.Doses[2].RecordID, contradictory.Doses[2].Date, contradictory.Doses[2].Lot = "r3", "2021-09-15", "OTHER"
	badProduct := sampleRecord()
	badProduct.Doses[1].Product = "NOT-A-PRODUCT"
	for name, tc := range map[string]struct {
		rec   issuer.Record
		want  error
		field string
	}{
		"only drafts":      {drafts, issuer.ErrNotFinalised, ""},
		"two dose-2 shots": {contradictory, issuer.ErrContradictory, "dose_number"},
		"unknown product":  {badProduct, issuer.ErrValueSet, "doses[1].product"},
	} {
		_, err := iss.Issue(tc.rec)
		var fe *issuer.FieldError
		if !errors.Is(err, tc.want) || !errors.As(err, &fe) || !strings.Contains(fe.Field, tc.field) {
			t.Errorf("%s: got %v, want %v naming %q", name, err, tc.want, tc.field)
		}
	}
	if counting.n != 0 {
		t.Fatalf("signed %d times for refused records", counting.n)
	}
}

type countingSigner struct {
	crypto.Signer
	n int
}

func (c *countingSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	c.n++
	return c.Signer.Sign(r, d, o)
}

func TestNewRejects(t *testing.T) {
	pki := testkit.NewPKI(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384 := testkit.NewPKI(t)
	_ = p384
	for name, fn := range map[string]func() error{
		"key does not match the DSC": func() error {
			_, err := issuer.New(other, pki.DSC.Cert, issuer.WithIssuerName(testkit.IssuerName), issuer.WithUVCISecret(secret))
			return err
		},
		"no UVCI secret": func() error {
			_, err := issuer.New(pki.DSC.Signer(), pki.DSC.Cert, issuer.WithIssuerName(testkit.IssuerName))
			return err
		},
		"no issuer name": func() error {
			_, err := issuer.New(pki.DSC.Signer(), pki.DSC.Cert, issuer.WithUVCISecret(secret))
			return err
		},
		"issuer name with a control character": func() error {
			_, err := issuer.New(pki.DSC.Signer(), pki.DSC.Cert, issuer.WithUVCISecret(secret), issuer.WithIssuerName("Bộ Y tế\n"))
			return err
		},
		"lower-case country": func() error {
			_, err := issuer.New(pki.DSC.Signer(), pki.DSC.Cert, issuer.WithUVCISecret(secret),
				issuer.WithIssuerName(testkit.IssuerName), issuer.WithCountry("vn"))
			return err
		},
		"country outside the value set": func() error {
			_, err := issuer.New(pki.DSC.Signer(), pki.DSC.Cert, issuer.WithUVCISecret(secret),
				issuer.WithIssuerName(testkit.IssuerName), issuer.WithCountry("QQ"))
			return err
		},
		"nil option": func() error {
			_, err := issuer.New(pki.DSC.Signer(), pki.DSC.Cert, issuer.WithUVCISecret(secret),
				issuer.WithIssuerName(testkit.IssuerName), nil)
			return err
		},
		"short UVCI secret": func() error {
			_, err := issuer.New(pki.DSC.Signer(), pki.DSC.Cert, issuer.WithIssuerName(testkit.IssuerName), issuer.WithUVCISecret([]byte("short")))
			return err
		},
		"validity under an hour": func() error {
			_, err := issuer.New(pki.DSC.Signer(), pki.DSC.Cert, issuer.WithIssuerName(testkit.IssuerName), issuer.WithUVCISecret(secret), issuer.WithValidity(time.Minute))
			return err
		},
	} {
		if fn() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPS256(t *testing.T) {
	pki := testkit.NewPKI(t, testkit.WithPS256())
	iss := newIssuer(t, pki)
	if iss.Algorithm() != keys.AlgPS256 {
		t.Fatalf("alg %v", iss.Algorithm())
	}
	c, err := iss.Issue(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := hcert.ParseSign1(c.COSE)
	if alg, _ := msg.Headers.Protected.Algorithm(); alg != cose.AlgorithmPS256 || len(msg.Signature) != 256 {
		t.Fatalf("alg %v, signature %d bytes", alg, len(msg.Signature))
	}
}

func TestQRPNG(t *testing.T) {
	pki := testkit.NewPKI(t)
	c, err := newIssuer(t, pki).Issue(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.PNG()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	// Quiet zone: the top-left corner is white; the finder pattern starts
	// 4 modules in, black.
	if r, g, bl, _ := img.At(1, 1).RGBA(); r != 0xffff || g != 0xffff || bl != 0xffff {
		t.Errorf("corner pixel not white")
	}
	q := 4*issuer.QRModulePixels + 1
	if r, _, _, _ := img.At(q, q).RGBA(); r != 0 {
		t.Errorf("finder pattern pixel not black")
	}
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Skip("zbarimg not installed (apt-get install zbar-tools); the QR was not decoded back")
	}
	cmd := exec.Command(zbar, "--raw", "-q", "-Sbinary", "-")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimRight(string(out), "\n"); got != c.HC1 {
		t.Fatalf("QR decodes to %q…, want the HC1 text", got[:min(20, len(got))])
	}
}

// The public PNG puts a text with long digit runs in one alphanumeric
// segment at level Q (issue 9 item 4; skip2/go-qrcode, used before, made a
// numeric segment of them).
func TestQRPNGAlphanumeric(t *testing.T) {
	text := "HC1:NCF" + strings.Repeat("0123456789", 4) + "$%*+-./: XYZ" + strings.Repeat("7", 31)
	b, err := issuer.QRPNG(text)
	if err != nil {
		t.Fatal(err)
	}
	segs, level := hcqrtest.ReadSegments(t, hcqrtest.FromPNG(t, b))
	if level != coding.Q || len(segs) != 1 || segs[0].Mode != 2 || segs[0].Text != text {
		t.Fatalf("level %v, segments %+v; want one alphanumeric segment at Q", level, segs)
	}
	if _, err := issuer.QRPNG("HC1:lower case"); err == nil {
		t.Error("a text outside the QR alphanumeric set was encoded")
	}
}

func TestIssueRevisionChangesOnlyTheUVCI(t *testing.T) {
	pki := testkit.NewPKI(t)
	iss := newIssuer(t, pki)
	a, err := iss.Issue(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	b, err := iss.IssueRevision(sampleRecord(), 1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := iss.IssueRevision(sampleRecord(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if a.UVCI == b.UVCI || b.UVCI == c.UVCI || a.UVCI == c.UVCI {
		t.Fatalf("revisions share a UVCI: %s %s %s", a.UVCI, b.UVCI, c.UVCI)
	}
	if !issuer.ValidUVCIChecksum(b.UVCI) {
		t.Fatalf("revision UVCI %s has a bad checksum", b.UVCI)
	}
	pa, pb := *a.Payload, *b.Payload
	va, vb := pa.V[0], pb.V[0]
	va.CI, vb.CI = "", ""
	pa.V, pb.V = nil, nil
	if va != vb || !reflect.DeepEqual(pa, pb) {
		t.Fatal("a revision changed more than the UVCI")
	}
	if z, _ := iss.IssueRevision(sampleRecord(), 0); z.UVCI != a.UVCI {
		t.Fatal("revision 0 is not the first certificate")
	}
}

// Sign refuses what fails the schema or the value sets, whatever built it
// (issue 9 item 3): nothing unvalidated is signed.
func TestSignValidates(t *testing.T) {
	pki := testkit.NewPKI(t)
	iss := newIssuer(t, pki)
	good, err := iss.Payload(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	badCode := *good
	badCode.V = append([]schemas.Vaccination(nil), good.V...)
	badCode.V[0].MP = "EU/1/99/9999"
	badName := *good
	badName.Nam.FNT = "nguyen"
	for name, tc := range map[string]struct {
		dcc  *schemas.DCC
		rule string
	}{
		"nil":              {nil, ""},
		"empty payload":    {&schemas.DCC{}, schemas.RulePattern},
		"schema violation": {&badName, schemas.RulePattern},
		"unknown product":  {&badCode, schemas.RuleValueSet},
	} {
		t.Run(name, func(t *testing.T) {
			cert, err := iss.Sign(tc.dcc)
			var fe *issuer.FieldError
			if cert != nil || !errors.As(err, &fe) || fe.Field != "payload" {
				t.Fatalf("Sign = %v, %v; want a payload FieldError", cert, err)
			}
			var ve *schemas.ValidationError
			if tc.rule != "" && (!errors.As(err, &ve) || ve.Rule != tc.rule) {
				t.Fatalf("err = %v, want rule %s", err, tc.rule)
			}
		})
	}
	if _, err := iss.Sign(good); err != nil {
		t.Fatalf("valid payload: %v", err)
	}
}

// TestHC1FromCOSE: a certificate's QR text is hcert.AppendHC1 of its COSE
// message, which is how the service rebuilds it from the stored message.
func TestHC1FromCOSE(t *testing.T) {
	c, err := newIssuer(t, testkit.NewPKI(t)).Issue(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(hcert.AppendHC1(nil, c.COSE)); got != c.HC1 {
		t.Fatalf("AppendHC1(COSE) = %q, want the issued %q", got, c.HC1)
	}
}
