package venue

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/policy"
	"github.com/vaxcert/vaxcert/verifier/rules"
)

// DefaultStaleAfter is the data age past which answers are stale.
const DefaultStaleAfter = 24 * time.Hour

// Checker answers venue checks from a [lists.State]: verification against
// its trust lists, the revocation lookup, the vaccination policy. The
// state is swapped whole with [Checker.SetState] (a sync loop does it), so
// a Checker is safe for concurrent use.
type Checker struct {
	policy     *policy.Policy
	staleAfter time.Duration
	opts       []verifier.Option
	cur        atomic.Pointer[held]

	mu    sync.Mutex        // serialises SetState and SetRules
	extra []verifier.Option // from SetRules, after opts
}

type held struct {
	st *lists.State
	v  *verifier.Verifier
}

// NewChecker returns a Checker with no state yet (it answers
// "unavailable" until [Checker.SetState]). pol nil means
// policy.Default(); staleAfter 0 means DefaultStaleAfter; opts configure
// the verifier built for each state.
func NewChecker(pol *policy.Policy, staleAfter time.Duration, opts ...verifier.Option) (*Checker, error) {
	if pol == nil {
		pol = policy.Default()
	}
	if staleAfter < 0 {
		return nil, errors.New("venue: negative stale limit")
	}
	if staleAfter == 0 {
		staleAfter = DefaultStaleAfter
	}
	return &Checker{policy: pol, staleAfter: staleAfter, opts: opts}, nil
}

// SetState makes st the state answers come from: a verifier over its
// trust store with its revocation list as the "revocation" check.
func (c *Checker) SetState(st *lists.State) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.build(st, c.extra)
}

// SetRules replaces the options added after those of NewChecker (a
// synced rule set: its rules check and value sets) and rebuilds the
// verifier over the current state; answers in flight finish with the
// previous one. Without a state yet, they apply from the first SetState.
func (c *Checker) SetRules(opts ...verifier.Option) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h := c.cur.Load(); h != nil {
		if err := c.build(h.st, opts); err != nil {
			return err
		}
	}
	c.extra = opts
	return nil
}

func (c *Checker) build(st *lists.State, extra []verifier.Option) error {
	opts := append(append(append([]verifier.Option(nil), c.opts...), extra...), verifier.WithCheck(lists.RevocationCheck{List: st.Revocations}))
	v, err := verifier.New(st.Store(), opts...)
	if err != nil {
		return err
	}
	c.cur.Store(&held{st: st, v: v})
	return nil
}

// State returns the current state, or nil.
func (c *Checker) State() *lists.State {
	if h := c.cur.Load(); h != nil {
		return h.st
	}
	return nil
}

// StaleAfter returns the stale limit.
func (c *Checker) StaleAfter() time.Duration { return c.staleAfter }

// Check answers for an HC1 text at now. The Result is nil when no usable
// state is held; callers use it for the full payload of privileged
// clients and for metrics, never to override the answer.
func (c *Checker) Check(qr []byte, now time.Time) (Answer, *verifier.Result) {
	h := c.cur.Load()
	if h == nil || h.st.Usable(now) != nil {
		return Decide(Facts{}), nil
	}
	age := h.st.Age(now)
	res, _ := h.v.Verify(qr, now)
	f := Facts{Usable: true, Valid: res.Valid(), Reason: string(res.Reason()), DataAge: age, Stale: age > c.staleAfter}
	if res.Reason() == lists.ReasonRevoked {
		f.Valid, f.Revoked = true, true
	}
	if out, ok := rules.Refused(res); ok { // authentic, but the venue's rules refuse it
		f.Valid, f.Policy = true, out
	}
	if cert := res.Certificate(); cert != nil {
		f.DCC, f.ExpiresAt = cert.DCC, cert.ExpiresAt
		f.Policy = c.policy.Decide(cert.DCC, now)
	}
	return Decide(f), res
}

// RulesOptions is the verifier options of a rules check: the check and,
// when a signed rule set carried value sets, those value sets.
func RulesOptions(check *rules.Check, vs *schemas.ValueSets) []verifier.Option {
	opts := []verifier.Option{verifier.WithCheck(check)}
	if vs != nil {
		opts = append(opts, verifier.WithValueSets(vs)) // the value sets that travelled with the signed rules
	}
	return opts
}

// ApplyRuleSet builds the rules check of a signed rule set and makes the
// checker answer with it ([Checker.SetRules]), as every verifier does
// with the same set: the verifier service's sync, the scan page and the
// phone app (verifier/offline). The venue's country is country, else the
// rule set's issuer (the country that publishes it); region is the
// venue's region ("" for none); the set's own value sets apply, else
// fallback, else the embedded ones. The set's expiry ends its use
// (rules.WithExpiry: answers not_accepted, rules_expired).
func (c *Checker) ApplyRuleSet(set *rules.SignedSet, country, region string, fallback *schemas.ValueSets) error {
	if set == nil {
		return errors.New("venue: no rule set")
	}
	if country == "" {
		country = set.Signed.Issuer
	}
	vs := fallback
	if set.ValueSets != nil {
		vs = set.ValueSets
	}
	if vs == nil {
		vs = schemas.DefaultValueSets()
	}
	check, err := rules.NewCheck(set.Set, country, rules.WithRegion(region), rules.WithValueSets(vs),
		rules.WithExpiry(set.Signed.ExpiresAt))
	if err != nil {
		return err
	}
	return c.SetRules(RulesOptions(check, set.ValueSets)...)
}
