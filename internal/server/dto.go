package server

import (
	"encoding/json"
	"net/url"
	"time"

	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/schemas"
)

// The JSON shapes of the API, documented in openapi.yaml. Times are RFC
// 3339 in UTC; absent times are left out.

type recordKeyJSON struct {
	Site     string `json:"site"`
	RecordID string `json:"record_id"`
}

func (k recordKeyJSON) key() service.RecordKey {
	return service.RecordKey{Site: k.Site, RecordID: k.RecordID}
}

func keyJSON(k service.RecordKey) recordKeyJSON {
	return recordKeyJSON{Site: k.Site, RecordID: k.RecordID}
}

// personDetailsJSON is a person's names and birth date, without the
// national ID number (the credential or the path names the person).
type personDetailsJSON struct {
	FamilyName string `json:"family_name"`
	GivenName  string `json:"given_name"`
	BirthDate  string `json:"birth_date"`
}

func (p personDetailsJSON) person() issuer.Person {
	return issuer.Person{FamilyName: p.FamilyName, GivenName: p.GivenName, BirthDate: p.BirthDate}
}

// rowJSON is one dose's outcome in an upload report.
type rowJSON struct {
	Row      int             `json:"row"`
	Site     string          `json:"site"`
	RecordID string          `json:"record_id"`
	Outcome  service.Outcome `json:"outcome"`
	Notes    []service.Note  `json:"notes,omitempty"`
	Errors   []fieldJSON     `json:"errors,omitempty"`
}

func rowOf(r service.RowResult) rowJSON {
	out := rowJSON{Row: r.Row, Site: r.Site, RecordID: r.RecordID, Outcome: r.Outcome, Notes: r.Notes}
	if len(r.Errors) > 0 {
		out.Errors = fieldsOf(r.Errors)
	}
	return out
}

type summaryJSON struct {
	BatchID   string `json:"batch_id"`
	Rows      int    `json:"rows"`
	Stored    int    `json:"stored"`
	Already   int    `json:"already_stored_by_this_batch"`
	Duplicate int    `json:"duplicate_of_existing"`
	Merged    int    `json:"merged_with_other_site"`
	Rejected  int    `json:"rejected"`
}

func summaryOf(s service.BatchSummary) summaryJSON {
	return summaryJSON{BatchID: s.BatchID, Rows: s.Rows, Stored: s.Stored, Already: s.Already, Duplicate: s.Duplicate,
		Merged: s.Merged, Rejected: s.Rejected}
}

// batchJSON is the stored outcome of an upload.
type batchJSON struct {
	Key      string      `json:"key"`
	Kind     string      `json:"kind"`
	Complete bool        `json:"complete"`
	Error    string      `json:"error,omitempty"`
	LastRow  int         `json:"last_row"`
	Summary  summaryJSON `json:"summary"`
	Rows     []rowJSON   `json:"rows"`
	// NextAfter is the after_row of the next page, 0 when this is the last.
	NextAfter int `json:"next_after_row,omitempty"`
}

// identityClaimJSON is an identity claim (personal data: reviewers only).
type identityClaimJSON struct {
	ID         int64     `json:"id"`
	Site       string    `json:"site"`
	RecordID   string    `json:"record_id"`
	FamilyName string    `json:"family_name"`
	GivenName  string    `json:"given_name"`
	BirthDate  string    `json:"birth_date"`
	FiledAt    time.Time `json:"filed_at"`
	Resolved   bool      `json:"resolved"`
}

// sitePermissionJSON is a site's permissions.
type sitePermissionJSON struct {
	Site      string    `json:"site"`
	Finalise  bool      `json:"finalise_at_source"`
	GrantedBy string    `json:"granted_by,omitempty"`
	GrantedAt time.Time `json:"granted_at,omitzero"`
}

// batchEndJSON is the last line of a bulk-upload report.
type batchEndJSON struct {
	Summary summaryJSON `json:"summary"`
	Error   *apiError   `json:"error,omitempty"`
}

// recordJSON is one version of a dose record.
type recordJSON struct {
	issuer.Dose
	Person    int64     `json:"person"`
	Version   int       `json:"version"`
	Merged    bool      `json:"merged,omitempty"`
	ChangedAt time.Time `json:"changed_at"`
	ChangedBy string    `json:"changed_by"`
	Reason    string    `json:"reason,omitempty"`
}

func recordOf(d *service.DoseRecord) recordJSON {
	return recordJSON{Dose: issuer.Dose(d.DoseFields), Person: d.PersonID, Version: d.Version, Merged: d.MergedInto != 0,
		ChangedAt: d.ChangedAt, ChangedBy: d.ChangedBy, Reason: d.Reason}
}

func recordsOf(ds []*service.DoseRecord) []recordJSON {
	out := make([]recordJSON, len(ds))
	for i, d := range ds {
		out[i] = recordOf(d)
	}
	return out
}

type finaliseJSON struct {
	recordKeyJSON
	Outcome service.Outcome `json:"outcome"`
	Code    string          `json:"code,omitempty"`
}

type reviewJSON struct {
	ID          int64     `json:"id"`
	Person      int64     `json:"person"`
	DoseNumbers []int     `json:"dose_numbers"`
	Identity    bool      `json:"identity"`
	OpenedAt    time.Time `json:"opened_at"`
	Resolved    bool      `json:"resolved"`
	ResolvedAt  time.Time `json:"resolved_at,omitzero"`
	ResolvedBy  string    `json:"resolved_by,omitempty"`
	Note        string    `json:"note,omitempty"`
}

