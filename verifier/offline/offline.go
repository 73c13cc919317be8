// Package offline is the verifier a browser (WebAssembly, cmd/vaxcert-wasm)
// or a phone app (gomobile, verifier/mobile) embeds: bytes in, the venue
// answer out. It holds the pinned root (the CSCA certificate) and a
// [venue.Checker]; new signed lists are checked against the root
// ([lists.State]: signature, chain, rollback, expiry) before they are
// used, so the answer is the one the verifier service gives for the same
// lists: the same code builds it.
//
// Like the rest of the verifier library it does no I/O: callers fetch the
// lists and pass bytes. A Session is safe for concurrent use.
package offline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/verifier"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/policy"
	"github.com/vaxcert/vaxcert/verifier/rules"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

// Options configure a Session. The zero value means the defaults.
type Options struct {
	// StaleAfter is the data age past which answers are stale (default
	// venue.DefaultStaleAfter).
	StaleAfter time.Duration
	// Policy decides which certificates are accepted (default
	// policy.Default()).
	Policy *policy.Policy
	// Verifier options, e.g. verifier.WithClockSkew.
	Verifier []verifier.Option
}

// ErrRoot is returned by NewSession for a root that is not one CA
// certificate (PEM or DER).
var ErrRoot = errors.New("offline: the pinned root must be one CA certificate (the CSCA, PEM or DER)")

// Session verifies QR texts against signed lists checked with a pinned
// root.
type Session struct {
	update  sync.Mutex // serialises the updates; Verify never waits for them
	checker *venue.Checker
	ruleVer lists.Version    // of the rule set applied; zero: none
	held    revocationBundle // the revocation documents applied (RevocationBundle)
}

// NewSession pins root (the CSCA certificate, PEM or DER), checks the
// trust list and the revocation list (the JWS documents of
// verifier/lists) against it at now, and returns a session that answers
// from them.
func NewSession(root, trustList, revocations []byte, now time.Time, opts Options) (*Session, error) {
	certs, err := keys.ParseCertificates(root)
	if err != nil || len(certs) != 1 {
		return nil, fmt.Errorf("%w (%v)", ErrRoot, err)
	}
	st, err := lists.NewState(certs[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRoot, err)
	}
	c, err := venue.NewChecker(opts.Policy, opts.StaleAfter, opts.Verifier...)
	if err != nil {
		return nil, err
	}
	if err := c.SetState(st); err != nil {
		return nil, err
	}
	s := &Session{checker: c}
	if err := s.Update(trustList, revocations, now); err != nil {
		return nil, err
	}
	return s, nil
}

// Update checks new lists against the pinned root at now and uses them
// from then on; nil keeps the list held. A revocation list may be a delta
// of the one held. On error the session keeps what it had.
func (s *Session) Update(trustList, revocations []byte, now time.Time) error {
	s.update.Lock()
	defer s.update.Unlock()
	st := s.checker.State()
	var err error
	if trustList != nil {
		if st, err = st.WithTrustList(trustList, now); err != nil {
			return err
		}
	}
	if revocations != nil {
		if st, err = st.WithRevocations(revocations, now); err != nil {
			return err
		}
	}
	if err := s.checker.SetState(st); err != nil {
		return err
	}
	if revocations != nil {
		if st.Revocations.Since == 0 { // a full list
			s.held = revocationBundle{Full: string(revocations), Deltas: []string{}}
		} else {
			s.held.Deltas = append(slices.Clip(s.held.Deltas), string(revocations))
		}
	}
	return nil
}

// RevocationBundle returns the revocation documents the session applied,
// as UpdateRevocationBundle takes them: the last full list and the deltas
// applied since, {"full": JWS, "deltas": [JWS, ...]}; nil when none is
// held. A caller keeps it to start again from it (the scan page keeps it
// in Cache Storage), and then needs only the deltas that follow
// (Info.RevocationSequence).
func (s *Session) RevocationBundle() []byte {
	s.update.Lock()
	defer s.update.Unlock()
	if s.held.Full == "" {
		return nil
	}
	b, _ := json.Marshal(s.held) // strings only: cannot fail
	return b
}

// UpdateRuleSet applies a signed rule set (rules.KindRuleSet, GET
// /v1/rule-set of the issuer or the verifier service) as the verifier
// service applies the one it syncs (venue.Checker.ApplyRuleSet): the
// venue's country is country, else the set's issuer; region is the
// venue's region ("" for none). The set is checked against the pinned
// root at the instant it was issued, as the service checks the copy it
// keeps on disk: a set that expired since still applies, and its expiry
// ends its use (answers not_accepted, rules_expired) instead of the
// rules silently disappearing. A set older than the one applied
// (rollback) is refused. On error the session keeps what it had.
func (s *Session) UpdateRuleSet(ruleSet []byte, country, region string) error {
	iat, err := lists.PeekIssuedAt(ruleSet)
	if err != nil {
		return err
	}
	s.update.Lock()
	defer s.update.Unlock()
	set, err := rules.OpenSigned(ruleSet, s.checker.State().Root, iat, s.ruleVer)
	if err != nil {
		return err
	}
	if err := s.checker.ApplyRuleSet(set, country, region, nil); err != nil {
		return err
	}
	s.ruleVer = set.Version()
	return nil
}

