package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/textcheck"
	"github.com/vaxcert/vaxcert/issuer"
)

// Token is a staff API token's record; the token itself is never stored.
type Token struct {
	ID        string
	Role      auth.Role
	Site      string // uploaders only
	Name      string // a label for people; never logged
	CreatedAt time.Time
	CreatedBy string
	RevokedAt time.Time
}

func tokenOf(t *store.Token) *Token {
	return &Token{ID: t.ID, Role: auth.Role(t.Role), Site: t.Site, Name: t.Name, CreatedAt: t.CreatedAt,
		CreatedBy: t.CreatedBy, RevokedAt: t.RevokedAt}
}

// Tokens manages staff API tokens on a store. A [Service] has one (see
// [Service.CreateToken]); the command line (vaxcert tokens) uses one
// directly, since creating the first admin token needs no signing keys.
type Tokens struct {
	st  *store.Store
	now func() time.Time
}

// NewTokens returns the token manager of st; now is the clock (nil:
// time.Now).
func NewTokens(st *store.Store, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{st: st, now: now}
}

func (m *Tokens) clock() time.Time { return m.now().UTC().Truncate(time.Microsecond) }

// CreateToken creates a staff API token: see [Tokens.Create].
func (s *Service) CreateToken(ctx context.Context, actor Actor, role auth.Role, site, name string) (string, *Token, error) {
	return s.tokens.Create(ctx, actor, role, site, name)
}

// LookupToken authenticates a staff token: see [Tokens.Lookup].
func (s *Service) LookupToken(ctx context.Context, plaintext string) (Actor, error) {
	return s.tokens.Lookup(ctx, plaintext)
}

// RevokeToken revokes a staff token: see [Tokens.Revoke].
func (s *Service) RevokeToken(ctx context.Context, actor Actor, id string) error {
	return s.tokens.Revoke(ctx, actor, id)
}

// ListTokens returns every staff token's record: see [Tokens.List].
func (s *Service) ListTokens(ctx context.Context, actor Actor) ([]*Token, error) {
	return s.tokens.List(ctx, actor)
}

// Create creates a staff API token and returns it in plaintext, once:
// only its SHA-256 is stored. An uploader token needs a site, other roles
// none; name is a label (required). Site and name must be text without
// control characters. Requires auth.PermManageTokens; the first admin
// token is created by an [ActorSystem] actor (vaxcert tokens create).
func (m *Tokens) Create(ctx context.Context, actor Actor, role auth.Role, site, name string) (string, *Token, error) {
	if err := allow(actor, auth.PermManageTokens); err != nil {
		return "", nil, err
	}
	var fields []*issuer.FieldError
	if _, err := auth.ParseRole(string(role)); err != nil {
		fields = append(fields, &issuer.FieldError{Field: "role", Err: issuer.ErrInvalid})
	}
	switch {
	case !textcheck.Valid(site):
		fields = append(fields, &issuer.FieldError{Field: "site", Err: textcheck.ErrControl})
	case (role == auth.RoleUploader) != (site != "") || len(site) > limits.MaxRecordField ||
		strings.TrimSpace(site) != site:
		fields = append(fields, &issuer.FieldError{Field: "site", Err: issuer.ErrInvalid})
	}
	switch {
	case !textcheck.Valid(name):
		fields = append(fields, &issuer.FieldError{Field: "name", Err: textcheck.ErrControl})
	case strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > limits.MaxRecordField:
		fields = append(fields, &issuer.FieldError{Field: "name", Err: fieldErr(strings.TrimSpace(name))})
	}
	if len(fields) > 0 {
		return "", nil, &ValidationError{Fields: fields}
	}
	plain, hash, err := auth.NewStaffToken()
	if err != nil {
		return "", nil, err
	}
	var id [8]byte
	rand.Read(id[:])
	t := &store.Token{ID: "tok_" + hex.EncodeToString(id[:]), Hash: hash, Role: string(role), Site: site, Name: name,
		CreatedAt: m.clock(), CreatedBy: actor.ID}
	err = m.st.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertToken(ctx, t); err != nil {
			return err
		}
		c := newChanges(staffOrSystem(actor), t.CreatedAt)
		c.record("token.create", "token:"+t.ID, nil, map[string]any{"role": t.Role, "site": t.Site})
		return tx.InsertAudit(ctx, c.audit)
	})
	if err != nil {
		return "", nil, err
	}
	return plain, tokenOf(t), nil
}

