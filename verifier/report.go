package verifier

import (
	"encoding/json"
	"time"

	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/schemas"
)

// Report is a Result in the public JSON form shared by `vaxcert verify
// --json` and the HTTP endpoint (documented in the README). Members after
// Errors are empty, and omitted from JSON, when the pipeline did not verify
// them: the kid once the COSE message was parsed; alg, issuer, the times,
// the type and warnings once the signature verified; the certificate only
// when Valid is true.
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
	Warnings    []Warning         `json:"warnings,omitempty"`
	Certificate json.RawMessage   `json:"certificate,omitempty"`
}

// Report returns r in the public JSON form. It renders the payload from
// the signed CBOR, so it is not for the hot path.
func (r *Result) Report() Report {
	order := r.checkOrder()
	out := Report{
		Valid:    r.Valid(),
		Reason:   r.Reason(),
		Checks:   make(map[string]string, len(order)),
		Errors:   map[string]string{},
		Issuer:   r.Issuer(),
		Type:     r.Type(),
		Warnings: r.Warnings(),
	}
	for i := range order {
		c := r.outcome(i)
		out.Checks[string(c.Check)] = c.Status.String()
		if c.Err != nil {
			out.Errors[string(c.Check)] = c.Err.Error()
		}
	}
	if kid := r.KID(); len(kid) > 0 {
		out.KID = keys.KIDString(kid)
	}
	if alg := r.Alg(); alg != keys.AlgNone {
		out.Alg = alg.String()
	}
	if iat := r.IssuedAt(); !iat.IsZero() {
		out.IssuedAt = iat.UTC().Format(time.RFC3339)
		out.ExpiresAt = r.ExpiresAt().UTC().Format(time.RFC3339)
	}
	// Only a valid certificate's payload is shown. One that cannot be
	// rendered as JSON is left out.
	if c := r.Certificate(); c != nil {
		if p, err := c.PayloadJSON(); err == nil && p != nil {
			out.Certificate = p
		}
	}
	return out
}
