package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/schemas"
)

// Revocation reasons.
const (
	ReasonCorrected = "superseded: records corrected"
	ReasonWithdrawn = "revoked: no finalised records"
)

// Certificate is an issued certificate.
type Certificate struct {
	UVCI     string
	PersonID int64
	// Status is "current" (the person's one valid certificate),
	// "superseded" (replaced, and revoked) or "revoked" (withdrawn).
	Status    string
	HC1       string
	COSE      []byte
	KID       []byte
	IssuedAt  time.Time
	ExpiresAt time.Time
	Payload   *schemas.DCC
}

func certificateOf(c *store.Certificate) (*Certificate, error) {
	dcc, err := storedPayload(c)
	if err != nil {
		return nil, err
	}
	return &Certificate{UVCI: c.UVCI, PersonID: c.PersonID, Status: c.Status, HC1: storedHC1(c), COSE: c.COSE, KID: c.KID,
		IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, Payload: dcc}, nil
}

// storedHC1 returns a stored certificate's QR text: rebuilt from its COSE
// message ([hcert.AppendHC1] is what the issuer signs with, and gives the
// same text for the same message), or the copy certificates issued before
// store migration 0008 also carry. Rebuilding is zlib in stored blocks and
// Base45 of about 370 bytes, a few microseconds; the copy was half of each
// row the batch issuance writes.
func storedHC1(c *store.Certificate) string {
	if c.HC1 != "" {
		return c.HC1
	}
	return string(hcert.AppendHC1(nil, c.COSE))
}

// storedPayload returns a stored certificate's payload: decoded from its
// signed COSE message, which holds it (the payload is stored once), or from
// the JSON copy certificates issued before store migration 0005 also
// carry.
func storedPayload(c *store.Certificate) (*schemas.DCC, error) {
	if len(c.Payload) > 0 {
		var dcc schemas.DCC
		if err := json.Unmarshal(c.Payload, &dcc); err != nil {
			return nil, fmt.Errorf("service: failed to decode stored payload: %w", err)
		}
		return &dcc, nil
	}
	msg, err := hcert.ParseSign1(c.COSE)
	if err != nil {
		return nil, fmt.Errorf("service: failed to decode stored payload: %w", err)
	}
	_, dcc, err := hcert.DecodeClaimsDCC(msg.Payload)
	if err != nil {
		return nil, fmt.Errorf("service: failed to decode stored payload: %w", err)
	}
	return dcc, nil
}

// hashMode is the deterministic CBOR encoding content hashes are taken of.
var hashMode = func() cbor.EncMode {
	m, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// contentHash is the SHA-256 of the payload's deterministic CBOR encoding
// with its UVCI left out: two payloads with the same hash certify the same
// person and the same shots, whatever UVCI the issuer derives.
func contentHash(d *schemas.DCC) ([]byte, error) {
	c := *d
	c.V = append([]schemas.Vaccination(nil), d.V...)
	for i := range c.V {
		c.V[i].CI = ""
	}
	b, err := hashMode.Marshal(&c)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(b)
	return h[:], nil
}

// issuance is one person's issuance: the state read, then the decision.
type issuance struct {
	person  *store.Person
	doses   []*store.Dose // finalised
	current *store.Certificate
	issued  int // certificates the person has had, of any status
	review  *store.Review
	pending store.Pending // Seq 0: not pending

	kind issueKind
	cert *issuer.Certificate
	hash []byte
	err  error
}

type issueKind int

const (
	issueUnchanged issueKind = iota // the current certificate stands
	issueNew                        // a new certificate was signed
	issueBlocked                    // contradictory records
	issueWithdrawn                  // no finalised records: revoke the current certificate, if any
	issueFailed                     // the issuer refused; the person stays pending
	issueConflict                   // changed concurrently; the person stays pending
)

// loadIssuances reads what issuing for the persons needs, in one snapshot.
func (s *Service) loadIssuances(ctx context.Context, ids []int64) ([]*issuance, error) {
	var out []*issuance
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = s.loadIssuancesTx(ctx, tx, ids, nil)
		return err
	})
	return out, err
}

