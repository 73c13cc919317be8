package lists

import (
	"crypto/x509"
	"fmt"
	"time"
)

// State is what a verifier holds: the pinned root, the last good trust
// list and revocation list, and an optional EU-gateway-style list of
// foreign DSCs. It is immutable: each update returns a new State, so a
// sync loop swaps a pointer and verifications in flight keep theirs.
//
// This is the pure core of verifier sync (the fetching and the disk copy
// live outside the verifier library): every update is checked for
// signature and chain ([Open]), rollback ([Version.Check]), the issuer
// of the other list, and expiry.
type State struct {
	Root        *x509.Certificate
	Trust       *TrustList   // nil until a trust list was accepted
	Revocations *Revocations // nil until a revocation list was accepted
	Foreign     *TrustList   // nil, or DSCs from an EU gateway file
}

// NewState returns an empty State pinned to root, the CSCA certificate.
func NewState(root *x509.Certificate) (*State, error) {
	if root == nil || !root.IsCA {
		return nil, fail(ReasonWrongRoot, "the pinned root must be a CA certificate (the CSCA)", nil)
	}
	return &State{Root: root}, nil
}

// WithTrustList returns s with the trust list data, if it verifies at now,
// is not older than the one held and comes from the issuer of the
// revocation list held.
func (s *State) WithTrustList(data []byte, now time.Time) (*State, error) {
	l, err := ParseTrustList(data, s.Root, now)
	if err != nil {
		return nil, err
	}
	if s.Trust != nil {
		if err := VersionOf(s.Trust.Signed).Check(l.Signed); err != nil {
			return nil, err
		}
	}
	if s.Revocations != nil && s.Revocations.Signed.Issuer != l.Signed.Issuer {
		return nil, fail(ReasonMixed, fmt.Sprintf("trust list from %q, revocation list from %q", l.Signed.Issuer, s.Revocations.Signed.Issuer), nil)
	}
	out := *s
	out.Trust = l
	return &out, nil
}

// WithRevocations returns s with the revocation list data applied (a full
// list or a delta, see [Revocations.Apply]) if it verifies at now and
// comes from the issuer of the trust list held.
func (s *State) WithRevocations(data []byte, now time.Time) (*State, error) {
	r, err := ParseRevocations(data, s.Root, now)
	if err != nil {
		return nil, err
	}
	if s.Trust != nil && s.Trust.Signed.Issuer != r.Signed.Issuer {
		return nil, fail(ReasonMixed, fmt.Sprintf("trust list from %q, revocation list from %q", s.Trust.Signed.Issuer, r.Signed.Issuer), nil)
	}
	merged, err := s.Revocations.Apply(r, now)
	if err != nil {
		return nil, err
	}
	out := *s
	out.Revocations = merged
	return &out, nil
}

// WithForeign returns s with the DSCs of an EU-gateway-style file
// ([ParseGateway]) trusted besides the national list.
func (s *State) WithForeign(data []byte) (*State, error) {
	l, err := ParseGateway(data)
	if err != nil {
		return nil, err
	}
	out := *s
	out.Foreign = l
	return &out, nil
}

// Store returns the trust store to verify with: the national list, then
// the foreign DSCs.
func (s *State) Store() Stores { return Stores{s.Trust, s.Foreign} }

// Usable reports why s cannot be used to verify at now, or nil: a trust
// list must be held and not expired, and so must a revocation list (a
// verifier that cannot tell revoked certificates apart must not answer).
func (s *State) Usable(now time.Time) error {
	switch {
	case s.Trust == nil:
		return fail(ReasonMalformed, "no trust list yet", nil)
	case !now.Before(s.Trust.Signed.ExpiresAt):
		return fail(ReasonExpired, "trust list expired at "+s.Trust.Signed.ExpiresAt.Format(time.RFC3339), nil)
	case s.Revocations == nil:
		return fail(ReasonMalformed, "no revocation list yet", nil)
	case !now.Before(s.Revocations.Signed.ExpiresAt):
		return fail(ReasonExpired, "revocation list expired at "+s.Revocations.Signed.ExpiresAt.Format(time.RFC3339), nil)
	}
	return nil
}

// Age returns how old the data is at now: the time since the older of the
// two lists was issued (signed), so it cannot be made younger by the
// verifier's own clock or disk. It is 0 when a list is missing.
func (s *State) Age(now time.Time) time.Duration {
	if s.Trust == nil || s.Revocations == nil {
		return 0
	}
	oldest := s.Trust.Signed.IssuedAt
	if t := s.Revocations.Signed.IssuedAt; t.Before(oldest) {
		oldest = t
	}
	if d := now.Sub(oldest); d > 0 {
		return d
	}
	return 0
}
