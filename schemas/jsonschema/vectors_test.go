package jsonschema_test

import (
	"fmt"
	"strings"
	"testing"
)

// knownFlagMismatches are the EU vectors whose EXPECTEDSCHEMAVALIDATION flag
// both validators contradict, with the reason. None since the schema check
// is the schema of the payload's version alone (value sets are a separate
// check): the ES vectors with codes outside the value sets now pass it, as
// they expect.
var knownFlagMismatches = map[string]string{}

// TestVectorAgreement runs both validators on the JSON payload of every EU
// test vector: their verdicts must agree, and they must match each
// vector's EXPECTEDSCHEMAVALIDATION flag except for knownFlagMismatches.
// The flags were set against each vector's own schema version (1.0.0 to
// 1.3.0); the oracle validates against the embedded release of that line,
// the typed validator implements 1.3.3 (older payloads are the oracle's).
func TestVectorAgreement(t *testing.T) {
	vectors := loadVectors(t)
	if len(vectors) == 0 {
		t.Fatal("no vector carries a JSON payload")
	}
	var table strings.Builder
	disagree, flagged, match := 0, 0, 0
	var mismatches []string
	for _, v := range vectors {
		typed, oracle, decodeErr := verdicts(v.payload)
		line := fmt.Sprintf("%-28s typed=%-7s oracle=%-7s", v.path, verdict(typed), verdict(oracle))
		if decodeErr != nil {
			line += " (decode failed)"
		}
		if (typed == nil) != (oracle == nil) {
			disagree++
			line += "  DISAGREE"
		}
		if v.expected != nil {
			flagged++
			line += fmt.Sprintf(" expected=%v", *v.expected)
			if *v.expected == (oracle == nil) {
				match++
			} else {
				mismatches = append(mismatches, v.path)
				line += fmt.Sprintf("  MISMATCH (%v)", oracle)
			}
		}
		table.WriteString(line + "\n")
	}
	t.Logf("%d vectors with a JSON payload; %d with a schema flag: %d match, %d mismatch", len(vectors), flagged, match, len(mismatches))
	if disagree > 0 {
		t.Errorf("typed and oracle validators disagree on %d vectors:\n%s", disagree, table.String())
	}
	for _, p := range mismatches {
		if _, ok := knownFlagMismatches[p]; !ok {
			t.Errorf("%s: verdict contradicts EXPECTEDSCHEMAVALIDATION:\n%s", p, table.String())
		}
	}
	for p, why := range knownFlagMismatches {
		found := false
		for _, m := range mismatches {
			found = found || m == p
		}
		if !found {
			t.Errorf("%s: listed as a known mismatch (%s) but now matches its flag or is missing", p, why)
		}
	}
}

func verdict(err error) string {
	if err == nil {
		return "valid"
	}
	return "invalid"
}
