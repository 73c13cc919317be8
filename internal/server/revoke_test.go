package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/testkit"
)

// TestRevokeForFraud: a reviewer revokes a certificate by UVCI and a
// person's certificates by national ID (POST /v1/revocations); from the
// next publication the signed revocation list (hashes only) holds them and
// a venue verifier syncing from it answers revoked.
func TestRevokeForFraud(t *testing.T) { run(t, revokeForFraud) }

func revokeForFraud(t *testing.T, e *env) {
	recA := testkit.RecentRecord(testkit.Now)
	recB := testkit.RecentRecord(testkit.Now)
	recB.Person.ID = "001090055555"
	for i := range recB.Doses {
		recB.Doses[i].RecordID = "b" + recB.Doses[i].RecordID
	}
	e.submit(recA)
	e.submit(recB)
	certA, certB := e.issue(recA.Person.ID), e.issue(recB.Person.ID)

	checker, sy := venueSync(t, e)
	ctx := context.Background()
	for _, c := range []string{certA.HC1, certB.HC1} {
		if a, _ := checker.Check([]byte(c), testkit.Now); a.Decision != "full" {
			t.Fatalf("issued certificate: %+v", a)
		}
	}

	e.call("POST", "/v1/revocations", credFinaliser, map[string]any{"uvci": certA.UVCI, "reason": "fraud"}, http.StatusForbidden)
	e.call("POST", "/v1/revocations", credReviewer, map[string]any{"reason": "fraud"}, http.StatusUnprocessableEntity)
	e.call("POST", "/v1/revocations", credReviewer, map[string]any{"uvci": "URN:UVCI:01:VN:NOPE", "reason": "fraud"}, http.StatusNotFound)
	var out struct{ Revoked int }
	e.call("POST", "/v1/revocations", credReviewer, map[string]any{"uvci": certA.UVCI, "reason": "certificate sold online"},
		http.StatusOK).json(t, &out)
	if out.Revoked != 1 {
		t.Fatalf("by UVCI: revoked %d", out.Revoked)
	}
	e.call("POST", "/v1/revocations", credReviewer, map[string]any{"national_id": recB.Person.ID, "reason": "records forged"},
		http.StatusOK).json(t, &out)
	if out.Revoked != 1 {
		t.Fatalf("by person: revoked %d", out.Revoked)
	}

	time.Sleep(time.Second) // the publisher reads the store at most once a second
	if err := sy.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{certA.HC1, certB.HC1} {
		if a, _ := checker.Check([]byte(c), testkit.Now); a.Decision != "revoked" || a.Valid {
			t.Fatalf("after the next sync: %+v", a)
		}
	}
	list := e.call("GET", "/v1/revocations", "", nil, http.StatusOK)
	if strings.Contains(string(list.body), certA.UVCI) || strings.Contains(string(list.body), certB.UVCI) {
		t.Fatal("a UVCI in clear text in the revocation list")
	}
}
