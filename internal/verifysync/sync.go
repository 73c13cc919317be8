// Package verifysync is the network and disk edge of verifier sync: it
// fetches the issuer's signed trust list and revocation list
// periodically, feeds them to the pure core (verifier/lists.State), keeps
// the last good copy on disk (replaced atomically) and hands each new
// state to a venue.Checker. When the issuer cannot be reached, or after a
// restart, it keeps answering from the copy on disk; the answers say how
// old the data is and, past the checker's limit, that it is stale.
//
// Files in the data folder:
//
//	trust-list.jws    the last accepted trust list, as received
//	revocations.json  {"full": JWS, "deltas": [JWS, ...]}: the last full
//	                  revocation list and the deltas applied since, replayed
//	                  in order on start
//	rule-set.jws      the last accepted signed rule set (GET /v1/rule-set),
//	                  when Config.RuleSet is set
//
// A rule set has the lists' protections: signature and chain to the root,
// no rollback to a lower sequence than the one held, expiry (an expired
// set is refused, and the one held stops accepting certificates when it
// expires: rules.WithExpiry). An issuer that publishes none (404) leaves
// the held set in place.
package verifysync

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/keys/keyfile"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/rules"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

// File names in the data folder.
const (
	TrustFile       = "trust-list.jws"
	RevocationsFile = "revocations.json"
	RuleSetFile     = "rule-set.jws"
)

// DefaultInterval is the time between two syncs.
const DefaultInterval = 5 * time.Minute

// maxDeltas is how many deltas are kept on disk before the next sync asks
// for a full list again.
const maxDeltas = 32

// Config configures a Syncer.
type Config struct {
	// Issuer is the issuer service's base URL, e.g. http://127.0.0.1:8080.
	Issuer string
	// Root is the pinned CSCA certificate. Required.
	Root *x509.Certificate
	// Dir is the data folder for the last good copies. Required.
	Dir string
	// Foreign, if set, is an EU-gateway-style trust list file's content.
	Foreign []byte
	// Interval between syncs (default DefaultInterval).
	Interval time.Duration
	// Client fetches the lists (default: 30 s timeout).
	Client *http.Client
	// Clock (default time.Now).
	Clock func() time.Time
	// Logger (default: discard).
	Logger *slog.Logger
	// RuleSet, if set, makes the Syncer also fetch the issuer's signed
	// rule set and call it with each newer one that verifies (and with
	// the copy on disk at start); when it fails, the set is not kept.
	RuleSet func(*rules.SignedSet) error
}

// Syncer keeps a venue.Checker's state in step with the issuer's lists.
// It is safe for concurrent use.
type Syncer struct {
	cfg     Config
	checker *venue.Checker

	mu       sync.Mutex // serialises syncs
	st       *lists.State
	etag     string
	trust    []byte // the last good trust list, as fetched
	bundle   revBundle
	pub      atomic.Pointer[[2][]byte] // Lists: trust and bundle, set after each change
	lastOK   time.Time
	failures int64

	ruleVer  lists.Version // of the rule set held
	ruleETag string
	ruleSet  atomic.Pointer[[]byte] // RuleSet: the rule set held, as fetched
}

// revBundle is revocations.json.
type revBundle struct {
	Full   string   `json:"full"`
	Deltas []string `json:"deltas"`
}

