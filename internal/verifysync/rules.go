package verifysync

import (
	"errors"
	"log/slog"

	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier/rules"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

// Rules applies each signed rule set the sync loop accepts to a checker
// (use its Apply as Config.RuleSet) with venue.Checker.ApplyRuleSet, the
// code the scan page and the phone app apply the same set with: the
// venue's country is Country, else the rule set's issuer (the country
// that publishes it); the set's expiry ends its use (rules.WithExpiry:
// answers not_accepted, rules_expired).
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
	if err := r.Checker.ApplyRuleSet(set, r.Country, r.Region, r.ValueSets); err != nil {
		return err
	}
	if r.Logger != nil {
		country := r.Country
		if country == "" {
			country = set.Signed.Issuer
		}
		r.Logger.Info("rule set applied", "sequence", set.Signed.Sequence, "rules", len(set.Set.Rules), "country", country)
	}
	return nil
}
