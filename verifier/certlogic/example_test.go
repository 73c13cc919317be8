package certlogic_test

import (
	"fmt"

	"github.com/vaxcert/vaxcert/verifier/certlogic"
)

// A rule from the EU template set: is the holder a minor at the
// validation time? dccDateOfBirth reads a partial date as the last day it
// can mean ("2004" is 2004-12-31).
func ExampleParse() {
	e, err := certlogic.Parse([]byte(`{"after": [
		{"dccDateOfBirth": [{"var": "payload.dob"}]},
		{"plusTime": [{"var": "external.validationClock"}, -18, "year"]}]}`))
	if err != nil {
		panic(err)
	}
	for _, dob := range []string{"2004", "2004-06-15", "1990-04-12"} {
		data, _ := certlogic.FromJSON([]byte(`{"payload": {"dob": "` + dob + `"}, "external": {"validationClock": "2022-09-01T00:00:00Z"}}`))
		v, err := e.Eval(data)
		fmt.Println(dob, v, err)
	}
	// A malformed expression is an error, never a false.
	_, err = certlogic.Parse([]byte(`{"if": [true, 1]}`))
	fmt.Println(err)
	// Output:
	// 2004 true <nil>
	// 2004-06-15 false <nil>
	// 1990-04-12 false <nil>
	// certlogic: invalid expression: an "if"-operation must have exactly 3 values/operands, but it has 2
}
