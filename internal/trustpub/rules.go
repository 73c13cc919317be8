package trustpub

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/verifier/lists"
	"github.com/vaxcert/vaxcert/verifier/rules"
)

// RuleSetStateFile keeps the published rule set's sequence and content
// digest (like StateFile for the trust list).
const RuleSetStateFile = "ruleset.json"

// ErrNoRuleSet: no rule set is configured for publishing.
var ErrNoRuleSet = errors.New("trustpub: no rule set is published")

// RuleFiles reads the rules to publish and the value-set files they are
// to see, each file as it is (the caller validates them).
type RuleFiles func() (ruleJSON, valueSets []json.RawMessage, err error)

// ruleSource is what PublishRules or PublishSignedRuleSet configured.
type ruleSource struct {
	read   RuleFiles // a rule folder, signed here
	signed string    // or a signed rule set file, served as it is
}

// ruleCache is the published rule set.
type ruleCache struct {
	src     ruleSource
	data    []byte
	seq     uint64
	at      time.Time // iat
	checked time.Time
	digest  [32]byte
}

// PublishRules makes RuleSet publish the rules read returns, signed with
// the list-signing key: re-signed when the content changes (the sequence
// then steps to at least the current Unix time, as "vaxcert rules sign"
// numbers them, and above the last one) and when a quarter of the
// validity has passed.
func (p *Publisher) PublishRules(read RuleFiles) {
	p.ruleMu.Lock()
	defer p.ruleMu.Unlock()
	p.rules = ruleCache{src: ruleSource{read: read}}
}

// PublishSignedRuleSet makes RuleSet publish the signed rule set in file
// (from "vaxcert rules sign") as it is, re-read when it changes. A file
// that does not open against the CSCA now is refused, not published.
func (p *Publisher) PublishSignedRuleSet(file string) {
	p.ruleMu.Lock()
	defer p.ruleMu.Unlock()
	p.rules = ruleCache{src: ruleSource{signed: file}}
}

// CurrentRuleSet returns the signed rule set to publish and its ETag;
// ErrNoRuleSet when none is configured.
func (p *Publisher) CurrentRuleSet() (data []byte, etag string, err error) {
	p.ruleMu.Lock()
	defer p.ruleMu.Unlock()
	rc := &p.rules
	if rc.src.read == nil && rc.src.signed == "" {
		return nil, "", ErrNoRuleSet
	}
	now := p.cfg.Clock()
	if rc.data != nil && now.Sub(rc.checked) < recheck && (rc.src.signed != "" || now.Sub(rc.at) < p.cfg.Validity/4) {
		return rc.data, rc.etag(), nil
	}
	if rc.src.signed != "" {
		b, err := rules.ReadFileLimited(os.DirFS(filepath.Dir(rc.src.signed)), filepath.Base(rc.src.signed), limits.MaxRuleSet)
		if err != nil {
			return nil, "", err
		}
		s, err := rules.OpenSigned(b, p.csca, now, lists.Version{})
		if err != nil {
			return nil, "", fmt.Errorf("trustpub: signed rule set %s: %w", filepath.Base(rc.src.signed), err)
		}
		rc.data, rc.seq, rc.at, rc.checked = b, s.Signed.Sequence, s.Signed.IssuedAt, now
		return rc.data, rc.etag(), nil
	}
	ruleJSON, vsJSON, err := rc.src.read()
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	for _, part := range [][]json.RawMessage{ruleJSON, {json.RawMessage("--")}, vsJSON} {
		for _, b := range part {
			sum := sha256.Sum256(b)
			h.Write(sum[:])
		}
	}
	var digest [32]byte
	h.Sum(digest[:0])
	rc.checked = now
	if rc.data != nil && digest == rc.digest && now.Sub(rc.at) < p.cfg.Validity/4 {
		return rc.data, rc.etag(), nil
	}
	seq, err := p.ruleSequence(digest, now)
	if err != nil {
		return nil, "", err
	}
	iat := now.Truncate(time.Second)
	b, err := p.signer.RuleSet(p.claims(seq, iat), ruleJSON, vsJSON)
	if err != nil {
		return nil, "", err
	}
	rc.data, rc.seq, rc.at, rc.digest = b, seq, iat, digest
	return b, rc.etag(), nil
}

func (rc *ruleCache) etag() string { return fmt.Sprintf(`"rs-%d-%d"`, rc.seq, rc.at.Unix()) }

// ruleSequence returns the rule set's sequence for a content digest,
// stepping and saving it when the content changed (to at least the Unix
// time, as vaxcert rules sign numbers sets).
func (p *Publisher) ruleSequence(digest [32]byte, now time.Time) (uint64, error) {
	return p.stepSequence(RuleSetStateFile, digest, uint64(max(now.Unix(), 0)))
}
