package service

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/schemas"
)

// CertIssuer builds and signs certificates; [*issuer.Issuer] implements it.
// It must be safe for concurrent use: the batch job signs on every core.
type CertIssuer interface {
	// PayloadRevision returns the DCC the record's finalised doses would
	// be signed as, deterministically, without signing; revision is the
	// number of certificates the person had before, which changes only the
	// UVCI.
	PayloadRevision(rec issuer.Record, revision int) (*schemas.DCC, error)
	// Sign signs a payload from PayloadRevision.
	Sign(*schemas.DCC) (*issuer.Certificate, error)
}

var _ CertIssuer = (*issuer.Issuer)(nil)

// ActorKind says who is acting.
type ActorKind string

// Actor kinds.
const (
	// ActorStaff is a holder of a staff API token.
	ActorStaff ActorKind = "staff"
	// ActorCitizen is a citizen authenticated by the national identity
	// provider.
	ActorCitizen ActorKind = "citizen"
	// ActorSystem is the service itself or an operator's command-line tool:
	// it may do everything. The HTTP layer must never build one from a
	// request.
	ActorSystem ActorKind = "system"
)

// Actor is the authenticated caller of a method; the HTTP layer builds it
// (staff: [Service.LookupToken]; citizens: the verified JWT subject).
type Actor struct {
	Kind ActorKind
	// ID is the staff token id, the citizen's national ID number (never
	// logged nor audited: the audit trail names the person's surrogate key
	// instead), or a system component's name.
	ID string
	// Role is the staff role; Site the site an uploader is bound to.
	Role auth.Role
	Site string
}

// Config configures [New].
type Config struct {
	// Store is the database (required).
	Store *store.Store
	// Issuer signs certificates (required).
	Issuer CertIssuer
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Logger receives operational logs, which carry opaque ids only; nil
	// discards them.
	Logger *slog.Logger
	// ValueSets are the value sets uploads are checked against; nil means
	// schemas.DefaultValueSets().
	ValueSets *schemas.ValueSets
}

// Service is the issuer service's domain layer. It is safe for concurrent
// use. Close it to stop its background jobs.
type Service struct {
	st     *store.Store
	iss    CertIssuer
	now    func() time.Time
	log    *slog.Logger
	check  issuer.PayloadOptions // record validation options, see validate.go
	tokens *Tokens

	// Tunables; tests shrink them.
	chunkSize int // doses per intake transaction
	// issueChunk is the persons per issuance transaction. Each chunk
	// costs about 17 statements and a commit whatever its size; at 1,000
	// persons PostgreSQL spent about 10 µs less per certificate than at
	// 500 (vaxbench, 100,000 persons), and a chunk holds its persons'
	// locks for about 0.1 s of signing.
	issueChunk   int
	maxBatchRows int
	maxLine      int
	workers      int
	// issueLanes is the number of issuance transactions a worker runs at
	// once on PostgreSQL (one signs while another commits).
	issueLanes int
	// leaseTTL is how long a job worker's lease lasts unless renewed (it
	// is renewed every quarter of it). A live worker wrongly taken for
	// dead loses nothing: its persons are locked while it works on them.
	leaseTTL time.Duration
	// instance names this Service in worker ids.
	instance string

	ctx    context.Context // cancelled by Close; parent of job contexts
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	jobs   map[string]*runningJob
}