// New returns a Syncer for checker and loads the copies on disk, if any
// (a copy that does not verify is ignored, and logged).
func New(cfg Config, checker *venue.Checker) (*Syncer, error) {
	if cfg.Root == nil || cfg.Dir == "" || checker == nil {
		return nil, errors.New("verifysync: root, data folder and checker are required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("verifysync: %w", err)
	}
	st, err := lists.NewState(cfg.Root)
	if err != nil {
		return nil, err
	}
	if cfg.Foreign != nil {
		if st, err = st.WithForeign(cfg.Foreign); err != nil {
			return nil, err
		}
	}
	s := &Syncer{cfg: cfg, checker: checker, st: st}
	s.load()
	s.publish()
	return s, s.checker.SetState(s.st)
}

// load replays the copies on disk: each list is verified at the instant it
// was issued (when it was accepted); whether the result is still usable
// now is the checker's question.
func (s *Syncer) load() {
	if b, err := os.ReadFile(filepath.Join(s.cfg.Dir, TrustFile)); err == nil {
		if st, err := replay(s.st, b, (*lists.State).WithTrustList); err == nil {
			s.st, s.trust = st, b
		} else {
			s.cfg.Logger.Warn("trust list on disk refused", "error", err)
		}
	}
	s.loadRuleSet()
	b, err := os.ReadFile(filepath.Join(s.cfg.Dir, RevocationsFile))
	if err != nil {
		return
	}
	var bundle revBundle
	if err := json.Unmarshal(b, &bundle); err != nil {
		s.cfg.Logger.Warn("revocation list on disk refused", "error", err)
		return
	}
	st := s.st
	for _, jws := range append([]string{bundle.Full}, bundle.Deltas...) {
		if st, err = replay(st, []byte(jws), (*lists.State).WithRevocations); err != nil {
			s.cfg.Logger.Warn("revocation list on disk refused", "error", err)
			return
		}
	}
	s.st, s.bundle = st, bundle
}

// loadRuleSet applies the rule set on disk, checked at its iat (its
// expiry then ends its use through the rules check).
func (s *Syncer) loadRuleSet() {
	if s.cfg.RuleSet == nil {
		return
	}
	b, err := os.ReadFile(filepath.Join(s.cfg.Dir, RuleSetFile))
	if err != nil {
		return
	}
	iat, err := lists.PeekIssuedAt(b)
	var set *rules.SignedSet
	if err == nil {
		set, err = rules.OpenSigned(b, s.cfg.Root, iat, lists.Version{})
	}
	if err == nil {
		err = s.cfg.RuleSet(set)
	}
	if err != nil {
		s.cfg.Logger.Warn("rule set on disk refused", "error", err)
		return
	}
	s.ruleVer = set.Version()
	s.ruleSet.Store(&b)
}

func replay(st *lists.State, data []byte, with func(*lists.State, []byte, time.Time) (*lists.State, error)) (*lists.State, error) {
	iat, err := lists.PeekIssuedAt(data)
	if err != nil {
		return nil, err
	}
	return with(st, data, iat)
}

// Sync fetches both lists once, applies what verifies, and saves it. It
// returns the first error; the state keeps whatever was accepted.
func (s *Syncer) Sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Clock()
	err := errors.Join(s.syncTrust(ctx, now), s.syncRevocations(ctx, now), s.syncRuleSet(ctx, now))
	s.publish()
	if err != nil {
		s.failures++
		s.cfg.Logger.Warn("sync failed; answering from the last good lists", "error", err)
	} else {
		s.lastOK = now
	}
	return errors.Join(err, s.checker.SetState(s.st))
}

func (s *Syncer) syncTrust(ctx context.Context, now time.Time) error {
	body, etag, err := s.fetch(ctx, "/v1/trust-list", s.etag, limits.MaxTrustList)
	if err != nil || body == nil { // error, or 304
		return err
	}
	st, err := s.st.WithTrustList(body, now)
	if err != nil {
		return fmt.Errorf("trust list refused: %w", err)
	}
	if err := keyfile.WriteFile(filepath.Join(s.cfg.Dir, TrustFile), body, 0o644, keyfile.Overwrite()); err != nil {
		return err
	}
	s.st, s.etag, s.trust = st, etag, body
	return nil
}

func (s *Syncer) syncRevocations(ctx context.Context, now time.Time) error {
	since := uint64(0)
	if r := s.st.Revocations; r != nil && len(s.bundle.Deltas) < maxDeltas {
		since = r.Signed.Sequence
	}
	body, _, err := s.fetch(ctx, "/v1/revocations?since="+strconv.FormatUint(since, 10), "", lists.MaxRevocationList)
	if err != nil {
		return err
	}
	st, err := s.st.WithRevocations(body, now)
	if errors.Is(err, lists.ErrBadDelta) && since != 0 { // the issuer moved on: start again from a full list
		if body, _, err = s.fetch(ctx, "/v1/revocations?since=0", "", lists.MaxRevocationList); err != nil {
			return err
		}
		st, err = s.st.WithRevocations(body, now)
	}
	if err != nil {
		return fmt.Errorf("revocation list refused: %w", err)
	}
	bundle := s.bundle
	if st.Revocations.Since == 0 {
		bundle = revBundle{Full: string(body), Deltas: []string{}}
	} else {
		bundle.Deltas = append(append([]string(nil), bundle.Deltas...), string(body))
	}
	b, err := json.Marshal(bundle)
	if err != nil {
		return err
	}
	if err := keyfile.WriteFile(filepath.Join(s.cfg.Dir, RevocationsFile), b, 0o644, keyfile.Overwrite()); err != nil {
		return err
	}
	s.st, s.bundle = st, bundle
	return nil
}

