// Package trustpub is the issuer's side of the signed lists: it keeps the
// key folder's DSCs, the list-signing key and the trust list's sequence,
// and publishes the trust list and the revocation list (full and deltas)
// that verifier/lists checks, and the venues' signed rule set (rules.go).
// The HTTP routes (/v1/trust-list, /v1/revocations, /v1/rule-set) and
// `vaxcert trust export` call it.
//
// # Key folder
//
//	csca.pem, csca.key   the CSCA (see keys/keyfile)
//	dsc.pem, dsc.key     the DSC that signs new certificates
//	previous/KID.pem     DSCs rotated out of signing: still listed, so the
//	                     certificates they signed keep verifying
//	retired/KID.pem      DSCs retired: no longer listed, so the
//	                     certificates they signed stop verifying
//	lists.pem, lists.key the list-signing certificate and key (created
//	                     from the CSCA on first use)
//	trustlist.json       the trust list's sequence and content digest
//	ruleset.json         the published rule set's sequence and digest
//
// The trust list's sequence grows by one each time the set of listed DSCs
// changes; it is kept in trustlist.json, replaced atomically. The
// revocation list's sequence is the highest revocation id in the store,
// which only grows; a delta since S holds the revocations with an id above
// S. Entries leave the lists once the certificate they revoke has expired.
package trustpub

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/veraison/go-cose"

	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/internal/listsign"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/keyfile"
	"github.com/vaxcert/vaxcert/verifier/lists"
)

// File and folder names in the key folder.
const (
	ListSignerCertFile = "lists.pem"
	ListSignerKeyFile  = "lists.key"
	PreviousDir        = "previous"
	RetiredDir         = "retired"
	StateFile          = "trustlist.json"
)

// DefaultValidity is how long a published list is valid: a verifier that
// has not synced for this long refuses to answer (no freeze).
const DefaultValidity = 48 * time.Hour

// Config configures a Publisher.
type Config struct {
	// KeyDir is the key folder. Required.
	KeyDir string
	// Issuer names the publisher in the lists; default the CSCA's country.
	Issuer string
	// Validity of each list; default DefaultValidity.
	Validity time.Duration
	// Clock; default time.Now.
	Clock func() time.Time
}

// Publisher publishes the signed lists of one key folder. It is safe for
// concurrent use.
type Publisher struct {
	cfg    Config
	csca   *x509.Certificate
	signer *listsign.Signer

	mu       sync.Mutex
	trust    []byte // the signed trust list in cache
	trustAt  time.Time
	trustSeq uint64
	checked  time.Time // when the DSC folder was last read
	digest   [32]byte  // of the DSC set in the cache

	revMu    sync.Mutex
	revs     []revoked // by revocation id
	revFull  []byte
	revSeq   uint64
	revAt    time.Time
	revFresh time.Time // when the store was last read (by the clock)
	revWall  time.Time // and by the wall clock

	ruleMu sync.Mutex
	rules  ruleCache // the published rule set (rules.go)
}

type revoked struct {
	id  int64
	rec listsign.Revoked
}

