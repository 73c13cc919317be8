package service

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/issuer"
)

// IdentityClaim is an upload row that named a known person with other
// details than the stored ones (see [NoteIdentityReview]). It holds the
// claimed details: personal data, for reviewers only.
type IdentityClaim = store.IdentityClaim

// IdentityClaims returns the person's identity claims, oldest first, open
// and resolved. Requires auth.PermFinalise or auth.PermReviewCorrections.
func (s *Service) IdentityClaims(ctx context.Context, actor Actor, personID int64) ([]*IdentityClaim, error) {
	if err := allow(actor, auth.PermFinalise, auth.PermReviewCorrections); err != nil {
		return nil, err
	}
	var out []*store.IdentityClaim
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		if _, err := tx.Person(ctx, personID); err != nil {
			return err
		}
		var err error
		out, err = tx.IdentityClaims(ctx, personID, false)
		return err
	})
	return out, err
}

// SitePermission is what an admin granted a vaccination site.
type SitePermission = store.SitePermission

// SetSitePermission grants (finalise true) or withdraws a site's
// permission to finalise at the source: with it, the site's uploaders'
// "finalised" rows are stored finalised and count towards certificates at
// once; without it (the default) they are stored as drafts for a finaliser
// ([NoteStoredAsDraft]). Requires auth.PermManageTokens (admin).
func (s *Service) SetSitePermission(ctx context.Context, actor Actor, site string, finalise bool) (*SitePermission, error) {
	if err := allow(actor, auth.PermManageTokens); err != nil {
		return nil, err
	}
	if !validSite(site) {
		return nil, invalid("site", issuer.ErrInvalid)
	}
	p := &store.SitePermission{Site: site, Finalise: finalise, GrantedBy: actor.ID, GrantedAt: s.clock()}
	err := s.st.Write(ctx, func(tx *store.Tx) error {
		if err := tx.SetSitePermission(ctx, p); err != nil {
			return err
		}
		c := newChanges(staffOrSystem(actor), p.GrantedAt)
		c.record("site.permission", "site:"+site, nil, map[string]any{"finalise": finalise})
		return tx.InsertAudit(ctx, c.audit)
	})
	return p, err
}

// GetSitePermission returns a site's permissions. Requires
// auth.PermManageTokens, or auth.PermUpload for the uploader's own site.
func (s *Service) GetSitePermission(ctx context.Context, actor Actor, site string) (*SitePermission, error) {
	if err := allow(actor, auth.PermManageTokens); err != nil &&
		!(actor.Kind == ActorStaff && actor.Role.Allows(auth.PermUpload) && actor.Site == site) {
		return nil, err
	}
	var p *store.SitePermission
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		var err error
		p, err = tx.SitePermission(ctx, site)
		return err
	})
	return p, err
}

func validSite(site string) bool {
	return site != "" && len(site) <= 64 && ValidKey(site)
}

// BatchReport is the stored outcome of an upload.
type BatchReport struct {
	Key string
	// Kind is "batch" (bulk upload) or "record" (single record post).
	Kind string
	// Complete: the whole upload was read and its rows committed. An
	// incomplete batch was cut (connection lost, server stopped): re-send
	// it with the same key to continue.
	Complete bool
	// Error is the code of the error that ended the upload early
	// ("too_many_rows"), if any.
	Error string
	// LastRow is the last row whose outcome is committed.
	LastRow int
	// Summary totals the committed outcomes.
	Summary BatchSummary
	// Rows are the committed outcomes of the page asked for.
	Rows []RowResult
}

// Batch returns the stored outcome of an upload (bulk or single record)
// made under key by the caller's site (or token): whether it completed,
// its totals and the outcomes of up to limit doses with a row number after
// afterRow. It is the same after a server restart. Requires
// auth.PermUpload. An unknown key, or another site's, is [ErrNotFound].
func (s *Service) Batch(ctx context.Context, actor Actor, key string, afterRow, limit int) (*BatchReport, error) {
	if err := allow(actor, auth.PermUpload); err != nil {
		return nil, err
	}
	if !ValidKey(key) {
		return nil, ErrNotFound
	}
	limit = Page{Limit: limit}.limit()
	var out *BatchReport
	err := s.st.Read(ctx, func(tx *store.Tx) error {
		b, err := tx.Batch(ctx, ownerOf(actor), key, false)
		if err != nil {
			return err
		}
		if b.Kind == kindCorrection {
			return ErrNotFound
		}
		rows, err := tx.BatchRows(ctx, b.Owner, b.Key, int64(afterRow), 0, limit)
		if err != nil {
			return err
		}
		out = &BatchReport{Key: b.Key, Kind: b.Kind, Complete: b.State == store.BatchComplete, Error: b.Error,
			LastRow: int(b.LastRow), Summary: BatchSummary{BatchID: b.Key, Rows: int(b.Rows), Stored: int(b.Stored),
				Already: int(b.Already), Duplicate: int(b.Duplicate), Merged: int(b.Merged), Rejected: int(b.Rejected)}}
		for _, r := range rows {
			out.Rows = append(out.Rows, rowResultOf(r))
		}
		return nil
	})
	return out, err
}

// correctionByKey returns the correction an earlier request of the person
// filed under key, or nil after recording that this request files it.
func correctionByKey(ctx context.Context, tx *store.Tx, personID int64, key string, at time.Time) (*store.Correction, *store.Batch, error) {
	b, created, err := tx.OpenBatch(ctx, personSubject(personID), key, kindCorrection, at)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case b.Kind != kindCorrection:
		return nil, nil, ErrConflict
	case created || b.Result == "":
		return nil, b, nil
	}
	id, err := strconv.ParseInt(b.Result, 10, 64)
	if err != nil {
		return nil, nil, errors.New("service: stored idempotent result is not a correction id")
	}
	c, err := tx.Correction(ctx, id)
	return c, b, err
}
