package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vaxcert/vaxcert/schemas"
)

// Decision is what a certificate means at a venue. The values are a public
// contract: they appear in the venue answer and in JSON output.
type Decision string

// Decisions.
const (
	Full        Decision = "full"         // complete primary series, counted
	Partial     Decision = "partial"      // series not complete, or complete but too recent
	Booster     Decision = "booster"      // a dose beyond the primary series
	Recovered   Decision = "recovered"    // recovery certificate inside its window
	Tested      Decision = "tested"       // negative test inside its window
	NotAccepted Decision = "not_accepted" // anything else
)

// Accepted reports whether d admits the holder at a venue that requires
// vaccination, recovery or a negative test: full, booster, recovered or
// tested. Partial and not_accepted do not.
func (d Decision) Accepted() bool {
	return d == Full || d == Booster || d == Recovered || d == Tested
}

// Well-known codes.
const (
	DiseaseCOVID19 = "840539006"  // tg: COVID-19
	TestNAAT       = "LP6464-4"   // tt: nucleic acid amplification test
	TestRAT        = "LP217198-3" // tt: rapid antigen test
	ResultNegative = "260415000"  // tr: not detected
)

// Config is the vaccination policy. The zero value is not usable: start
// from [DefaultConfig]. It reads from JSON with [ParseConfig] (snake_case
// member names, as in the struct tags).
type Config struct {
	// AcceptedProducts lists the accepted vaccine products (v[0].mp). Nil
	// means every product listed in the value set, active or retired.
	AcceptedProducts []string `json:"accepted_products,omitempty"`
	// OneDoseProducts lists the products whose primary series is one dose.
	// A second dose of them is a booster however it is encoded.
	OneDoseProducts []string `json:"one_dose_products"`
	// PrimaryWaitDays is how many days after the last dose of a primary
	// series it counts as full (default 14).
	PrimaryWaitDays int `json:"primary_wait_days"`
	// PrimaryMaxAgeDays is how many days after the last dose a primary
	// series stops counting (default 270); 0 means no limit.
	PrimaryMaxAgeDays int `json:"primary_max_age_days"`
	// BoosterWaitDays is how many days after a booster dose it counts
	// (default 0).
	BoosterWaitDays int `json:"booster_wait_days"`
	// BoosterMaxAgeDays is how many days after a booster dose it stops
	// counting; 0 (the default) means no limit.
	BoosterMaxAgeDays int `json:"booster_max_age_days"`
	// TestMaxAgeHours maps an accepted test type (t[0].tt) to how many
	// hours after sample collection a negative result counts. Types not
	// listed are not accepted.
	TestMaxAgeHours map[string]int `json:"test_max_age_hours"`
	// RecoveryMaxAgeDays is how many days after the first positive test a
	// recovery certificate stops counting, whatever its du says (default
	// 180); 0 means only du applies.
	RecoveryMaxAgeDays int `json:"recovery_max_age_days"`
}

// Default values.
const (
	DefaultPrimaryWaitDays    = 14
	DefaultPrimaryMaxAgeDays  = 270
	DefaultRecoveryMaxAgeDays = 180
	DefaultNAATMaxAgeHours    = 72
	DefaultRATMaxAgeHours     = 24
)

// Limits on configured values: ten years, in days and hours.
const (
	maxDays  = 3660
	maxHours = maxDays * 24
)

// DefaultConfig returns the safe defaults described in the package doc.
func DefaultConfig() Config {
	return Config{
		OneDoseProducts:    []string{"EU/1/20/1525", "Convidecia", "Sputnik-Light"},
		PrimaryWaitDays:    DefaultPrimaryWaitDays,
		PrimaryMaxAgeDays:  DefaultPrimaryMaxAgeDays,
		TestMaxAgeHours:    map[string]int{TestNAAT: DefaultNAATMaxAgeHours, TestRAT: DefaultRATMaxAgeHours},
		RecoveryMaxAgeDays: DefaultRecoveryMaxAgeDays,
	}
}

// ErrConfig is matched by every error [New] and [ParseConfig] return.
var ErrConfig = errors.New("policy: invalid configuration")

// ParseConfig reads a Config from JSON: members missing from data keep
// their default; unknown members, trailing data and out-of-range values
// are errors matching [ErrConfig].
func ParseConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	c.TestMaxAgeHours = nil // a configured map replaces the default, not merges
	if len(data) > maxConfig {
		return Config{}, fmt.Errorf("%w: larger than %d bytes", ErrConfig, maxConfig)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if dec.More() {
		return Config{}, fmt.Errorf("%w: trailing data", ErrConfig)
	}
	if c.TestMaxAgeHours == nil {
		c.TestMaxAgeHours = DefaultConfig().TestMaxAgeHours
	}
	return c, c.validate()
}

// maxConfig bounds a policy file: a list of every product fits in 4 KiB.
const maxConfig = 64 << 10

