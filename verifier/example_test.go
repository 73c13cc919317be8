package verifier_test

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/issuing"
	"github.com/vaxcert/vaxcert/verifier"
)

// Verify a certificate offline, then show that a certificate whose signed
// payload was changed fails the signature check with bad_signature, and
// that nothing from its payload reaches the caller.
func Example() {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	csca, _ := issuing.NewCSCA(issuing.CSCAOptions{Country: "VN", NotBefore: now.AddDate(0, -1, 0)})
	dsc, _ := csca.IssueDSC(issuing.DSCOptions{NotBefore: now.AddDate(0, -1, 0)})
	iss, _ := issuer.New(dsc.Signer(), dsc.Cert, issuer.WithCountry("VN"), issuer.WithIssuerName("Ministry of Health"),
		issuer.WithClock(func() time.Time { return now }), issuer.WithUVCISecret([]byte("a per-deployment secret, 32 byte")))
	cert, err := iss.Issue(issuer.Record{
		Person: issuer.Person{ID: "001090012345", FamilyName: "Nguyễn", GivenName: "Văn Đức", BirthDate: "1990-04-12"},
		Doses: []issuer.Dose{{RecordID: "r1", Site: "HN-001", Product: "EU/1/20/1528", Manufacturer: "ORG-100030215",
			DoseNumber: 2, SeriesDoses: 2, Date: "2021-09-05", Country: "VN", Status: issuer.StatusFinalised}},
	})
	if err != nil {
		panic(err)
	}

	// A venue's verifier trusts the DSC.
	trust, _ := keys.NewTrustList(dsc.Cert)
	v, _ := verifier.New(trust)
	res, err := v.Verify([]byte(cert.HC1), now)
	fmt.Println(err, res.Valid(), res.Type(), res.DCC().Nam.FNT)

	// Someone changes a letter of the holder's name in the signed payload
	// and encodes the QR text again, correctly: only the signature can
	// tell.
	z, _ := hcert.AppendBase45Decode(nil, []byte(cert.HC1[len(hcert.Prefix):]))
	coseBytes, _ := hcert.AppendInflate(nil, z, limits.MaxCOSE)
	msg, _ := hcert.ParseSign1(coseBytes)
	msg.Payload = bytes.Replace(msg.Payload, []byte("NGUYEN"), []byte("NGUYEM"), 1)
	forged, _ := msg.MarshalCBOR()
	qr := hcert.AppendBase45([]byte(hcert.Prefix), hcert.AppendDeflate(nil, forged))

	res, err = v.Verify(qr, now)
	var verr *verifier.Error
	if errors.As(err, &verr) {
		fmt.Println(verr.Check, verr.Reason)
	}
	fmt.Println(res.Valid(), res.Status(verifier.CheckSchema), res.DCC() == nil, res.Report().Certificate == nil)
	// Output:
	// <nil> true vaccination NGUYEN
	// signature bad_signature
	// false skip true true
}
