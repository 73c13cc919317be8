package venue_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier/policy"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

func TestDecide(t *testing.T) {
	now := testkit.Now
	dcc := &schemas.DCC{Nam: schemas.Name{FN: "Nguyễn", GN: "Văn Đức"}, Dob: "1990-04-12"}
	full := policy.Outcome{Decision: policy.Full}
	exp := now.AddDate(1, 0, 0)
	tests := []struct {
		name                    string
		f                       venue.Facts
		decision, reason        string
		valid, holder, hasUntil bool
	}{
		{"full", venue.Facts{Usable: true, Valid: true, DCC: dcc, ExpiresAt: exp, Policy: full}, "full", "", true, true, true},
		{"partial", venue.Facts{Usable: true, Valid: true, DCC: dcc, ExpiresAt: exp,
			Policy: policy.Outcome{Decision: policy.Partial, Reason: policy.ReasonIncomplete}}, "partial", "incomplete_series", false, true, false},
		{"tampered", venue.Facts{Usable: true, Reason: "bad_signature"}, "invalid", "bad_signature", false, false, false},
		{"revoked", venue.Facts{Usable: true, Valid: true, Revoked: true, DCC: dcc, Policy: full}, "revoked", "revoked", false, false, false},
		{"stale", venue.Facts{Usable: true, Valid: true, DCC: dcc, ExpiresAt: exp, Policy: full, Stale: true, DataAge: 3 * time.Hour},
			"full", "stale_data", false, true, true},
		{"no lists", venue.Facts{Valid: true, Policy: full}, "unavailable", "lists_unavailable", false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := venue.Decide(tc.f)
			if a.Decision != tc.decision || a.Reason != tc.reason || a.Valid != tc.valid ||
				(a.Holder != nil) != tc.holder || (a.ValidUntil != nil) != tc.hasUntil || a.Message.VI == "" || a.Message.EN == "" {
				t.Fatalf("Decide = %+v", a)
			}
			if tc.holder && (a.Holder.Name != "Nguyễn Văn Đức" || a.Holder.BirthDate != "1990-04-12") {
				t.Fatalf("holder = %+v", a.Holder)
			}
			if a.Stale != tc.f.Stale || a.DataAgeSeconds != int64(tc.f.DataAge/time.Second) {
				t.Fatalf("stale %v age %d", a.Stale, a.DataAgeSeconds)
			}
		})
	}
}

func TestAnswerJSONShape(t *testing.T) {
	a := venue.Decide(venue.Facts{Usable: true, Reason: "expired"})
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"decision", "valid", "reason", "message", "holder", "valid_until", "data_age_seconds", "stale"} {
		if _, ok := m[k]; !ok {
			t.Errorf("member %q missing from %s", k, b)
		}
	}
	if len(m) != 8 {
		t.Errorf("%d members, want exactly the 8 of the issue: %s", len(m), b)
	}
}
