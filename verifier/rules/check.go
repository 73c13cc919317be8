package rules

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier"
	"github.com/vaxcert/vaxcert/verifier/certlogic"
	"github.com/vaxcert/vaxcert/verifier/policy"
)

// Reasons the rules check reports (verifier.CheckRules).
const (
	// ReasonRulesFailed: at least one selected rule failed or could not be
	// evaluated; [FailedRules] lists them.
	ReasonRulesFailed verifier.Reason = "rules_failed"
	// ReasonNoRules: the rule set has no rule for this country and
	// certificate type at this time. The check fails closed: a venue
	// configured with rules never accepts a certificate no rule judged.
	ReasonNoRules verifier.Reason = "no_rules"
	// ReasonRulesExpired: the signed rule set the check holds expired
	// before the verification time ([WithExpiry]); the venue must sync.
	ReasonRulesExpired verifier.Reason = "rules_expired"
)

// Check is the verifier's "rules" check ([verifier.CheckRules]): it
// selects the rules of a country (see [Set.Select]) and evaluates them on
// each certificate that passed the technical checks. Add it with
// verifier.WithCheck(check). It is immutable and safe for concurrent use.
type Check struct {
	set       *Set
	country   string
	region    string
	valueSets map[string]any
	expires   time.Time // zero: no expiry
}

var _ verifier.CertificateCheck = (*Check)(nil)

// CheckOption configures a Check.
type CheckOption func(*Check) error

// WithRegion selects the rules of a region too (rules without a Region
// always apply).
func WithRegion(region string) CheckOption {
	return func(c *Check) error {
		c.region = region
		return nil
	}
}

// WithValueSets sets the value sets the rules see as external.valueSets
// (default: schemas.DefaultValueSets; use the venue's newer release).
func WithValueSets(vs *schemas.ValueSets) CheckOption {
	return func(c *Check) error {
		if vs == nil {
			return errors.New("rules: nil value sets")
		}
		c.valueSets = ValueSetsData(vs)
		return nil
	}
}

// WithExpiry makes the check fail ([ReasonRulesExpired]) for any
// verification at or after t: give it a signed rule set's expiry
// (SignedSet.Signed.ExpiresAt), so that a long-running verifier never
// judges with an expired rule set (no freeze).
func WithExpiry(t time.Time) CheckOption {
	return func(c *Check) error {
		c.expires = t
		return nil
	}
}

// NewCheck returns the rules check for the venue's country (ISO 3166-1
// alpha-2, upper case) with the rules of set.
func NewCheck(set *Set, country string, opts ...CheckOption) (*Check, error) {
	if set == nil || len(set.Rules) == 0 {
		return nil, errors.New("rules: no rules to check with")
	}
	if !reCountry.MatchString(country) {
		return nil, fmt.Errorf("rules: country %q is not an upper-case ISO 3166-1 alpha-2 code", country)
	}
	c := &Check{set: set, country: country}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.valueSets == nil {
		c.valueSets = ValueSetsData(schemas.DefaultValueSets())
	}
	return c, nil
}

// Name returns verifier.CheckRules.
func (c *Check) Name() verifier.Check { return verifier.CheckRules }

// Country returns the country whose rules the check applies.
func (c *Check) Country() string { return c.country }