// Lists returns the last good lists as the syncer keeps them, for the
// scan page to check and use in the browser: the trust list (a JWS) and
// the revocation bundle ({"full": JWS, "deltas": [JWS, ...]}, the form
// verifier/offline's UpdateRevocationBundle takes). Either is nil when
// none was accepted yet. It never waits for a sync in progress.
func (s *Syncer) Lists() (trust, revocations []byte) {
	if p := s.pub.Load(); p != nil {
		return p[0], p[1]
	}
	return nil, nil
}

// publish updates what Lists returns; s.mu is held (or s is new).
func (s *Syncer) publish() {
	var rev []byte
	if s.bundle.Full != "" {
		rev, _ = json.Marshal(s.bundle) // strings only: cannot fail
	}
	s.pub.Store(&[2][]byte{s.trust, rev})
}

// syncRuleSet fetches the rule set when configured; a 404 (the issuer
// publishes none) keeps the held one.
func (s *Syncer) syncRuleSet(ctx context.Context, now time.Time) error {
	if s.cfg.RuleSet == nil {
		return nil
	}
	body, etag, err := s.fetch(ctx, "/v1/rule-set", s.ruleETag, limits.MaxRuleSet)
	if errors.Is(err, errNotFound) {
		return nil
	}
	if err != nil || body == nil {
		return err
	}
	set, err := rules.OpenSigned(body, s.cfg.Root, now, s.ruleVer) // the same sequence re-signed extends its expiry
	if err == nil {
		err = s.cfg.RuleSet(set)
	}
	if err != nil {
		return fmt.Errorf("rule set refused: %w", err)
	}
	if err := keyfile.WriteFile(filepath.Join(s.cfg.Dir, RuleSetFile), body, 0o644, keyfile.Overwrite()); err != nil {
		return err
	}
	s.ruleVer, s.ruleETag = set.Version(), etag
	s.ruleSet.Store(&body)
	return nil
}

// RuleSet returns the signed rule set the syncer applied last, as
// fetched (nil when none), for the scan page to check and apply in the
// browser as the service does. It never waits for a sync in progress.
func (s *Syncer) RuleSet() []byte {
	if p := s.ruleSet.Load(); p != nil {
		return *p
	}
	return nil
}

// errNotFound: the issuer answered 404.
var errNotFound = errors.New("not published")

// fetch GETs path; body is nil on 304.
func (s *Syncer) fetch(ctx context.Context, path, etag string, limit int) (body []byte, newETag string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.Issuer+path, nil)
	if err != nil {
		return nil, "", err
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	res, err := s.cfg.Client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("issuer unreachable: %w", err)
	}
	defer res.Body.Close()
	switch res.StatusCode {
	case http.StatusNotModified:
		return nil, etag, nil
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, "", fmt.Errorf("GET %s: %w", path, errNotFound)
	default:
		return nil, "", fmt.Errorf("GET %s: status %d", path, res.StatusCode)
	}
	body, err = io.ReadAll(io.LimitReader(res.Body, int64(limit)+1))
	if err != nil {
		return nil, "", fmt.Errorf("GET %s: %w", path, err)
	}
	if len(body) > limit {
		return nil, "", fmt.Errorf("GET %s: over %d bytes", path, limit)
	}
	return body, res.Header.Get("ETag"), nil
}

// Run syncs at once and then every interval until ctx ends.
func (s *Syncer) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		_ = s.Sync(ctx) // logged; the state keeps the last good lists
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Status is what /readyz and the metrics report.
type Status struct {
	TrustAge, RevocationsAge time.Duration // since each list's iat; -1 when none
	TrustSeq, RevocationsSeq uint64
	LastSuccess              time.Time
	Failures                 int64
	Usable                   error // nil when the checker can answer
}

// Status returns the current status at now.
func (s *Syncer) Status(now time.Time) Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Status{TrustAge: -1, RevocationsAge: -1, LastSuccess: s.lastOK, Failures: s.failures, Usable: s.st.Usable(now)}
	if t := s.st.Trust; t != nil {
		out.TrustAge, out.TrustSeq = now.Sub(t.Signed.IssuedAt), t.Signed.Sequence
	}
	if r := s.st.Revocations; r != nil {
		out.RevocationsAge, out.RevocationsSeq = now.Sub(r.Signed.IssuedAt), r.Signed.Sequence
	}
	return out
}
