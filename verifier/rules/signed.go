package rules

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier/certlogic"
	"github.com/vaxcert/vaxcert/verifier/lists"
)

// KindRuleSet is the kind of a signed rule set: the venue's rules, and the
// value sets they are to see, travelling in the signed-list envelope of
// package verifier/lists (JWS, x5c chain to the pinned CSCA, list-signer
// EKU, sequence, iat, exp).
const KindRuleSet lists.Kind = "vaxcert-rule-set"

// RuleSetPayload is the JWS payload of a signed rule set: the list claims,
// the rules (each a gateway rule envelope) and, optionally, value-set files
// (the eu-dcc-valuesets JSON shape) that replace the embedded ones with the
// same valueSetId.
type RuleSetPayload struct {
	lists.Claims
	Rules     []json.RawMessage `json:"rules"`
	ValueSets []json.RawMessage `json:"value_sets,omitempty"`
}

// SignedSet is a signed rule set that [OpenSigned] checked.
type SignedSet struct {
	Set *Set
	// ValueSets is the embedded EU value sets with those of the rule set
	// applied over them; nil when the rule set carries none.
	ValueSets *schemas.ValueSets
	Signed    *lists.Signed // issuer, sequence, iat, exp, signer
}

// Version returns what a venue remembers of this rule set, to refuse a
// rollback next time.
func (s *SignedSet) Version() lists.Version { return lists.VersionOf(s.Signed) }

// OpenSigned checks a signed rule set at now: signature, chain to root
// and expiry (lists.Open), no rollback from held (the zero Version accepts
// any), then every rule and value set, refusing the whole set when any is
// malformed. Errors from the envelope are *lists.Error (switch on its
// Reason); errors from the content match [ErrRule] or schemas.ErrValueSet.
func OpenSigned(data []byte, root *x509.Certificate, now time.Time, held lists.Version) (*SignedSet, error) {
	s, err := lists.Open(data, root, KindRuleSet, now, limits.MaxRuleSet)
	if err != nil {
		return nil, err
	}
	if err := held.Check(s); err != nil {
		return nil, err
	}
	var p RuleSetPayload
	dec := json.NewDecoder(bytes.NewReader(s.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, &RuleError{Problem: "signed rule set payload: " + err.Error()}
	}
	if len(p.Rules) == 0 {
		return nil, &RuleError{Problem: "signed rule set holds no rules"}
	}
	if len(p.Rules) > limits.MaxRules {
		return nil, &RuleError{Problem: fmt.Sprintf("more than %d rules", limits.MaxRules)}
	}
	out := &SignedSet{Set: &Set{Rules: make([]*Rule, 0, len(p.Rules))}, Signed: s}
	for _, raw := range p.Rules {
		v, err := certlogic.FromJSON(raw)
		if err != nil {
			return nil, &RuleError{Problem: "not JSON", Err: err}
		}
		r, err := FromValue(v)
		if err != nil {
			return nil, err
		}
		out.Set.Rules = append(out.Set.Rules, r)
	}
	if len(p.ValueSets) > 0 {
		sets := make([]*schemas.ValueSet, len(p.ValueSets))
		seen := map[string]bool{}
		for i, raw := range p.ValueSets {
			if sets[i], err = schemas.ParseValueSet(raw); err != nil {
				return nil, fmt.Errorf("rules: signed rule set: %w", err)
			}
			if seen[sets[i].ID()] {
				return nil, fmt.Errorf("rules: signed rule set: %w: value set %s twice", schemas.ErrValueSet, sets[i].ID())
			}
			seen[sets[i].ID()] = true
		}
		out.ValueSets = schemas.DefaultValueSets().With(sets...)
	}
	return out, nil
}