// Check evaluates the selected rules on cert. A failure is a
// *verifier.Error with reason [ReasonRulesFailed] (its Err a
// *[FailedError] listing the rules), [ReasonNoRules] or
// [ReasonRulesExpired].
func (c *Check) Check(cert *verifier.Certificate) error {
	if !c.expires.IsZero() && !cert.CheckedAt.Before(c.expires) {
		return &verifier.Error{Check: verifier.CheckRules, Reason: ReasonRulesExpired,
			Detail: "the signed rule set expired at " + c.expires.UTC().Format(time.RFC3339)}
	}
	rep, err := c.Evaluate(cert)
	if err != nil {
		return err
	}
	if len(rep.Results) == 0 {
		return &verifier.Error{Check: verifier.CheckRules, Reason: ReasonNoRules,
			Detail: fmt.Sprintf("no rule of %s applies to a %s certificate at this time", c.country, cert.Type)}
	}
	failed := rep.Failed()
	if len(failed) == 0 {
		return nil
	}
	fe := &FailedError{}
	ids := make([]string, len(failed))
	for i, f := range failed {
		ids[i] = f.Rule.Identifier
		fe.Rules = append(fe.Rules, FailedRule{
			Identifier: f.Rule.Identifier, Version: f.Rule.Version, Outcome: f.Outcome,
			Description: Message{VI: f.Rule.Describe("vi"), EN: f.Rule.Describe("en")},
		})
	}
	return &verifier.Error{Check: verifier.CheckRules, Reason: ReasonRulesFailed,
		Detail: "rules not met: " + strings.Join(ids, ", "), Err: fe}
}

// Evaluate selects and evaluates the rules for cert without judging the
// report (for callers that want every rule's outcome).
func (c *Check) Evaluate(cert *verifier.Certificate) (*Report, error) {
	var payload any
	if cert.DCC != nil {
		payload = PayloadFromDCC(cert.DCC)
	} else {
		raw, err := cert.PayloadJSON()
		if err != nil {
			return nil, fmt.Errorf("rules: failed to render the payload: %w", err)
		}
		if payload, err = certlogic.FromJSON(raw); err != nil {
			return nil, fmt.Errorf("rules: failed to read the payload: %w", err)
		}
	}
	sel := c.set.Select(Selection{Country: c.country, IssuerCountry: cert.Issuer, Region: c.region,
		CertType: CertType(cert.Type), At: cert.CheckedAt})
	data := Data(payload, External{
		ValueSets: c.valueSets, ValidationClock: cert.CheckedAt, CountryCode: c.country, Region: c.region,
		Exp: cert.ExpiresAt, Iat: cert.IssuedAt, KID: cert.KID,
	})
	return sel.Evaluate(data), nil
}

// Message is a text in Vietnamese and English ("" where the rule has no
// description in that language).
type Message struct {
	VI string `json:"vi"`
	EN string `json:"en"`
}

// FailedRule is one rule a certificate did not meet.
type FailedRule struct {
	Identifier  string  `json:"identifier"`
	Version     string  `json:"version"`
	Outcome     Outcome `json:"outcome"` // fail or open
	Description Message `json:"description"`
}

// FailedError lists the rules a certificate did not meet. It is the Err of
// the rules check's *verifier.Error.
type FailedError struct {
	Rules []FailedRule
}

func (e *FailedError) Error() string {
	ids := make([]string, len(e.Rules))
	for i, r := range e.Rules {
		ids[i] = r.Identifier
	}
	return "rules: not met: " + strings.Join(ids, ", ")
}

// FailedRules returns the rules the certificate of res did not meet (nil
// when the rules check passed, was skipped or was not configured).
func FailedRules(res *verifier.Result) []FailedRule {
	o, ok := res.Outcome(verifier.CheckRules)
	if !ok || o.Err == nil {
		return nil
	}
	var fe *FailedError
	if errors.As(o.Err, &fe) {
		return fe.Rules
	}
	return nil
}

// Refused reports whether res failed only because of the venue's rules
// (the technical checks and the revocation check passed: the rules check
// runs only then), with the outcome a venue answer gives it: not_accepted,
// with the rules check's reason, which package policy also knows
// (policy.ReasonRulesFailed, ReasonNoRules, ReasonRulesExpired).
func Refused(res *verifier.Result) (policy.Outcome, bool) {
	switch r := res.Reason(); r {
	case ReasonRulesFailed, ReasonNoRules, ReasonRulesExpired:
		return policy.Outcome{Decision: policy.NotAccepted, Reason: policy.Reason(r)}, true
	}
	return policy.Outcome{}, false
}
