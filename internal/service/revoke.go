package service

import (
	"context"
	"strings"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/issuer"
)

// ReasonRevokedByStaff prefixes the reason a reviewer gives when revoking
// certificates directly (fraud, a leaked or forged certificate, ...).
const ReasonRevokedByStaff = "revoked by staff: "

// Revoke names what to revoke: one certificate by UVCI, or every
// certificate of a person by national ID (exactly one of the two), and
// why (required, stored and audited).
type Revoke struct {
	UVCI       string `json:"uvci,omitempty"`
	NationalID string `json:"national_id,omitempty"`
	Reason     string `json:"reason"`
}

// Revoked is the outcome of Revoke: how many certificates were added to
// the revocation list (0 when they all were on it already).
type Revoked struct {
	Revoked int `json:"revoked"`
}

// Revoke puts certificates on the revocation list, for fraud or any
// reason a correction does not cover: the one with r.UVCI, or every
// certificate of the person with r.NationalID. A current certificate
// stops being current. Certificates already revoked are left as they are,
// so a repeated request changes nothing. The signed revocation list
// carries them (as hashes) from its next publication. Each revocation is
// audited (action cert.revoke). Revoking does not void the person's
// records: the records that are fraudulent must be voided too, or the
// next issuance signs a new certificate from them. Errors: ErrForbidden
// (reviewers only), ErrInvalid (both or neither of uvci and national_id,
// no reason), ErrNotFound.
func (s *Service) Revoke(ctx context.Context, actor Actor, r Revoke) (Revoked, error) {
	if err := allow(actor, auth.PermReviewCorrections); err != nil {
		return Revoked{}, err
	}
	if err := checkReason(r.Reason); err != nil {
		return Revoked{}, err
	}
	r.UVCI, r.NationalID = strings.TrimSpace(r.UVCI), strings.TrimSpace(r.NationalID)
	switch {
	case r.UVCI == "" && r.NationalID == "":
		return Revoked{}, invalid("uvci", issuer.ErrMissing)
	case r.UVCI != "" && r.NationalID != "":
		return Revoked{}, invalid("national_id", issuer.ErrInvalid)
	}
	var out Revoked
	err := s.st.Write(ctx, func(tx *store.Tx) error {
		out = Revoked{}
		var certs []*store.Certificate
		if r.UVCI != "" {
			c, err := tx.CertificateByUVCI(ctx, r.UVCI)
			if err != nil {
				return err
			}
			certs = []*store.Certificate{c}
		} else {
			p, err := tx.PersonByNationalID(ctx, r.NationalID)
			if err != nil {
				return err
			}
			if certs, err = tx.CertificatesOfPerson(ctx, p.ID); err != nil {
				return err
			}
		}
		ids := make([]int64, len(certs))
		for i, c := range certs {
			ids[i] = c.ID
		}
		done, err := tx.RevokedIDs(ctx, ids)
		if err != nil {
			return err
		}
		c := newChanges(staffOrSystem(actor), s.clock())
		var ended []int64
		var revs []*store.Revocation
		for _, cert := range certs {
			if done[cert.ID] {
				continue
			}
			if cert.Status == store.CertCurrent {
				ended = append(ended, cert.ID)
			}
			c.record("cert.revoke", certSubject(cert.UVCI), map[string]any{"status": cert.Status},
				map[string]any{"reason": ReasonRevokedByStaff + r.Reason})
			revs = append(revs, &store.Revocation{CertificateID: cert.ID, UVCI: cert.UVCI,
				Reason: ReasonRevokedByStaff + r.Reason, RevokedAt: c.at, RevokedBy: c.by.id})
		}
		if err := tx.EndCertificates(ctx, ended, store.CertRevoked); err != nil {
			return err
		}
		if err := tx.InsertRevocations(ctx, revs); err != nil {
			return err
		}
		out.Revoked = len(revs)
		return tx.InsertAudit(ctx, c.audit)
	})
	return out, err
}