// loadIssuancesTx reads what issuing for the persons needs in tx; persons,
// when not nil, holds their rows as already read in tx. The pending
// markers are read here even after a claim: the claim's snapshot predates
// its locks, so a person another worker issued meanwhile still shows its
// old marker there.
func (s *Service) loadIssuancesTx(ctx context.Context, tx *store.Tx, ids []int64, persons map[int64]*store.Person) ([]*issuance, error) {
	if persons == nil {
		var err error
		if persons, err = tx.PersonsByID(ctx, ids, false); err != nil {
			return nil, err
		}
	}
	doses, err := tx.DosesOfPersons(ctx, ids, true)
	if err != nil {
		return nil, err
	}
	counts, current, err := tx.CertificatesOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	reviews, err := tx.OpenReviews(ctx, ids)
	if err != nil {
		return nil, err
	}
	pending, err := tx.PendingOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*issuance, 0, len(ids))
	for _, id := range ids {
		if persons[id] == nil {
			continue
		}
		out = append(out, &issuance{person: persons[id], doses: doses[id], current: current[id],
			issued: counts[id], review: reviews[id], pending: store.Pending{PersonID: id, Seq: pending[id]}})
	}
	return out, nil
}

// decide computes the payload and signs a new certificate when the content
// differs from the current certificate's. It does no I/O and runs on many
// goroutines at once.
func (s *Service) decide(is *issuance) {
	if is.review != nil || len(contradictions(is.doses)) > 0 {
		is.kind, is.err = issueBlocked, ErrContradictory
		return
	}
	shots := canonicalShots(is.doses)
	if len(shots) == 0 {
		is.kind, is.err = issueWithdrawn, ErrNoRecords
		return
	}
	rec := issuer.Record{Person: personOf(is.person), Doses: make([]issuer.Dose, len(shots))}
	for i, d := range shots {
		rec.Doses[i] = issuer.Dose(d.DoseFields)
	}
	fail := func(err error) {
		is.kind, is.err = issueFailed, fmt.Errorf("service: failed to issue: %w", err)
		if errors.Is(err, issuer.ErrContradictory) {
			is.kind, is.err = issueBlocked, ErrContradictory
		}
	}
	dcc, err := s.iss.PayloadRevision(rec, is.issued)
	if err != nil {
		fail(err)
		return
	}
	if is.hash, err = contentHash(dcc); err != nil {
		fail(err)
		return
	}
	if c := is.current; c != nil && bytes.Equal(c.ContentHash, is.hash) {
		is.kind = issueUnchanged
		return
	}
	if is.cert, err = s.iss.Sign(dcc); err != nil {
		fail(err)
		return
	}
	is.kind = issueNew
}

// decideAll runs decide on s.workers goroutines.
func (s *Service) decideAll(iss []*issuance) {
	var wg sync.WaitGroup
	next := make(chan *issuance)
	for range min(s.workers, len(iss)) {
		wg.Go(func() {
			for is := range next {
				s.decide(is)
			}
		})
	}
	for _, is := range iss {
		next <- is
	}
	close(next)
	wg.Wait()
}

