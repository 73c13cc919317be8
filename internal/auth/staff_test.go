package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestNewStaffToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		plain, hash, err := NewStaffToken()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(plain, StaffTokenPrefix) || len(plain) != 47 {
			t.Fatalf("token shape: prefix %q, length %d; want %q and 47", plain[:4], len(plain), StaffTokenPrefix)
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimPrefix(plain, StaffTokenPrefix))
		if err != nil || len(raw) != 32 {
			t.Fatalf("random part: %d bytes, %v; want 32 bytes of base64url", len(raw), err)
		}
		if !bytes.Equal(hash, HashStaffToken(plain)) {
			t.Fatal("returned hash differs from HashStaffToken(plaintext)")
		}
		if got, err := BearerToken("Bearer " + plain); err != nil || got != plain {
			t.Fatalf("BearerToken does not round-trip a staff token: %v", err)
		}
		if seen[plain] {
			t.Fatal("duplicate token")
		}
		seen[plain] = true
	}
}

func TestHashStaffToken(t *testing.T) {
	tests := []struct {
		in   string
		want string // sha256sum of the input
	}{
		{in: "vxs_" + strings.Repeat("A", 43), want: "deac1116766a31817844d45c5bf44890ba4c5894b890a0244d0b65de5143b35d"},
		{in: "", want: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	}
	for _, tc := range tests {
		if got := hex.EncodeToString(HashStaffToken(tc.in)); got != tc.want {
			t.Errorf("HashStaffToken(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		in      string
		want    Role
		wantErr error
	}{
		{in: "uploader", want: RoleUploader},
		{in: "finaliser", want: RoleFinaliser},
		{in: "reviewer", want: RoleReviewer},
		{in: "admin", want: RoleAdmin},
		{in: "", wantErr: ErrUnknownRole},
		{in: "Admin", wantErr: ErrUnknownRole},
		{in: "finalizer", wantErr: ErrUnknownRole},
		{in: "admin ", wantErr: ErrUnknownRole},
		{in: "root", wantErr: ErrUnknownRole},
	}
	for _, tc := range tests {
		got, err := ParseRole(tc.in)
		if !errors.Is(err, tc.wantErr) || got != tc.want {
			t.Errorf("ParseRole(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

// TestRoleAllows checks the whole permission matrix, cell by cell, plus
// unknown roles and permissions.
func TestRoleAllows(t *testing.T) {
	allPerms := []Permission{PermUpload, PermFinalise, PermReviewCorrections, PermIssue, PermReadAudit, PermManageTokens}
	matrix := map[Role][]Permission{
		RoleUploader:  {PermUpload},
		RoleFinaliser: {PermFinalise, PermIssue},
		RoleReviewer:  {PermReviewCorrections},
		RoleAdmin:     {PermReadAudit, PermManageTokens},
		Role(""):      nil,
		Role("root"):  nil,
		Role("Admin"): nil,
	}
	for role, granted := range matrix {
		for _, p := range append(allPerms, Permission(0), Permission(99)) {
			want := false
			for _, g := range granted {
				want = want || g == p
			}
			if got := role.Allows(p); got != want {
				t.Errorf("Role(%q).Allows(%v) = %v, want %v", role, p, got, want)
			}
		}
	}
	// Every permission is granted to exactly one role: duties are separated.
	for _, p := range allPerms {
		n := 0
		for _, r := range []Role{RoleUploader, RoleFinaliser, RoleReviewer, RoleAdmin} {
			if r.Allows(p) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%v granted to %d roles, want 1", p, n)
		}
	}
}

func TestPermissionString(t *testing.T) {
	want := map[Permission]string{
		PermUpload: "upload", PermFinalise: "finalise", PermReviewCorrections: "review-corrections",
		PermIssue: "issue", PermReadAudit: "read-audit", PermManageTokens: "manage-tokens",
		Permission(0): "permission(0)", Permission(7): "permission(7)",
	}
	for p, s := range want {
		if got := p.String(); got != s {
			t.Errorf("Permission(%d).String() = %q, want %q", int(p), got, s)
		}
	}
}
