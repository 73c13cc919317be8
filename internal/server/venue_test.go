package server

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/internal/verifysync"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

// TestVenueVerifierEndToEnd: the issuer service and a venue verifier
// syncing from it over HTTP. An issued certificate answers full; after a
// correction re-issues it, the old one answers revoked from the next sync
// on, also once the issuer is stopped.
func TestVenueVerifierEndToEnd(t *testing.T) { run(t, venueEndToEnd) }

func venueEndToEnd(t *testing.T, e *env) {
	rec := testkit.RecentRecord(testkit.Now)
	e.submit(rec)
	old := e.issue(rec.Person.ID)

	checker, sy := venueSync(t, e)
	ctx := context.Background()
	if a, _ := checker.Check([]byte(old.HC1), testkit.Now); a.Decision != "full" || !a.Valid {
		t.Fatalf("issued certificate: %+v", a)
	}

	// The correction: the second dose's date was wrong.
	d := rec.Doses[1]
	e.call("POST", "/v1/dose-records/HN-001/r2/amend", credFinaliser, map[string]any{"reason": "date mistyped",
		"dose": map[string]any{"product": d.Product, "manufacturer": d.Manufacturer, "lot": d.Lot, "dose_number": d.DoseNumber,
			"series_doses": d.SeriesDoses, "date": testkit.Now.AddDate(0, 0, -59).Format(time.DateOnly), "country": d.Country}},
		http.StatusOK)
	if cur := e.issue(rec.Person.ID); cur.UVCI == old.UVCI {
		t.Fatal("the correction did not re-issue")
	}
	if a, _ := checker.Check([]byte(old.HC1), testkit.Now); a.Decision != "full" {
		t.Fatalf("before the next sync: %+v", a)
	}
	time.Sleep(time.Second) // the publisher reads the store at most once a second
	if err := sy.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if a, _ := checker.Check([]byte(old.HC1), testkit.Now); a.Decision != "revoked" || a.Valid {
		t.Fatalf("after the next sync: %+v", a)
	}

	e.ts.Close()
	if err := sy.Sync(ctx); err == nil {
		t.Fatal("sync with the issuer stopped succeeded")
	}
	if a, _ := checker.Check([]byte(old.HC1), testkit.Now); a.Decision != "revoked" {
		t.Fatalf("with the issuer stopped: %+v", a)
	}
}

// venueSync returns a venue checker syncing from e's service over HTTP,
// synced once.
func venueSync(t *testing.T, e *env) (*venue.Checker, *verifysync.Syncer) {
	t.Helper()
	checker, err := venue.NewChecker(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	sy, err := verifysync.New(verifysync.Config{Issuer: e.ts.URL, Root: e.pki.CSCA.Cert, Dir: t.TempDir(),
		Clock: testkit.Clock, Client: e.ts.Client()}, checker)
	if err != nil {
		t.Fatal(err)
	}
	if err := sy.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	return checker, sy
}
