package issuer_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/issuing"
	"github.com/vaxcert/vaxcert/verifier"
)

// Issue a certificate from finalised dose records and verify it offline.
func Example() {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	csca, _ := issuing.NewCSCA(issuing.CSCAOptions{Country: "VN", NotBefore: now.AddDate(0, -1, 0)})
	dsc, _ := csca.IssueDSC(issuing.DSCOptions{NotBefore: now.AddDate(0, -1, 0)})

	iss, err := issuer.New(dsc.Signer(), dsc.Cert, issuer.WithIssuerName("Ministry of Health of Viet Nam"),
		issuer.WithClock(func() time.Time { return now }),
		issuer.WithUVCISecret([]byte("a per-deployment secret, 32 byte")))
	if err != nil {
		panic(err)
	}
	cert, err := iss.Issue(issuer.Record{
		Person: issuer.Person{ID: "001090012345", FamilyName: "Nguyễn", GivenName: "Văn Đức", BirthDate: "1990-04-12"},
		Doses: []issuer.Dose{{RecordID: "r1", Site: "HN-001", Product: "EU/1/20/1528", Manufacturer: "ORG-100030215",
			Lot: "FF1234", DoseNumber: 1, SeriesDoses: 1, Date: "2021-09-01", Country: "VN", Status: issuer.StatusFinalised}},
	})
	if err != nil {
		panic(err)
	}

	trust, _ := keys.NewTrustList(dsc.Cert)
	v, _ := verifier.New(trust)
	res, err := v.Verify([]byte(cert.HC1), now)
	fmt.Println(strings.HasPrefix(cert.HC1, "HC1:"), err, res.Type(), res.DCC().Nam.FNT, res.DCC().Nam.GNT)
	// (The verifier package's Example shows a tampered certificate failing
	// with bad_signature.)

	// Output:
	// true <nil> vaccination NGUYEN VAN<DUC
}