// writeIssuances stores the decisions in tx: new certificates supersede and
// revoke the current ones, withdrawn ones are revoked, blocked persons get
// a review, and the pending markers read are cleared. A person whose
// current certificate changed since it was read is left pending
// (issueConflict). locked says that tx already holds the persons' row
// locks (the job's claim took them before reading); otherwise they are
// taken here, before the current certificates are read again.
//
// checkUVCIs looks the new UVCIs up before inserting them, so that a UVCI
// already in use fails its person alone ([ErrUVCIReused]). Without it the
// unique index is the check: a UVCI in use fails the whole write with
// [store.ErrUVCIInUse], which [store.Store.Write] runs again, and the
// caller then checks. A collision needs two certificates issued in the
// same second whose 51-bit HMACs agree (issuer.DeriveUVCI), so the batch
// job skips the lookup of 1,000 UVCIs per chunk in the unique index.
func (s *Service) writeIssuances(ctx context.Context, tx *store.Tx, c *changes, iss []*issuance, locked, checkUVCIs bool) error {
	ids := make([]int64, len(iss))
	var uvcis []string
	var withCurrent []int64
	for i, is := range iss {
		ids[i] = is.person.ID
		if is.kind == issueNew {
			uvcis = append(uvcis, is.cert.UVCI)
		}
		if is.current != nil {
			withCurrent = append(withCurrent, is.person.ID)
		}
	}
	// SQLite's single writer serialises every write: nothing to lock.
	if !locked && s.st.SkipsLocked() {
		if _, err := tx.PersonsByID(ctx, ids, true); err != nil {
			return err
		}
	}
	// A staff revocation ends a certificate without the person's lock, so
	// the current certificates are compared again, by id. Under locks
	// taken before the read only that can have changed: a person who had
	// no current certificate cannot have gained one (every issuance holds
	// the person's lock), so a first issuance reads nothing again.
	check := ids
	if locked {
		check = withCurrent
	}
	current, err := tx.CurrentCertificateIDs(ctx, check)
	if err != nil {
		return err
	}
	used := map[string]bool{}
	if checkUVCIs {
		if used, err = tx.UVCIsInUse(ctx, uvcis); err != nil {
			return err
		}
	}
	var newCerts []*store.Certificate
	var ended, withdrawn []int64
	var cleared []store.Pending
	var revs []*store.Revocation
	revoke := func(old *store.Certificate, reason string) {
		revs = append(revs, c.revocation(old, reason))
	}
	for _, is := range iss {
		if cur, ok := current[is.person.ID]; ok != (is.current != nil) || ok && cur != is.current.ID {
			is.kind, is.err = issueConflict, ErrConflict
			continue
		}
		switch is.kind {
		case issueNew:
			if used[is.cert.UVCI] {
				is.kind, is.err = issueFailed, ErrUVCIReused
				continue
			}
			var before any // {}
			if old := is.current; old != nil {
				ended = append(ended, old.ID)
				revoke(old, ReasonCorrected)
				before = certSuperseded{Supersedes: old.UVCI}
			}
			newCerts = append(newCerts, &store.Certificate{UVCI: is.cert.UVCI, PersonID: is.person.ID,
				Status: store.CertCurrent, ContentHash: is.hash, COSE: is.cert.COSE, KID: is.cert.KID,
				IssuedAt: is.cert.IssuedAt, ExpiresAt: is.cert.ExpiresAt, IssuedBy: c.by.id})
			c.record("cert.issue", certSubject(is.cert.UVCI), before, certIssued{ExpiresAt: is.cert.ExpiresAt,
				Person: is.person.ID})
		case issueWithdrawn:
			if old := is.current; old != nil {
				withdrawn = append(withdrawn, old.ID)
				revoke(old, ReasonWithdrawn)
			}
		case issueBlocked:
			// Contradictory records withdraw the current certificate; an
			// open identity review alone leaves it (see changes.evaluate).
			if old := is.current; old != nil && (is.review == nil || len(is.review.DoseNumbers) > 0) {
				withdrawn = append(withdrawn, old.ID)
				revoke(old, ReasonUnderReview)
			}
			if is.review == nil {
				r := &store.Review{PersonID: is.person.ID, DoseNumbers: contradictions(is.doses), OpenedAt: c.at}
				if err := tx.InsertReview(ctx, r); err != nil {
					return err
				}
				c.record("review.open", reviewSubject(r.ID), nil, map[string]any{"person": is.person.ID,
					"dose_numbers": r.DoseNumbers})
			}
		case issueFailed:
			continue // stays pending
		}
		if is.pending.Seq != 0 {
			cleared = append(cleared, is.pending)
		}
	}
	if err := tx.ClearPending(ctx, cleared); err != nil {
		return err
	}
	if err := tx.EndCertificates(ctx, ended, store.CertSuperseded); err != nil {
		return err
	}
	if err := tx.EndCertificates(ctx, withdrawn, store.CertRevoked); err != nil {
		return err
	}
	if err := tx.InsertCertificates(ctx, newCerts); err != nil {
		return err
	}
	if err := tx.InsertRevocations(ctx, revs); err != nil {
		return err
	}
	return tx.InsertAudit(ctx, c.audit)
}

