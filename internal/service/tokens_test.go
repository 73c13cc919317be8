package service

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/store/storetest"
	"github.com/vaxcert/vaxcert/issuer"
)

func TestTokens(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		// The first admin token comes from the system (command line).
		plainAdmin, _, err := e.s.CreateToken(e.ctx, system, auth.RoleAdmin, "", "bootstrap")
		if err != nil {
			t.Fatal(err)
		}
		adm, err := e.s.LookupToken(e.ctx, plainAdmin)
		if err != nil || adm.Kind != ActorStaff || adm.Role != auth.RoleAdmin {
			t.Fatalf("admin actor %+v (%v)", adm, err)
		}
		tests := []struct {
			name  string
			actor Actor
			role  auth.Role
			site  string
			label string
			want  error
		}{
			{"uploader", adm, auth.RoleUploader, "S1", "Site 1 uploader", nil},
			{"uploader without site", adm, auth.RoleUploader, "", "x", ErrInvalid},
			{"finaliser with site", adm, auth.RoleFinaliser, "S1", "x", ErrInvalid},
			{"unknown role", adm, "root", "", "x", ErrInvalid},
			{"no name", adm, auth.RoleReviewer, "", " ", ErrInvalid},
			{"by a non-admin", finaliser, auth.RoleReviewer, "", "x", ErrForbidden},
		}
		var upPlain string
		var upID string
		for _, tc := range tests {
			plain, tok, err := e.s.CreateToken(e.ctx, tc.actor, tc.role, tc.site, tc.label)
			wantErr(t, tc.name, err, tc.want)
			if err == nil {
				upPlain, upID = plain, tok.ID
				if !strings.HasPrefix(plain, auth.StaffTokenPrefix) || tok.Site != "S1" || tok.CreatedBy != adm.ID {
					t.Errorf("%s: token %q %+v", tc.name, plain, tok)
				}
			}
		}
		up, err := e.s.LookupToken(e.ctx, upPlain)
		if err != nil || up != (Actor{Kind: ActorStaff, ID: upID, Role: auth.RoleUploader, Site: "S1"}) {
			t.Fatalf("uploader actor %+v (%v)", up, err)
		}
		for _, bad := range []string{"", "vxs_nope", upPlain + "x", "Bearer " + upPlain} {
			_, err := e.s.LookupToken(e.ctx, bad)
			wantErr(t, "lookup of a wrong token", err, ErrUnauthenticated)
		}
		wantErr(t, "revoke by a non-admin", e.s.RevokeToken(e.ctx, up, upID), ErrForbidden)
		wantErr(t, "revoke unknown", e.s.RevokeToken(e.ctx, adm, "tok_nope"), ErrNotFound)
		wantErr(t, "revoke", e.s.RevokeToken(e.ctx, adm, upID), nil)
		wantErr(t, "revoke again", e.s.RevokeToken(e.ctx, adm, upID), nil)
		_, err = e.s.LookupToken(e.ctx, upPlain)
		wantErr(t, "lookup of a revoked token", err, ErrUnauthenticated)
		list, err := e.s.ListTokens(e.ctx, adm)
		if err != nil || len(list) != 2 {
			t.Fatalf("tokens %+v (%v)", list, err)
		}
		for _, tok := range list {
			if revoked := !tok.RevokedAt.IsZero(); revoked != (tok.ID == upID) {
				t.Errorf("token %s (%s): revoked %v", tok.ID, tok.Role, revoked)
			}
		}
		audit, _ := e.s.ListAudit(e.ctx, adm, AuditFilter{Subject: "token:" + upID}, Page{})
		if len(audit) != 2 || audit[0].Action != "token.create" || audit[1].Action != "token.revoke" ||
			strings.Contains(audit[0].After, "Site 1 uploader") {
			t.Errorf("token audit %+v: want create and revoke, without the name", audit)
		}
	})
}

// TestPermissions checks each method refuses the roles it should.
func TestPermissions(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"))
	ctx := context.Background()
	key := RecordKey{Site: "S1", RecordID: "R1"}
	citizen := Actor{Kind: ActorCitizen, ID: citizenA}
	calls := map[string]func(Actor) error{
		"SubmitRecord": func(a Actor) error {
			_, err := e.s.SubmitRecord(ctx, a, record(citizenA, dose("S1", "R1", 1, issuer.StatusDraft)))
			return err
		},
		"IngestBatch": func(a Actor) error {
			_, err := e.s.IngestBatch(ctx, a, FormatNDJSON, strings.NewReader(""), nil)
			return err
		},
		"Finalise":        func(a Actor) error { return e.s.Finalise(ctx, a, key) },
		"AmendRecord":     func(a Actor) error { _, err := e.s.AmendRecord(ctx, a, key, issuer.Dose{}, "r"); return err },
		"VoidRecord":      func(a Actor) error { _, err := e.s.VoidRecord(ctx, a, key, "r"); return err },
		"ListReviewQueue": func(a Actor) error { _, err := e.s.ListReviewQueue(ctx, a, Page{}); return err },
		"IssueFor":        func(a Actor) error { _, err := e.s.IssueFor(ctx, a, 1); return err },
		"StartIssueAll":   func(a Actor) error { _, err := e.s.StartIssueAll(ctx, a); return err },
		"ListCorrections": func(a Actor) error { _, err := e.s.ListCorrections(ctx, a, "", Page{}); return err },
		"DecideCorrection": func(a Actor) error {
			_, _, err := e.s.DecideCorrection(ctx, a, 1, Decision{Reason: "r"})
			return err
		},
		"CreateToken": func(a Actor) error {
			_, _, err := e.s.CreateToken(ctx, a, auth.RoleReviewer, "", "n")
			return err
		},
		"ListAudit": func(a Actor) error { _, err := e.s.ListAudit(ctx, a, AuditFilter{}, Page{}); return err },
	}
	// Allowed roles per method; everyone else (and every citizen) is
	// refused with ErrForbidden.
	allowed := map[string][]Actor{
		"SubmitRecord": {uploader("S1")}, "IngestBatch": {uploader("S1")},
		"Finalise": {finaliser}, "AmendRecord": {finaliser, reviewer}, "VoidRecord": {finaliser, reviewer},
		"ListReviewQueue": {finaliser, reviewer}, "IssueFor": {finaliser}, "StartIssueAll": {finaliser},
		"ListCorrections": {reviewer}, "DecideCorrection": {reviewer},
		"CreateToken": {admin}, "ListAudit": {admin},
	}
	for name, call := range calls {
		for _, a := range []Actor{uploader("S1"), finaliser, reviewer, admin, citizen} {
			err := call(a)
			ok := false
			for _, b := range allowed[name] {
				ok = ok || b == a
			}
			if ok == errors.Is(err, ErrForbidden) {
				t.Errorf("%s by %s/%s: error %v, allowed %v", name, a.Kind, a.Role, err, ok)
			}
		}
	}
}
