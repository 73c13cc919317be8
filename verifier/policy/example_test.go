package policy_test

import (
	"fmt"
	"time"

	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier/policy"
)

// Deciding the same certificate, a 2/2 series with its last dose on
// 2022-02-01, at three instants with the default policy.
func ExamplePolicy_Decide() {
	p := policy.Default()
	d := &schemas.DCC{Ver: "1.3.0", Dob: "1990-04-12", V: []schemas.Vaccination{{TG: policy.DiseaseCOVID19,
		VP: "1119349007", MP: "EU/1/20/1528", MA: "ORG-100030215", DN: 2, SD: 2, DT: "2022-02-01", CO: "VN",
		IS: "Ministry of Health of Viet Nam", CI: "URN:UVCI:01:VN:EXAMPLE"}}}
	for _, at := range []string{"2022-02-10", "2022-03-01", "2022-12-01"} {
		when, _ := time.Parse(time.DateOnly, at)
		out := p.Decide(d, when)
		fmt.Printf("%s: %s %q — %s\n", at, out.Decision, out.Reason, out.Reason.Message().EN)
	}
	// Output:
	// 2022-02-10: partial "too_recent" — The last dose is too recent to count yet; see the date it becomes valid.
	// 2022-03-01: full "" — The certificate is accepted.
	// 2022-12-01: not_accepted "primary_expired" — The primary series is older than accepted; ask for a booster certificate.
}