func (c Config) validate() error {
	days := map[string]int{
		"primary_wait_days": c.PrimaryWaitDays, "primary_max_age_days": c.PrimaryMaxAgeDays,
		"booster_wait_days": c.BoosterWaitDays, "booster_max_age_days": c.BoosterMaxAgeDays,
		"recovery_max_age_days": c.RecoveryMaxAgeDays,
	}
	for name, d := range days {
		if d < 0 || d > maxDays {
			return fmt.Errorf("%w: %s %d outside [0, %d]", ErrConfig, name, d, maxDays)
		}
	}
	if c.PrimaryMaxAgeDays != 0 && c.PrimaryMaxAgeDays <= c.PrimaryWaitDays {
		return fmt.Errorf("%w: primary_max_age_days must exceed primary_wait_days", ErrConfig)
	}
	if c.BoosterMaxAgeDays != 0 && c.BoosterMaxAgeDays <= c.BoosterWaitDays {
		return fmt.Errorf("%w: booster_max_age_days must exceed booster_wait_days", ErrConfig)
	}
	for tt, h := range c.TestMaxAgeHours {
		if h <= 0 || h > maxHours {
			return fmt.Errorf("%w: test_max_age_hours[%q] %d outside [1, %d]", ErrConfig, tt, h, maxHours)
		}
	}
	if c.AcceptedProducts != nil && len(c.AcceptedProducts) == 0 {
		return fmt.Errorf("%w: accepted_products is empty (omit it to accept every product)", ErrConfig)
	}
	return nil
}

// Policy decides certificates. It is immutable and safe for concurrent use.
type Policy struct {
	cfg      Config
	vs       *schemas.ValueSets
	accepted map[string]bool // nil: every product in vs
	oneDose  map[string]bool
}

// Option configures a Policy.
type Option func(*Policy) error

// WithValueSets sets the value sets that define "every product" when
// Config.AcceptedProducts is nil (default: [schemas.DefaultValueSets]).
func WithValueSets(vs *schemas.ValueSets) Option {
	return func(p *Policy) error {
		if vs == nil {
			return fmt.Errorf("%w: nil value sets", ErrConfig)
		}
		p.vs = vs
		return nil
	}
}

// New returns a Policy for c, or an error matching [ErrConfig].
func New(c Config, opts ...Option) (*Policy, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	p := &Policy{cfg: c, vs: schemas.DefaultValueSets()}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, err
		}
	}
	if c.AcceptedProducts != nil {
		p.accepted = set(c.AcceptedProducts)
	}
	p.oneDose = set(c.OneDoseProducts)
	p.cfg.TestMaxAgeHours = cloneMap(c.TestMaxAgeHours)
	p.cfg.AcceptedProducts = slices.Clone(c.AcceptedProducts)
	p.cfg.OneDoseProducts = slices.Clone(c.OneDoseProducts)
	return p, nil
}

// Default returns the policy of [DefaultConfig].
func Default() *Policy {
	p, err := New(DefaultConfig())
	if err != nil {
		panic(err) // DefaultConfig is valid; TestDefault checks it
	}
	return p
}