// New returns a service over cfg.Store.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Issuer == nil {
		return nil, errors.New("service: a store and an issuer are required")
	}
	s := &Service{
		st: cfg.Store, iss: cfg.Issuer, now: cfg.Clock, log: cfg.Logger,
		check:        validationOptions(cfg.ValueSets),
		chunkSize:    4000,
		issueChunk:   1000,
		maxBatchRows: limits.MaxBatchRows,
		maxLine:      limits.MaxBatchLine,
		workers:      runtime.GOMAXPROCS(0),
		issueLanes:   2,
		leaseTTL:     defaultLeaseTTL,
		instance:     newBatchID()[:8],
		jobs:         map[string]*runningJob{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.tokens = NewTokens(cfg.Store, func() time.Time { return s.now() })
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Close stops the running background jobs (they can be resumed by starting
// a new one) and waits for them. It does not close the store.
func (s *Service) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// clock returns the current time in UTC, at microsecond precision (what
// the store keeps).
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// allow checks that the actor holds one of the permissions. System actors
// hold all; citizens none.
func allow(a Actor, perms ...auth.Permission) error {
	switch a.Kind {
	case ActorSystem:
		return nil
	case ActorStaff:
		for _, p := range perms {
			if a.Role.Allows(p) {
				return nil
			}
		}
	}
	return ErrForbidden
}

// auditActor is the actor as the audit trail and the records' changed_by
// name it: citizens by their person key, never their national ID.
type auditActor struct {
	kind, id, role string
}

func staffOrSystem(a Actor) auditActor {
	return auditActor{kind: string(a.Kind), id: a.ID, role: string(a.Role)}
}

func citizenOf(personID int64) auditActor {
	return auditActor{kind: string(ActorCitizen), id: personSubject(personID)}
}

func personSubject(id int64) string { return "person:" + strconv.FormatInt(id, 10) }

// changes collects the effects of one write transaction that every path
// shares: audit entries, and the persons whose records changed, which are
// re-linked (cross-site duplicates), marked for issuance and re-evaluated
// for contradictions before commit.
type changes struct {
	by    auditActor
	at    time.Time
	audit []*store.AuditEntry
	// final: persons whose finalised set changed; relink: persons whose
	// existing records changed content or status; identity: persons whose
	// identity claims changed.
	final    map[int64]bool
	relink   map[int64]bool
	identity map[int64]bool
	// merged holds each relinked record's canonical id after commit.
	merged map[int64]int64
	// fresh holds every record of the persons created in this transaction,
	// so evaluating them needs no query.
	fresh map[int64][]*store.Dose
}

func newChanges(by auditActor, at time.Time) *changes {
	return &changes{by: by, at: at, final: map[int64]bool{}, relink: map[int64]bool{}, identity: map[int64]bool{}}
}

func (c *changes) record(action, subject string, before, after any) {
	c.audit = append(c.audit, &store.AuditEntry{At: c.at, ActorKind: c.by.kind, ActorID: c.by.id,
		ActorRole: c.by.role, Action: action, Subject: subject, Before: jsonObject(before), After: jsonObject(after)})
}

func jsonObject(v any) string {
	if v == nil {
		return "{}"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// commit writes the collected effects into tx: settle, then the audit
// entries.
func (c *changes) commit(ctx context.Context, tx *store.Tx) error {
	if err := c.settle(ctx, tx); err != nil {
		return err
	}
	return tx.InsertAudit(ctx, c.audit)
}

// settle relinks duplicates, marks pending issuance and re-evaluates
// contradictions and identity claims for the persons whose records or
// claims changed.
func (c *changes) settle(ctx context.Context, tx *store.Tx) error {
	if len(c.relink) > 0 {
		merged, err := relink(ctx, tx, sortedKeys(c.relink))
		if err != nil {
			return err
		}
		c.merged = merged
	}
	if len(c.final) > 0 {
		if err := tx.MarkPending(ctx, sortedKeys(c.final), c.at); err != nil {
			return err
		}
	}
	if len(c.final) == 0 && len(c.identity) == 0 {
		return nil
	}
	all := maps.Clone(c.final)
	maps.Copy(all, c.identity)
	return c.evaluate(ctx, tx, sortedKeys(all))
}

// ReasonUnderReview is the revocation reason of a certificate withdrawn
// because the person's records came to contradict each other: nobody shows
// a status the records no longer support while the review is open.
const ReasonUnderReview = "revoked: records under review"

// evaluate opens a review for each person whose finalised records now
// contradict each other or who has open identity claims, updates an open
// review whose reasons changed, and resolves the open review of each person
// with neither. The current certificate of a person whose records
// contradict each other is revoked (ReasonUnderReview); an identity claim
// alone blocks new certificates but leaves the current one, which carries
// the stored details, as it is.
func (c *changes) evaluate(ctx context.Context, tx *store.Tx, personIDs []int64) error {
	var known []int64
	for _, p := range personIDs {
		if _, ok := c.fresh[p]; !ok {
			known = append(known, p)
		}
	}
	doses, err := tx.DosesOfPersons(ctx, known, true)
	if err != nil {
		return err
	}
	open, err := tx.OpenReviews(ctx, known)
	if err != nil {
		return err
	}
	claims, err := tx.PersonsWithOpenClaims(ctx, personIDs)
	if err != nil {
		return err
	}
	for p, ds := range c.fresh {
		doses[p] = ds
	}
	var withdraw []int64
	for _, p := range personIDs {
		dns := contradictions(doses[p])
		r := open[p]
		need := len(dns) > 0 || claims[p]
		switch {
		case need && r == nil:
			r = &store.Review{PersonID: p, DoseNumbers: dns, Identity: claims[p], OpenedAt: c.at}
			if err := tx.InsertReview(ctx, r); err != nil {
				return err
			}
			c.record("review.open", reviewSubject(r.ID), nil, map[string]any{"person": p, "dose_numbers": dns,
				"identity": claims[p]})
		case need && (!slices.Equal(r.DoseNumbers, dns) || r.Identity != claims[p]):
			r.DoseNumbers, r.Identity = dns, claims[p]
			if err := tx.UpdateReviewReasons(ctx, r); err != nil {
				return err
			}
		case !need && r != nil:
			if err := tx.ResolveReview(ctx, r.ID, c.at, c.by.id, "records no longer contradict"); err != nil {
				return err
			}
			c.record("review.resolve", reviewSubject(r.ID), nil, map[string]any{"person": p})
		}
		if len(dns) > 0 {
			withdraw = append(withdraw, p)
		}
	}
	return c.withdraw(ctx, tx, withdraw, ReasonUnderReview)
}

// withdraw revokes the current certificate of each of the persons that has
// one, leaving them without a current certificate.
func (c *changes) withdraw(ctx context.Context, tx *store.Tx, personIDs []int64, reason string) error {
	if len(personIDs) == 0 {
		return nil
	}
	current, err := tx.CurrentCertificates(ctx, personIDs)
	if err != nil {
		return err
	}
	var ended []int64
	var revs []*store.Revocation
	for _, p := range personIDs {
		old := current[p]
		if old == nil {
			continue
		}
		ended = append(ended, old.ID)
		revs = append(revs, c.revocation(old, reason))
	}
	if err := tx.EndCertificates(ctx, ended, store.CertRevoked); err != nil {
		return err
	}
	return tx.InsertRevocations(ctx, revs)
}

// revocation is the revocation of a current certificate, audited.
func (c *changes) revocation(old *store.Certificate, reason string) *store.Revocation {
	c.record("cert.revoke", certSubject(old.UVCI), map[string]any{"status": store.CertCurrent},
		map[string]any{"reason": reason})
	return &store.Revocation{CertificateID: old.ID, UVCI: old.UVCI, Reason: reason, RevokedAt: c.at, RevokedBy: c.by.id}
}

func reviewSubject(id int64) string { return "review:" + strconv.FormatInt(id, 10) }

// sortedKeys returns the persons of a set in ascending order, the order rows
// are locked in.
func sortedKeys[V any](m map[int64]V) []int64 {
	return slices.Sorted(maps.Keys(m))
}

// Page selects a page of a list: the entries after the cursor After (an id
// from the previous page, 0 for the first), at most Limit of them (default
// 100, at most 1000).
type Page struct {
	After int64
	Limit int
}

func (p Page) limit() int {
	switch {
	case p.Limit <= 0:
		return 100
	case p.Limit > 1000:
		return 1000
	}
	return p.Limit
}

// Stats are the counters the HTTP layer publishes as metrics.
type Stats struct {
	// CertificatesIssued counts every certificate ever signed.
	CertificatesIssued  int64
	CurrentCertificates int64
	Revocations         int64
	// PendingIssuance counts persons whose finalised records changed since
	// their last issuance.
	PendingIssuance int64
	// OpenReviews counts persons blocked by contradictory records.
	OpenReviews int64
	// OpenCorrections counts correction requests awaiting a decision.
	OpenCorrections int64
	// QueueDepth is PendingIssuance + OpenReviews + OpenCorrections.
	QueueDepth int64
}

// Ping checks that the database answers, reading no table (see
// [store.Store.Ping]); [Service.Stats] counts whole tables instead.
func (s *Service) Ping(ctx context.Context) error { return s.st.Ping(ctx) }

// Stats returns the current counters.
func (s *Service) Stats(ctx context.Context) (Stats, error) {
	var c store.Counts
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		var err error
		c, err = tx.Counts(ctx)
		return err
	})
	return Stats{
		CertificatesIssued: c.Certificates, CurrentCertificates: c.CurrentCertificates, Revocations: c.Revocations,
		PendingIssuance: c.PendingIssuance, OpenReviews: c.OpenReviews, OpenCorrections: c.OpenCorrections,
		QueueDepth: c.PendingIssuance + c.OpenReviews + c.OpenCorrections,
	}, err
}