func reviewOf(r *service.Review) reviewJSON {
	return reviewJSON{ID: r.ID, Person: r.PersonID, DoseNumbers: r.DoseNumbers, Identity: r.Identity, OpenedAt: r.OpenedAt,
		Resolved: !r.ResolvedAt.IsZero(), ResolvedAt: r.ResolvedAt, ResolvedBy: r.ResolvedBy, Note: r.Note}
}

// certificateJSON is a certificate. Staff views carry the person key and
// no HC1 or payload; citizens' single-certificate view carries both.
type certificateJSON struct {
	UVCI      string           `json:"uvci"`
	Status    string           `json:"status"`
	Type      schemas.CertType `json:"type"`
	IssuedAt  time.Time        `json:"issued_at"`
	ExpiresAt time.Time        `json:"expires_at"`
	Person    int64            `json:"person,omitempty"`
	HC1       string           `json:"hc1,omitempty"`
	KID       []byte           `json:"kid,omitempty"`
	Payload   *schemas.DCC     `json:"payload,omitempty"`
	Links     *certLinksJSON   `json:"links,omitempty"`
}

type certLinksJSON struct {
	Self string `json:"self"`
	PNG  string `json:"png"`
	PDF  string `json:"pdf"`
}

func certSummary(c *service.Certificate) certificateJSON {
	return certificateJSON{UVCI: c.UVCI, Status: c.Status, Type: c.Payload.Type(), IssuedAt: c.IssuedAt,
		ExpiresAt: c.ExpiresAt}
}

func staffCert(c *service.Certificate) certificateJSON {
	out := certSummary(c)
	out.Person = c.PersonID
	return out
}

func citizenCert(c *service.Certificate, full bool) certificateJSON {
	out := certSummary(c)
	self := "/v1/me/certificates/" + url.PathEscape(c.UVCI)
	out.Links = &certLinksJSON{Self: self, PNG: self + ".png", PDF: self + ".pdf"}
	if full {
		out.HC1, out.KID, out.Payload = c.HC1, c.KID, c.Payload
	}
	return out
}

// correctionJSON is a correction request. Person and DecidedBy are in
// staff views only.
type correctionJSON struct {
	ID             int64           `json:"id"`
	Kind           string          `json:"kind"`
	Description    string          `json:"description"`
	Dose           json.RawMessage `json:"dose,omitempty"`
	Record         *recordKeyJSON  `json:"record,omitempty"`
	Status         string          `json:"status"`
	HasPhoto       bool            `json:"has_photo"`
	FiledAt        time.Time       `json:"filed_at"`
	DecidedAt      time.Time       `json:"decided_at,omitzero"`
	DecisionReason string          `json:"decision_reason,omitempty"`
	Person         int64           `json:"person,omitempty"`
	DecidedBy      string          `json:"decided_by,omitempty"`
}

func correctionOf(c *service.Correction, staffView bool) correctionJSON {
	out := correctionJSON{ID: c.ID, Kind: c.Kind, Description: c.Description, Status: c.Status,
		HasPhoto: c.PhotoType != "", FiledAt: c.FiledAt, DecidedAt: c.DecidedAt, DecisionReason: c.DecisionReason}
	if json.Valid(c.Dose) {
		out.Dose = c.Dose
	}
	if c.Record.Site != "" {
		k := keyJSON(c.Record)
		out.Record = &k
	}
	if staffView {
		out.Person, out.DecidedBy = c.PersonID, c.DecidedBy
	}
	return out
}

func correctionsOf(cs []*service.Correction, staffView bool) []correctionJSON {
	out := make([]correctionJSON, len(cs))
	for i, c := range cs {
		out[i] = correctionOf(c, staffView)
	}
	return out
}

type tokenJSON struct {
	ID        string    `json:"id"`
	Role      string    `json:"role"`
	Site      string    `json:"site,omitempty"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	// Token is the plaintext, in the creation response only.
	Token string `json:"token,omitempty"`
}

func tokenOf(t *service.Token) tokenJSON {
	return tokenJSON{ID: t.ID, Role: string(t.Role), Site: t.Site, Name: t.Name, CreatedAt: t.CreatedAt,
		CreatedBy: t.CreatedBy, RevokedAt: t.RevokedAt}
}

type auditJSON struct {
	ID        int64           `json:"id"`
	At        time.Time       `json:"at"`
	ActorKind string          `json:"actor_kind"`
	ActorID   string          `json:"actor_id"`
	ActorRole string          `json:"actor_role,omitempty"`
	Action    string          `json:"action"`
	Subject   string          `json:"subject"`
	Before    json.RawMessage `json:"before"`
	After     json.RawMessage `json:"after"`
}

func auditOf(e *service.AuditEntry) auditJSON {
	raw := func(s string) json.RawMessage {
		if !json.Valid([]byte(s)) {
			return json.RawMessage("{}")
		}
		return json.RawMessage(s)
	}
	return auditJSON{ID: e.ID, At: e.At, ActorKind: e.ActorKind, ActorID: e.ActorID, ActorRole: e.ActorRole,
		Action: e.Action, Subject: e.Subject, Before: raw(e.Before), After: raw(e.After)}
}