// IssueFor issues the person's certificate from their current finalised
// records (duplicates counted once), idempotently: when the payload equals
// that of the current certificate (its UVCI aside), the current certificate
// is returned and nothing is signed — so a change that does not show in the
// certificate, such as a lot number, keeps it. Otherwise a new certificate
// is signed and, in one transaction, becomes current while the previous one
// is superseded and its UVCI revoked (ReasonCorrected). Errors:
// [ErrContradictory] (the person is in the review queue), [ErrNoRecords]
// (the current certificate, if any, is revoked with ReasonWithdrawn),
// [ErrUVCIReused], [ErrConflict], [ErrNotFound], or the issuer's error (for
// example an inactive product code). Requires auth.PermIssue.
func (s *Service) IssueFor(ctx context.Context, actor Actor, personID int64) (*Certificate, error) {
	if err := allow(actor, auth.PermIssue); err != nil {
		return nil, err
	}
	return s.issueFor(ctx, staffOrSystem(actor), personID)
}

func (s *Service) issueFor(ctx context.Context, by auditActor, personID int64) (*Certificate, error) {
	iss, err := s.loadIssuances(ctx, []int64{personID})
	if err != nil {
		return nil, err
	}
	if len(iss) == 0 {
		return nil, ErrNotFound
	}
	is := iss[0]
	s.decide(is)
	err = s.st.Write(ctx, func(tx *store.Tx) error {
		return s.writeIssuances(ctx, tx, newChanges(by, s.clock()), iss, false, true)
	})
	if err != nil {
		return nil, err
	}
	switch is.kind {
	case issueUnchanged:
		return certificateOf(is.current)
	case issueNew:
		s.log.InfoContext(ctx, "certificate issued", "person", personID, "actor", by.id)
		return &Certificate{UVCI: is.cert.UVCI, PersonID: personID, Status: store.CertCurrent, HC1: is.cert.HC1,
			COSE: is.cert.COSE, KID: is.cert.KID, IssuedAt: is.cert.IssuedAt, ExpiresAt: is.cert.ExpiresAt,
			Payload: is.cert.Payload}, nil
	}
	if is.kind == issueFailed {
		s.log.WarnContext(ctx, "issuance failed", "person", personID, "code", Code(is.err))
	}
	return nil, is.err
}

// PersonCertificates returns every certificate of a person, newest first.
// Requires auth.PermIssue or auth.PermReviewCorrections.
func (s *Service) PersonCertificates(ctx context.Context, actor Actor, personID int64) ([]*Certificate, error) {
	if err := allow(actor, auth.PermIssue, auth.PermReviewCorrections); err != nil {
		return nil, err
	}
	return s.certificatesOf(ctx, func(tx *store.Tx) (int64, error) {
		_, err := tx.Person(ctx, personID)
		return personID, err
	})
}