// Config returns a copy of the policy's configuration.
func (p *Policy) Config() Config {
	c := p.cfg
	c.TestMaxAgeHours = cloneMap(c.TestMaxAgeHours)
	c.AcceptedProducts = slices.Clone(c.AcceptedProducts)
	c.OneDoseProducts = slices.Clone(c.OneDoseProducts)
	return c
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func cloneMap(m map[string]int) map[string]int {
	if m == nil {
		return nil
	}
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Outcome is a decision with its reason and the window it holds in.
type Outcome struct {
	Decision Decision
	// Reason says why; ReasonNone for full, booster, recovered and tested.
	Reason Reason
	// ValidFrom is when the decision started (or, for partial with
	// ReasonTooRecent, when the series will count as full); zero when
	// unknown.
	ValidFrom time.Time
	// ValidUntil is when the decision stops holding under this policy;
	// zero means no limit from the policy. The caller caps it with the
	// certificate's expiry.
	ValidUntil time.Time
}

const day = 24 * time.Hour

// Decide returns the decision for d at the instant at. d must come from a
// certificate the verifier found valid; a nil d is not_accepted.
func (p *Policy) Decide(d *schemas.DCC, at time.Time) Outcome {
	if d == nil {
		return Outcome{Decision: NotAccepted, Reason: ReasonMalformed}
	}
	switch {
	case len(d.V) == 1 && d.T == nil && d.R == nil:
		return p.vaccination(&d.V[0], at)
	case len(d.T) == 1 && d.V == nil && d.R == nil:
		return p.test(&d.T[0], at)
	case len(d.R) == 1 && d.V == nil && d.T == nil:
		return p.recovery(&d.R[0], at)
	}
	return Outcome{Decision: NotAccepted, Reason: ReasonMalformed}
}

func (p *Policy) productAccepted(mp string) bool {
	if p.accepted != nil {
		return p.accepted[mp]
	}
	return p.vs.Has(schemas.SetVaccineProduct, mp)
}

func (p *Policy) vaccination(v *schemas.Vaccination, at time.Time) Outcome {
	no := func(r Reason) Outcome { return Outcome{Decision: NotAccepted, Reason: r} }
	if v.TG != DiseaseCOVID19 {
		return no(ReasonDisease)
	}
	if !p.productAccepted(v.MP) {
		return no(ReasonProduct)
	}
	dt, ok := parseDate(v.DT)
	if !ok || v.DN < 1 || v.SD < 1 {
		return no(ReasonMalformed)
	}
	if at.Before(dt) {
		return no(ReasonFuture)
	}
	booster := v.DN > v.SD || (v.DN == v.SD && v.DN >= 3) || (v.DN >= 2 && p.oneDose[v.MP])
	switch {
	case booster:
		return window(Booster, dt, p.cfg.BoosterWaitDays, p.cfg.BoosterMaxAgeDays, at, ReasonBoosterExpired)
	case v.DN < v.SD:
		return Outcome{Decision: Partial, Reason: ReasonIncomplete, ValidFrom: dt}
	default:
		return window(Full, dt, p.cfg.PrimaryWaitDays, p.cfg.PrimaryMaxAgeDays, at, ReasonPrimaryExpired)
	}
}

// window places at relative to the dose date dt: before dt+wait a complete
// series is partial (too recent), after dt+maxAge (when maxAge > 0) it is
// not accepted with reason expired.
func window(d Decision, dt time.Time, wait, maxAge int, at time.Time, expired Reason) Outcome {
	from := dt.Add(time.Duration(wait) * day)
	var until time.Time
	if maxAge > 0 {
		until = dt.Add(time.Duration(maxAge) * day)
	}
	switch {
	case at.Before(from):
		return Outcome{Decision: Partial, Reason: ReasonTooRecent, ValidFrom: from, ValidUntil: until}
	case !until.IsZero() && !at.Before(until):
		return Outcome{Decision: NotAccepted, Reason: expired, ValidFrom: from, ValidUntil: until}
	}
	return Outcome{Decision: d, ValidFrom: from, ValidUntil: until}
}

func (p *Policy) test(t *schemas.Test, at time.Time) Outcome {
	no := func(r Reason) Outcome { return Outcome{Decision: NotAccepted, Reason: r} }
	if t.TG != DiseaseCOVID19 {
		return no(ReasonDisease)
	}
	hours, ok := p.cfg.TestMaxAgeHours[t.TT]
	if !ok {
		return no(ReasonTestType)
	}
	if t.TR != ResultNegative {
		return no(ReasonTestPositive)
	}
	sc, err := time.Parse(time.RFC3339Nano, t.SC)
	if err != nil {
		return no(ReasonMalformed)
	}
	if at.Before(sc) {
		return no(ReasonFuture)
	}
	until := sc.Add(time.Duration(hours) * time.Hour)
	if !at.Before(until) {
		return Outcome{Decision: NotAccepted, Reason: ReasonTestExpired, ValidFrom: sc, ValidUntil: until}
	}
	return Outcome{Decision: Tested, ValidFrom: sc, ValidUntil: until}
}

func (p *Policy) recovery(r *schemas.Recovery, at time.Time) Outcome {
	no := func(r Reason) Outcome { return Outcome{Decision: NotAccepted, Reason: r} }
	if r.TG != DiseaseCOVID19 {
		return no(ReasonDisease)
	}
	fr, ok1 := parseDate(r.FR)
	df, ok2 := parseDate(r.DF)
	du, ok3 := parseDate(r.DU)
	if !ok1 || !ok2 || !ok3 || du.Before(df) {
		return no(ReasonMalformed)
	}
	if at.Before(fr) {
		return no(ReasonFuture)
	}
	// du is the last valid day: the certificate holds until the end of it.
	until := du.Add(day)
	if p.cfg.RecoveryMaxAgeDays > 0 {
		if capAt := fr.Add(time.Duration(p.cfg.RecoveryMaxAgeDays) * day); capAt.Before(until) {
			until = capAt
		}
	}
	switch {
	case at.Before(df):
		return Outcome{Decision: NotAccepted, Reason: ReasonRecoveryNotYet, ValidFrom: df, ValidUntil: until}
	case !at.Before(until):
		return Outcome{Decision: NotAccepted, Reason: ReasonRecoveryExpired, ValidFrom: df, ValidUntil: until}
	}
	return Outcome{Decision: Recovered, ValidFrom: df, ValidUntil: until}
}

// parseDate reads a full date YYYY-MM-DD as midnight UTC.
func parseDate(s string) (time.Time, bool) {
	if len(s) != len("2006-01-02") {
		return time.Time{}, false
	}
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil
}
