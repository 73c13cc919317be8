package keys_test

import (
	"fmt"
	"time"

	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/issuing"
	"github.com/vaxcert/vaxcert/schemas"
)

// An issuer creates its CSCA and a vaccination-only DSC; a verifier trusts
// the DSC and looks it up by the kid of a COSE header.
func Example() {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	csca, err := issuing.NewCSCA(issuing.CSCAOptions{Country: "VN", NotBefore: now})
	if err != nil {
		panic(err)
	}
	dsc, err := csca.IssueDSC(issuing.DSCOptions{NotBefore: now, Usage: keys.UsageVaccination})
	if err != nil {
		panic(err)
	}

	trust, err := keys.NewTrustList(dsc.Cert)
	if err != nil {
		panic(err)
	}
	for _, e := range trust.Lookup(dsc.KID()) {
		fmt.Println(e.Country, e.Alg, e.Accepts(keys.AlgES256), e.Accepts(keys.AlgPS256))
		fmt.Println(e.Permits(schemas.TypeVaccination), e.Permits(schemas.TypeTest))
		fmt.Println(e.NotAfter.Sub(e.NotBefore) == issuing.DefaultDSCValidity)
	}
	// Output:
	// VN ES256 true false
	// true false
	// true
}
