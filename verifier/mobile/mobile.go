// Package mobile is the gomobile facade of the offline verifier for the
// e-health app: `gomobile bind` (make mobile) turns it into an Android
// library (Java/Kotlin) and an iOS framework (Objective-C/Swift).
//
// gomobile binds only some Go types, so the facade uses nothing but
// string, []byte, int64, bool, error and its own struct pointers: no
// variadic options, maps, slices of structs or time.Time (times are Unix
// seconds). Everything else is verifier/offline, the code the scan page
// and the verifier service answer with, so the app cannot disagree with
// them.
//
//	v, err := mobile.NewVerifier(cscaPEM, trustListJWS, revocationsJWS, "", 0, now)
//	r := v.Verify(qrText, now)          // r.Decision, r.Valid, r.MessageVI, r.HolderName, ...
//	err = v.Update(newTrust, newRev, now) // from the app's sync; nil keeps a list
//	err = v.UpdateRuleSet(ruleSetJWS, "", "") // the venue's business rules, as the service applies them
//
// Lists are the signed documents of verifier/lists, fetched by the app
// from GET /v1/trust-list and GET /v1/revocations (or bundled for air-gapped
// use); they are checked against the pinned root before they are used. The
// signed rule set (GET /v1/rule-set; verifier/rules) is too: an app that
// applies the one its verifier service applies decides as the service does.
package mobile

import (
	"encoding/json"
	"time"

	"github.com/vaxcert/vaxcert/verifier/offline"
	"github.com/vaxcert/vaxcert/verifier/policy"
)

// Verifier verifies QR texts offline. It is safe for concurrent use.
type Verifier struct {
	s *offline.Session
}

// NewVerifier pins root (the CSCA certificate, PEM or DER) and loads the
// signed trust list and revocation list, checked against it at unixSeconds.
// policyJSON is a vaccination policy (verifier/policy's JSON; empty means
// the defaults); staleAfterSeconds is the data age past which answers say
// the data is stale (0 means 24 hours).
func NewVerifier(root, trustList, revocations []byte, policyJSON string, staleAfterSeconds, unixSeconds int64) (*Verifier, error) {
	opts := offline.Options{StaleAfter: time.Duration(staleAfterSeconds) * time.Second}
	if policyJSON != "" {
		cfg, err := policy.ParseConfig([]byte(policyJSON))
		if err != nil {
			return nil, err
		}
		if opts.Policy, err = policy.New(cfg); err != nil {
			return nil, err
		}
	}
	s, err := offline.NewSession(root, trustList, revocations, time.Unix(unixSeconds, 0), opts)
	if err != nil {
		return nil, err
	}
	return &Verifier{s: s}, nil
}

// Update checks new lists against the pinned root at unixSeconds and uses
// them from then on; an empty list keeps the one held (a revocation list
// may be a delta). On error the verifier keeps what it had: an older list
// (rollback), another root's list or an expired one is refused.
func (v *Verifier) Update(trustList, revocations []byte, unixSeconds int64) error {
	if len(trustList) == 0 {
		trustList = nil
	}
	if len(revocations) == 0 {
		revocations = nil
	}
	return v.s.Update(trustList, revocations, time.Unix(unixSeconds, 0))
}

// UpdateRuleSet applies a signed rule set (the bytes of GET /v1/rule-set)
// as the verifier service applies it: country is the venue's country
// ("" means the rule set's issuer, the service's default), region the
// venue's region ("" for none). It is checked against the pinned root;
// an older set than the one applied is refused, and an expired one makes
// answers not_accepted (rules_expired) until a newer one comes. On error
// the verifier keeps what it had.
func (v *Verifier) UpdateRuleSet(ruleSet []byte, country, region string) error {
	return v.s.UpdateRuleSet(ruleSet, country, region)
}

// Result is the answer for one QR code: the verifier service's venue
// answer, flattened for gomobile.
type Result struct {
	// Decision: full, partial, booster, recovered, tested, not_accepted
	// (the vaccination policy on a valid certificate), invalid, revoked,
	// or unavailable (no usable lists: sync first).
	Decision string
	// Valid is true only for an accepted decision on fresh data.
	Valid bool
	// Reason is a stable code for apps to switch on ("" when accepted):
	// the verifier's (expired, bad_signature, ...), the policy's
	// (incomplete_series, ...), revoked, stale_data or lists_unavailable.
	// Show people MessageVI/MessageEN, not the code.
	Reason               string
	MessageVI, MessageEN string
	// HolderName and HolderBirthDate (YYYY-MM-DD, or YYYY-MM, YYYY) are
	// set for a certificate that verified, to compare with an ID card.
	HolderName, HolderBirthDate string
	// ValidUntil is when an accepted answer stops holding (Unix seconds;
	// 0 when not accepted).
	ValidUntil int64
	// DataAgeSeconds is the age of the lists; Stale is true past the
	// limit (then Valid is false: sync before admitting).
	DataAgeSeconds int64
	Stale          bool
	// PayloadJSON is the full certificate (the eu_dcc_v1 object as JSON)
	// only when every check passed, revocation included; "" otherwise.
	PayloadJSON string
	// AnswerJSON is the venue answer as the verifier service's POST
	// /v1/verify returns it.
	AnswerJSON string
}

// Verify checks a QR text (the HC1:… string) at unixSeconds.
func (v *Verifier) Verify(qr string, unixSeconds int64) *Result {
	a, res := v.s.Check([]byte(qr), time.Unix(unixSeconds, 0))
	r := &Result{Decision: a.Decision, Valid: a.Valid, Reason: a.Reason, MessageVI: a.Message.VI, MessageEN: a.Message.EN,
		DataAgeSeconds: a.DataAgeSeconds, Stale: a.Stale}
	if a.Holder != nil {
		r.HolderName, r.HolderBirthDate = a.Holder.Name, a.Holder.BirthDate
	}
	if a.ValidUntil != nil {
		r.ValidUntil = a.ValidUntil.Unix()
	}
	if b, err := json.Marshal(a); err == nil {
		r.AnswerJSON = string(b)
	}
	if c := res.Certificate(); c != nil { // nil unless every check passed
		if p, err := c.PayloadJSON(); err == nil {
			r.PayloadJSON = string(p)
		}
	}
	return r
}

// Info describes the lists a verifier holds.
type Info struct {
	Usable                            bool
	Problem                           string // why not usable
	TrustSequence, RevocationSequence int64
	RuleSetSequence                   int64 // 0: no rule set applied
	DataAgeSeconds                    int64
	Stale                             bool
	// ExpiresAt is when the first list expires (Unix seconds): sync
	// before then, or answers become "unavailable".
	ExpiresAt int64
}

// Info reports on the lists held at unixSeconds.
func (v *Verifier) Info(unixSeconds int64) *Info {
	in := v.s.Info(time.Unix(unixSeconds, 0))
	return &Info{Usable: in.Usable, Problem: in.Problem, TrustSequence: int64(in.TrustSequence),
		RevocationSequence: int64(in.RevocationSequence), RuleSetSequence: int64(in.RuleSetSequence), DataAgeSeconds: in.DataAgeSeconds, Stale: in.Stale,
		ExpiresAt: in.ExpiresAt}
}