func (s *Service) certificatesOf(ctx context.Context, who func(*store.Tx) (int64, error)) ([]*Certificate, error) {
	var cs []*store.Certificate
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		id, err := who(tx)
		if err != nil {
			return err
		}
		cs, err = tx.CertificatesOfPerson(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]*Certificate, len(cs))
	for i, c := range cs {
		if out[i], err = certificateOf(c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// MyCertificates returns the certificates of the citizen with that national
// ID number (the verified identity-provider subject), newest first; none
// for a citizen unknown to the service.
func (s *Service) MyCertificates(ctx context.Context, citizenID string) ([]*Certificate, error) {
	out, err := s.certificatesOf(ctx, func(tx *store.Tx) (int64, error) {
		p, err := tx.PersonByNationalID(ctx, citizenID)
		if err != nil {
			return 0, err
		}
		return p.ID, nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return out, err
}

// MyCertificate returns one of the citizen's certificates. Another
// citizen's UVCI is [ErrNotFound], exactly as an unknown one.
func (s *Service) MyCertificate(ctx context.Context, citizenID, uvci string) (*Certificate, error) {
	var c *store.Certificate
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		var err error
		c, err = s.ownCertificate(ctx, tx, citizenID, uvci)
		return err
	})
	if err != nil {
		return nil, err
	}
	return certificateOf(c)
}

func (s *Service) ownCertificate(ctx context.Context, tx *store.Tx, citizenID, uvci string) (*store.Certificate, error) {
	c, err := tx.CertificateByUVCI(ctx, uvci)
	if err != nil {
		return nil, err
	}
	p, err := tx.Person(ctx, c.PersonID)
	if err != nil {
		return nil, err
	}
	if p.NationalID != citizenID {
		return nil, ErrNotFound
	}
	return c, nil
}

// CertificatePNG returns the QR code image of one of the citizen's
// certificates. The image is rendered by render (given the HC1 text) on
// the first request only and stored; later requests get the stored bytes.
func (s *Service) CertificatePNG(ctx context.Context, citizenID, uvci string, render func(hc1 string) ([]byte, error)) ([]byte, error) {
	var c *store.Certificate
	var png []byte
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		var err error
		if c, err = s.ownCertificate(ctx, tx, citizenID, uvci); err != nil {
			return err
		}
		if c.HasPNG {
			png, err = tx.CertificatePNG(ctx, c.ID)
		}
		return err
	})
	if err != nil || png != nil {
		return png, err
	}
	img, err := render(storedHC1(c))
	if err != nil {
		return nil, fmt.Errorf("service: failed to render QR code: %w", err)
	}
	err = s.st.Write(ctx, func(tx *store.Tx) error {
		png, err = tx.SetCertificatePNG(ctx, c.ID, img)
		return err
	})
	return png, err
}

// Revocation is an entry of the revocation list. ID orders the list: pass
// the last one seen as Page.After to continue.
type Revocation = store.Revocation

// ListRevocations returns the revocations made at or after since, oldest
// first. The list holds UVCIs and reasons only.
func (s *Service) ListRevocations(ctx context.Context, since time.Time, page Page) ([]*Revocation, error) {
	var out []*store.Revocation
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.Revocations(ctx, since, page.After, page.limit())
		return err
	})
	return out, err
}

func certSubject(uvci string) string { return "cert:" + uvci }

// certIssued and certSuperseded are the after and before of a
// "cert.issue" audit entry: {"expires_at": …, "person": …} and
// {"supersedes": uvci} ({} for a first certificate), as maps gave them
// (structs cost batch issuance less: one per certificate).
type certIssued struct {
	ExpiresAt time.Time `json:"expires_at"`
	Person    int64     `json:"person"`
}

type certSuperseded struct {
	Supersedes string `json:"supersedes"`
}

// RevokedCertificate is a revoked certificate as a revocation list needs it.
type RevokedCertificate = store.RevokedCertificate

// RevokedCertificates returns up to limit revoked certificates with a
// revocation id above afterID that expire after expiresAfter, in
// revocation order, for the signed revocation list. The UVCIs in them must
// not leave the service: the list publishes hashes only.
func (s *Service) RevokedCertificates(ctx context.Context, afterID int64, expiresAfter time.Time, limit int) ([]*RevokedCertificate, error) {
	var out []*store.RevokedCertificate
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.RevokedCertificates(ctx, afterID, expiresAfter, limit)
		return err
	})
	return out, err
}

// MaxRevocationID returns the highest revocation id ever made (0 for
// none), expired or not: the revocation list's sequence never steps back.
func (s *Service) MaxRevocationID(ctx context.Context) (int64, error) {
	var id int64
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		var err error
		id, err = tx.MaxRevocationID(ctx)
		return err
	})
	return id, err
}
