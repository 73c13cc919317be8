package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// StaffTokenPrefix starts every staff API token, so that a leaked token is
// easy to find with grep and secret scanners.
const StaffTokenPrefix = "vxs_"

// staffTokenBytes is the random part of a staff token: 256 bits.
const staffTokenBytes = 32

// NewStaffToken returns a new staff API token and its SHA-256 hash: the
// prefix [StaffTokenPrefix] followed by 32 random bytes in unpadded
// base64url (47 characters in all).
//
// Show the plaintext to its holder once and store only the hash (see
// [HashStaffToken]); the plaintext is a credential and must never be
// logged.
func NewStaffToken() (plaintext string, hash []byte, err error) {
	var b [staffTokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("auth: failed to generate staff token: %w", err)
	}
	plaintext = StaffTokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return plaintext, HashStaffToken(plaintext), nil
}

// HashStaffToken returns the SHA-256 of a presented staff token, the value
// the service stores and looks tokens up by. A fast unsalted hash is enough
// because the token carries 256 random bits: there is nothing to guess.
func HashStaffToken(plaintext string) []byte {
	h := sha256.Sum256([]byte(plaintext))
	return h[:]
}

// Role is a staff role. The service stores it with the token hash.
type Role string

// Staff roles. See [Role.Allows] for what each may do.
const (
	// RoleUploader uploads dose records for one vaccination site; the
	// service binds the token to that site and must check every uploaded
	// record's site against it.
	RoleUploader Role = "uploader"
	// RoleFinaliser finalises uploaded records and issues certificates.
	RoleFinaliser Role = "finaliser"
	// RoleReviewer reviews citizens' correction requests.
	RoleReviewer Role = "reviewer"
	// RoleAdmin manages staff tokens and reads the audit log.
	RoleAdmin Role = "admin"
)

// ParseRole returns the role named s (exact, lowercase), or an error
// wrapping [ErrUnknownRole].
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleUploader, RoleFinaliser, RoleReviewer, RoleAdmin:
		return r, nil
	}
	return "", ErrUnknownRole
}

// Permission is an action on the issuer service that a staff endpoint
// requires.
type Permission int

// Permissions, one per group of staff endpoints.
const (
	// PermUpload: upload dose records (single or bulk).
	PermUpload Permission = iota + 1
	// PermFinalise: finalise uploaded dose records.
	PermFinalise
	// PermReviewCorrections: list, approve or reject correction requests.
	PermReviewCorrections
	// PermIssue: issue or re-issue certificates for finalised records.
	PermIssue
	// PermReadAudit: read the audit log.
	PermReadAudit
	// PermManageTokens: create, list and revoke staff tokens.
	PermManageTokens
)

var permissionNames = [...]string{
	PermUpload:            "upload",
	PermFinalise:          "finalise",
	PermReviewCorrections: "review-corrections",
	PermIssue:             "issue",
	PermReadAudit:         "read-audit",
	PermManageTokens:      "manage-tokens",
}

// String returns the permission's name, for logs and audit entries.
func (p Permission) String() string {
	if p > 0 && int(p) < len(permissionNames) {
		return permissionNames[p]
	}
	return fmt.Sprintf("permission(%d)", int(p))
}

// Allows reports whether role r grants permission p. The matrix:
//
//	                     uploader  finaliser  reviewer  admin
//	upload                  x
//	finalise                          x
//	review-corrections                           x
//	issue                             x
//	read-audit                                             x
//	manage-tokens                                          x
//
// Duties are separated: whoever uploads a record cannot finalise it, and
// admin does not inherit the other roles. An admin who must act in another
// role creates a token for it, which leaves an audit trail in that role's
// name. An unknown role or permission allows nothing.
func (r Role) Allows(p Permission) bool {
	switch r {
	case RoleUploader:
		return p == PermUpload
	case RoleFinaliser:
		return p == PermFinalise || p == PermIssue
	case RoleReviewer:
		return p == PermReviewCorrections
	case RoleAdmin:
		return p == PermReadAudit || p == PermManageTokens
	}
	return false
}