// Lookup returns the actor a presented staff token authenticates, or
// [ErrUnauthenticated] for an unknown or revoked token. The token is looked
// up by its SHA-256, so the lookup's timing reveals nothing about it.
func (m *Tokens) Lookup(ctx context.Context, plaintext string) (Actor, error) {
	if !strings.HasPrefix(plaintext, auth.StaffTokenPrefix) || len(plaintext) > limits.MaxBearerToken {
		return Actor{}, ErrUnauthenticated
	}
	var t *store.Token
	err := m.st.Read(ctx, func(tx *store.Tx) error {
		var err error
		t, err = tx.TokenByHash(ctx, auth.HashStaffToken(plaintext))
		return err
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return Actor{}, ErrUnauthenticated
	case err != nil:
		return Actor{}, err
	case !t.RevokedAt.IsZero():
		return Actor{}, ErrUnauthenticated
	}
	return Actor{Kind: ActorStaff, ID: t.ID, Role: auth.Role(t.Role), Site: t.Site}, nil
}

// Revoke revokes a staff token; revoking it again changes nothing; an
// unknown id is [ErrNotFound]. Requires auth.PermManageTokens.
func (m *Tokens) Revoke(ctx context.Context, actor Actor, id string) error {
	if err := allow(actor, auth.PermManageTokens); err != nil {
		return err
	}
	return m.st.Write(ctx, func(tx *store.Tx) error {
		t, err := tx.Token(ctx, id)
		if err != nil {
			return err
		}
		if !t.RevokedAt.IsZero() {
			return nil
		}
		now := m.clock()
		if err := tx.RevokeToken(ctx, id, now); err != nil {
			return err
		}
		c := newChanges(staffOrSystem(actor), now)
		c.record("token.revoke", "token:"+id, map[string]any{"role": t.Role, "site": t.Site}, map[string]any{"revoked": true})
		return tx.InsertAudit(ctx, c.audit)
	})
}

// List returns every staff token's record. Requires
// auth.PermManageTokens.
func (m *Tokens) List(ctx context.Context, actor Actor) ([]*Token, error) {
	if err := allow(actor, auth.PermManageTokens); err != nil {
		return nil, err
	}
	var ts []*store.Token
	err := m.st.Read(ctx, func(tx *store.Tx) error {
		var err error
		ts, err = tx.Tokens(ctx)
		return err
	})
	out := make([]*Token, len(ts))
	for i, t := range ts {
		out[i] = tokenOf(t)
	}
	return out, err
}

// Active returns how many staff tokens are not revoked, by role.
func (m *Tokens) Active(ctx context.Context) (map[auth.Role]int, error) {
	ts, err := m.List(ctx, Actor{Kind: ActorSystem, ID: "tokens-active"})
	if err != nil {
		return nil, err
	}
	out := map[auth.Role]int{}
	for _, t := range ts {
		if t.RevokedAt.IsZero() {
			out[t.Role]++
		}
	}
	return out, nil
}

// AuditEntry is one entry of the audit trail: who (actor kind, id, role),
// when, the action ("dose.create", "dose.update", "dose.finalise",
// "dose.amend", "dose.void", "person.update", "person.amend", "upload", "review.open",
// "review.resolve", "cert.issue", "cert.revoke", "correction.file",
// "correction.decide", "token.create", "token.revoke", "job.start",
// "job.finish", "job.interrupted"), the subject as opaque ids, and the
// before and after state as JSON objects (ids, versions, statuses and the
// names of changed fields, never personal data).
type AuditEntry = store.AuditEntry

// AuditFilter selects audit entries; zero fields match everything.
type AuditFilter = store.AuditFilter

// ListAudit returns audit entries matching f, oldest first. Requires
// auth.PermReadAudit.
func (s *Service) ListAudit(ctx context.Context, actor Actor, f AuditFilter, page Page) ([]*AuditEntry, error) {
	if err := allow(actor, auth.PermReadAudit); err != nil {
		return nil, err
	}
	var out []*store.AuditEntry
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ListAudit(ctx, f, page.After, page.limit())
		return err
	})
	return out, err
}