// New opens the key folder: it reads the CSCA certificate and the
// list-signing pair, creating the pair with the CSCA key when absent.
func New(cfg Config) (*Publisher, error) {
	if cfg.KeyDir == "" {
		return nil, errors.New("trustpub: no key folder")
	}
	if cfg.Validity <= 0 {
		cfg.Validity = DefaultValidity
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	certs, err := keyfile.ReadCertFile(filepath.Join(cfg.KeyDir, keyfile.CSCACertFile))
	if err != nil {
		return nil, err
	}
	csca := certs[0]
	if cfg.Issuer == "" && len(csca.Subject.Country) > 0 {
		cfg.Issuer = csca.Subject.Country[0]
	}
	certPath, keyPath := filepath.Join(cfg.KeyDir, ListSignerCertFile), filepath.Join(cfg.KeyDir, ListSignerKeyFile)
	if _, err := os.Lstat(certPath); errors.Is(err, fs.ErrNotExist) {
		ca, err := keyfile.LoadCA(cfg.KeyDir)
		if err != nil {
			return nil, fmt.Errorf("trustpub: creating the list-signing key needs the CSCA key: %w", err)
		}
		ls, err := listsign.IssueSigner(ca, cfg.Clock())
		if err != nil {
			return nil, err
		}
		if err := keyfile.WritePair(certPath, keyPath, ls.Cert, ls.Signer()); err != nil && !errors.Is(err, keyfile.ErrExists) {
			return nil, err
		}
	}
	cert, key, err := keyfile.LoadPair(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	s, err := listsign.NewSigner(key, cert, csca)
	if err != nil {
		return nil, err
	}
	return &Publisher{cfg: cfg, csca: csca, signer: s}, nil
}

// CSCA returns the CSCA certificate, the root verifiers pin.
func (p *Publisher) CSCA() *x509.Certificate { return p.csca }

// Issuer returns the issuer name in the lists.
func (p *Publisher) Issuer() string { return p.cfg.Issuer }

// DSCs returns the DSCs the trust list holds: dsc.pem, then previous/*.pem
// in name order.
func DSCs(dir string) ([]*x509.Certificate, error) {
	out, err := keyfile.ReadCertFile(filepath.Join(dir, keyfile.DSCCertFile))
	if err != nil {
		return nil, err
	}
	prev, err := filepath.Glob(filepath.Join(dir, PreviousDir, "*.pem"))
	if err != nil {
		return nil, err
	}
	slices.Sort(prev)
	for _, f := range prev {
		cs, err := keyfile.ReadCertFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// KIDFile is the file name of a DSC in previous/ and retired/: the kid in
// hex (base64 has '/').
func KIDFile(cert *x509.Certificate) string { return hex.EncodeToString(keys.KID(cert.Raw)) + ".pem" }

// state is trustlist.json.
type state struct {
	Sequence uint64 `json:"sequence"`
	Digest   string `json:"digest"`
}

// sequenceFor returns the trust list sequence for a DSC set digest,
// stepping and saving it when the set changed.
func (p *Publisher) sequenceFor(digest [32]byte) (uint64, error) {
	return p.stepSequence(StateFile, digest, 0)
}

// stepSequence returns the sequence kept in the key folder's state file
// for a content digest. When the digest changed it steps the sequence to
// at least floor and saves it atomically, so a published list never goes
// back.
func (p *Publisher) stepSequence(file string, digest [32]byte, floor uint64) (uint64, error) {
	path := filepath.Join(p.cfg.KeyDir, file)
	var st state
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &st); err != nil {
			return 0, fmt.Errorf("trustpub: %s: %w", path, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	d := hex.EncodeToString(digest[:])
	if st.Digest == d {
		return st.Sequence, nil
	}
	st = state{Sequence: max(st.Sequence+1, floor), Digest: d}
	b, _ := json.Marshal(st)
	return st.Sequence, keyfile.WriteFile(path, b, 0o644, keyfile.Overwrite())
}

// recheck is how often the DSC folder is read again for changes.
const recheck = 5 * time.Second

// TrustList returns the signed trust list, its ETag and sequence. The list
// is re-signed when the DSC set changes and when a quarter of its validity
// has passed.
func (p *Publisher) TrustList() (data []byte, etag string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Clock()
	if p.trust != nil && now.Sub(p.checked) < recheck && now.Sub(p.trustAt) < p.cfg.Validity/4 {
		return p.trust, p.etag(), nil
	}
	dscs, err := DSCs(p.cfg.KeyDir)
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	for _, c := range dscs {
		sum := sha256.Sum256(c.Raw)
		h.Write(sum[:])
	}
	var digest [32]byte
	h.Sum(digest[:0])
	p.checked = now
	if p.trust != nil && digest == p.digest && now.Sub(p.trustAt) < p.cfg.Validity/4 {
		return p.trust, p.etag(), nil
	}
	seq, err := p.sequenceFor(digest)
	if err != nil {
		return nil, "", err
	}
	entries := make([]listsign.DSC, len(dscs))
	for i, c := range dscs {
		entries[i] = listsign.DSC{Cert: c}
	}
	iat := now.Truncate(time.Second)
	b, err := p.signer.TrustList(p.claims(seq, iat), entries)
	if err != nil {
		return nil, "", err
	}
	p.trust, p.trustAt, p.trustSeq, p.digest = b, iat, seq, digest
	return b, p.etag(), nil
}

func (p *Publisher) etag() string {
	return fmt.Sprintf(`"tl-%d-%d"`, p.trustSeq, p.trustAt.Unix())
}

// RuleSet signs a rule set (verifier/rules.KindRuleSet: the rules and
// optional value-set files) with the list-signing key, issued now and valid
// for the configured validity. seq must grow with every new rule set.
func (p *Publisher) RuleSet(seq uint64, ruleJSON, valueSets []json.RawMessage) ([]byte, error) {
	return p.signer.RuleSet(p.claims(seq, p.cfg.Clock()), ruleJSON, valueSets)
}

func (p *Publisher) claims(seq uint64, iat time.Time) lists.Claims {
	return lists.Claims{Issuer: p.cfg.Issuer, Sequence: seq, IssuedAt: iat.Unix(), ExpiresAt: iat.Add(p.cfg.Validity).Unix()}
}

// Source reads revoked certificates (internal/service implements it).
type Source interface {
	RevokedCertificates(ctx context.Context, afterID int64, expiresAfter time.Time, limit int) ([]*store.RevokedCertificate, error)
}

// maxIDSource is a Source that also knows the highest revocation id ever
// made, expired or not (internal/service does).
type maxIDSource interface {
	MaxRevocationID(ctx context.Context) (int64, error)
}

// Reading the store: page size, and how far back each read looks again
// for revocations committed out of id order (concurrent transactions).
const (
	revPage   = 10000
	revRescan = 1000
)

// refresh loads revocations added since the last read, at most once a
// second by both the configured clock and the wall clock (a fixed test
// clock still sees new revocations a second later).
func (p *Publisher) refresh(ctx context.Context, src Source, now time.Time) error {
	if now.Sub(p.revFresh) < time.Second && time.Since(p.revWall) < time.Second && !p.revFresh.IsZero() {
		return nil
	}
	after := int64(0)
	if n := len(p.revs); n > 0 {
		after = max(0, p.revs[n-1].id-revRescan)
	}
	for {
		rows, err := src.RevokedCertificates(ctx, after, now, revPage)
		if err != nil {
			return err
		}
		for _, r := range rows {
			after = r.RevocationID
			i, found := slices.BinarySearchFunc(p.revs, r.RevocationID, func(e revoked, id int64) int { return int(e.id - id) })
			if found {
				continue
			}
			h, err := Hashes(r.UVCI, r.COSE)
			if err != nil {
				return err
			}
			p.revs = slices.Insert(p.revs, i, revoked{id: r.RevocationID, rec: listsign.Revoked{Hashes: h, Expires: r.ExpiresAt}})
		}
		if len(rows) < revPage {
			break
		}
	}
	// Purge what has expired.
	p.revs = slices.DeleteFunc(p.revs, func(e revoked) bool { return !e.rec.Expires.After(now) })
	p.revFresh, p.revWall = now, time.Now()
	return nil
}

// Hashes computes the three revocation hashes of a signed certificate.
func Hashes(uvci string, coseMsg []byte) (lists.Hashes, error) {
	msg, err := hcert.ParseSign1(coseMsg)
	if err != nil {
		return lists.Hashes{}, fmt.Errorf("trustpub: stored certificate: %w", err)
	}
	claims, err := hcert.DecodeClaims(msg.Payload)
	if err != nil {
		return lists.Hashes{}, fmt.Errorf("trustpub: stored certificate: %w", err)
	}
	alg := keys.AlgNone
	if a, err := msg.Headers.Protected.Algorithm(); err == nil && a == cose.AlgorithmES256 {
		alg = keys.AlgES256
	}
	return lists.CertificateHashes(claims.Issuer, uvci, alg, msg.Signature), nil
}

// Revocations returns the signed revocation list: a delta with the
// revocations after since when 0 < since < the current sequence, else the
// full list (a verifier at the current sequence gets it re-signed, one
// ahead of the store must start again). The full list is cached until it changes or a
// quarter of its validity passed.
func (p *Publisher) Revocations(ctx context.Context, src Source, since uint64) ([]byte, error) {
	p.revMu.Lock()
	defer p.revMu.Unlock()
	now := p.cfg.Clock()
	if err := p.refresh(ctx, src, now); err != nil {
		return nil, err
	}
	seq := uint64(0)
	if n := len(p.revs); n > 0 {
		seq = uint64(p.revs[n-1].id)
	}
	seq = max(seq, p.revSeq)            // purging the newest entry must not step back
	if m, ok := src.(maxIDSource); ok { // nor may a restart after it was purged
		id, err := m.MaxRevocationID(ctx)
		if err != nil {
			return nil, err
		}
		seq = max(seq, uint64(id))
	}
	iat := now.Truncate(time.Second)
	if since > 0 && since < seq {
		i, _ := slices.BinarySearchFunc(p.revs, int64(since), func(e revoked, id int64) int {
			if e.id <= id {
				return -1
			}
			return 1
		})
		rs := make([]listsign.Revoked, 0, len(p.revs)-i)
		for _, e := range p.revs[i:] {
			rs = append(rs, e.rec)
		}
		return p.signer.RevocationList(p.claims(seq, iat), since, rs)
	}
	if p.revFull != nil && p.revSeq == seq && now.Sub(p.revAt) < p.cfg.Validity/4 {
		return p.revFull, nil
	}
	rs := make([]listsign.Revoked, len(p.revs))
	for i, e := range p.revs {
		rs[i] = e.rec
	}
	b, err := p.signer.RevocationList(p.claims(seq, iat), 0, rs)
	if err != nil {
		return nil, err
	}
	p.revFull, p.revSeq, p.revAt = b, seq, iat
	return b, nil
}