// Verify checks a QR text at now and returns the venue answer.
func (s *Session) Verify(qr []byte, now time.Time) venue.Answer {
	a, _ := s.checker.Check(qr, now)
	return a
}

// Check is Verify that also returns the verifier's result (nil when the
// session holds no usable lists), for callers that show the payload of a
// valid certificate. It never overrides the answer.
func (s *Session) Check(qr []byte, now time.Time) (venue.Answer, *verifier.Result) {
	return s.checker.Check(qr, now)
}

// Info describes the lists a session holds.
type Info struct {
	// Usable is false when the session cannot answer at the time asked
	// (a list missing or expired); Problem then says why.
	Usable  bool   `json:"usable"`
	Problem string `json:"problem,omitempty"`
	// TrustSequence and RevocationSequence are the signed sequence
	// numbers (0: none held).
	TrustSequence      uint64 `json:"trust_sequence"`
	RevocationSequence uint64 `json:"revocation_sequence"`
	// RevocationDeltas is how many deltas were applied since the last
	// full revocation list (RevocationBundle holds them all).
	RevocationDeltas int `json:"revocation_deltas"`
	// RuleSetSequence is that of the signed rule set applied (0: none).
	RuleSetSequence uint64 `json:"rule_set_sequence"`
	// DataAgeSeconds is the age of the older list, from its signed issue
	// time; Stale is true past the session's limit.
	DataAgeSeconds int64 `json:"data_age_seconds"`
	Stale          bool  `json:"stale"`
	// ExpiresAt is when the first of the two lists expires (Unix
	// seconds, 0 when a list is missing): the session answers
	// "unavailable" from then on until it gets new lists.
	ExpiresAt int64 `json:"expires_at"`
}

// Info reports on the lists held, at now.
func (s *Session) Info(now time.Time) Info {
	st := s.checker.State()
	s.update.Lock()
	rs, deltas := s.ruleVer.Sequence, len(s.held.Deltas)
	s.update.Unlock()
	age := st.Age(now)
	in := Info{Usable: true, DataAgeSeconds: int64(age / time.Second), Stale: age > s.checker.StaleAfter(), RuleSetSequence: rs,
		RevocationDeltas: deltas}
	if err := st.Usable(now); err != nil {
		in.Usable, in.Problem = false, err.Error()
	}
	if st.Trust != nil {
		in.TrustSequence = st.Trust.Signed.Sequence
	}
	if st.Revocations != nil {
		in.RevocationSequence = st.Revocations.Signed.Sequence
	}
	if st.Trust != nil && st.Revocations != nil {
		in.ExpiresAt = min(st.Trust.Signed.ExpiresAt.Unix(), st.Revocations.Signed.ExpiresAt.Unix())
	}
	return in
}

// MaxRevocationBundle bounds a revocation bundle: a full list and its
// deltas.
const MaxRevocationBundle = 2 * lists.MaxRevocationList

// revocationBundle is how the verifier service keeps its revocation list:
// the last full list and the deltas that followed it (verifysync's
// revocations.json), each a signed JWS.
type revocationBundle struct {
	Full   string   `json:"full"`
	Deltas []string `json:"deltas"`
}

// ErrBundle is returned by UpdateRevocationBundle for a bundle that is not
// one JSON object {"full": JWS, "deltas": [JWS, ...]}.
var ErrBundle = errors.New("offline: malformed revocation bundle")

// UpdateRevocationBundle takes the revocation list as the verifier service
// serves it: a full list and the deltas that followed it. Each is checked
// against the pinned root at the time it was issued (an old full list
// brought up to date by recent deltas is current; the verifier service
// replays its own copy the same way), the deltas must follow one another,
// and the result must be usable at now and not older than the list held.
// On error the session keeps what it had.
func (s *Session) UpdateRevocationBundle(bundle []byte, now time.Time) error {
	if len(bundle) > MaxRevocationBundle {
		return fmt.Errorf("%w: larger than %d bytes", ErrBundle, MaxRevocationBundle)
	}
	var b revocationBundle
	dec := json.NewDecoder(bytes.NewReader(bundle))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil || b.Full == "" || dec.More() {
		return fmt.Errorf("%w (%v)", ErrBundle, err)
	}
	s.update.Lock()
	defer s.update.Unlock()
	held := s.checker.State()
	st := *held
	st.Revocations = nil // the bundle's full list replaces the list held
	next := &st
	for _, jws := range append([]string{b.Full}, b.Deltas...) {
		iat, err := lists.PeekIssuedAt([]byte(jws))
		if err != nil {
			return err
		}
		if next, err = next.WithRevocations([]byte(jws), iat); err != nil {
			return err
		}
	}
	if err := next.Usable(now); err != nil {
		return err
	}
	if h := held.Revocations; h != nil && next.Revocations.Signed.Sequence < h.Signed.Sequence {
		return fmt.Errorf("%w: sequence %d, held %d", lists.ErrRollback, next.Revocations.Signed.Sequence, h.Signed.Sequence)
	}
	if err := s.checker.SetState(next); err != nil {
		return err
	}
	s.held = revocationBundle{Full: b.Full, Deltas: append([]string{}, b.Deltas...)}
	return nil
}
