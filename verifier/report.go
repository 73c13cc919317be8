package verifier

import (
	"encoding/json"
	"time"

	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/schemas"
)

// Report is a Result in the public JSON form shared by `vaxcert verify
// --json` and the HTTP endpoint (documented in the README). Members after
// Errors are empty, and omitted from JSON, when the pipeline stopped before
// it learnt them; when Valid is false nothing in it is verified.
type Report struct {
	Valid       bool              `json:"valid"`
	Reason      Reason            `json:"reason"`
	Checks      map[string]string `json:"checks"` // every check: "pass", "fail" or "skip"
	Errors      map[string]string `json:"errors"` // a message per failed check
	KID         string            `json:"kid,omitempty"`
	Alg         string            `json:"alg,omitempty"`
	Issuer      string            `json:"issuer,omitempty"`
	IssuedAt    string            `json:"issued_at,omitempty"`
	ExpiresAt   string            `json:"expires_at,omitempty"`
	Type        schemas.CertType  `json:"type,omitempty"`
	Certificate json.RawMessage   `json:"certificate,omitempty"`
}

// Report returns r in the public JSON form. It renders the payload from
// the raw CBOR, so it is not for the hot path.
func (r *Result) Report() Report {
	out := Report{
		Valid:  r.Valid(),
		Reason: r.Reason(),
		Checks: make(map[string]string, numChecks),
		Errors: map[string]string{},
		Issuer: r.Issuer,
		Type:   r.Type,
	}
	for i, c := range Checks {
		out.Checks[string(c)] = r.Checks[i].Status.String()
		if err := r.Checks[i].Err; err != nil {
			out.Errors[string(c)] = err.Error()
		}
	}
	if len(r.KID) > 0 {
		out.KID = keys.KIDString(r.KID)
	}
	if r.Alg != keys.AlgNone {
		out.Alg = r.Alg.String()
	}
	if !r.IssuedAt.IsZero() {
		out.IssuedAt = r.IssuedAt.UTC().Format(time.RFC3339)
		out.ExpiresAt = r.ExpiresAt.UTC().Format(time.RFC3339)
	}
	// A payload that cannot be rendered as JSON is left out; the schema
	// check reports what is wrong with it.
	if p, err := r.PayloadJSON(); err == nil && p != nil {
		out.Certificate = p
	}
	return out
}
