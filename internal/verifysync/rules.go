package verifysync

import (
	"errors"
	"log/slog"

	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier"
	"github.com/vaxcert/vaxcert/verifier/rules"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

// RulesOptions is the verifier options of a rules check: the check and,
// when the rule set carried value sets, those value sets.
func RulesOptions(check *rules.Check, vs *schemas.ValueSets) []verifier.Option {
	opts := []verifier.Option{verifier.WithCheck(check)}
	if vs != nil {
		opts = append(opts, verifier.WithValueSets(vs)) // the value sets that travelled with the signed rules
	}
	return opts
}

// Rules applies each signed rule set the sync loop accepts to a checker
// (use its Apply as Config.RuleSet): the venue's country is Country, else
// the rule set's issuer (the country that publishes it); the set's expiry
// ends its use (rules.WithExpiry: answers not_accepted, rules_expired).
type Rules struct {
	Checker         *venue.Checker
	Country, Region string
	ValueSets       *schemas.ValueSets // used when the rule set carries none; nil = the embedded ones
	Logger          *slog.Logger       // nil = none
}

// Apply builds the rules check of set and swaps it into the checker.
func (r Rules) Apply(set *rules.SignedSet) error {
	if r.Checker == nil || set == nil {
		return errors.New("verifysync: no checker or rule set")
	}
	country := r.Country
	if country == "" {
		country = set.Signed.Issuer
	}
	vs := r.ValueSets
	if set.ValueSets != nil {
		vs = set.ValueSets
	}
	if vs == nil {
		vs = schemas.DefaultValueSets()
	}
	check, err := rules.NewCheck(set.Set, country, rules.WithRegion(r.Region), rules.WithValueSets(vs),
		rules.WithExpiry(set.Signed.ExpiresAt))
	if err != nil {
		return err
	}
	if err := r.Checker.SetRules(RulesOptions(check, set.ValueSets)...); err != nil {
		return err
	}
	if r.Logger != nil {
		r.Logger.Info("rule set applied", "sequence", set.Signed.Sequence, "rules", len(set.Set.Rules), "country", country)
	}
	return nil
}
