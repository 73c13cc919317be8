package service

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/issuer"
)

var (
	pngBytes  = []byte("\x89PNG\r\n\x1A\nfake")
	jpegBytes = []byte("\xFF\xD8\xFF\xE0fake")
)

func TestCitizenIsolation(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "A1", 1, issuer.StatusFinalised)))
		e.submit(record(citizenB, dose("S1", "B1", 1, issuer.StatusFinalised)))
		a, b := e.issue(citizenA), e.issue(citizenB)
		mine, err := e.s.MyCertificates(e.ctx, citizenA)
		if err != nil || len(mine) != 1 || mine[0].UVCI != a.UVCI || mine[0].Payload.Nam.FNT != "NGUYEN" {
			t.Fatalf("MyCertificates(A) = %+v (%v), want A's certificate", mine, err)
		}
		if none, err := e.s.MyCertificates(e.ctx, "079000000009"); err != nil || len(none) != 0 {
			t.Fatalf("MyCertificates(unknown) = %v (%v), want none", none, err)
		}
		tests := []struct {
			name    string
			citizen string
			uvci    string
			wantErr error
		}{
			{"own", citizenA, a.UVCI, nil},
			{"another citizen's", citizenA, b.UVCI, ErrNotFound},
			{"unknown uvci", citizenA, "URN:UVCI:01:VN:NOPE", ErrNotFound},
			{"unknown citizen", "079000000009", a.UVCI, ErrNotFound},
		}
		renders := 0
		render := func(hc1 string) ([]byte, error) {
			renders++
			return append([]byte(hc1), pngBytes...), nil
		}
		for _, tc := range tests {
			c, err := e.s.MyCertificate(e.ctx, tc.citizen, tc.uvci)
			wantErr(t, "MyCertificate "+tc.name, err, tc.wantErr)
			if err == nil && c.HC1 != a.HC1 {
				t.Errorf("MyCertificate %s: wrong certificate", tc.name)
			}
			_, err = e.s.CertificatePNG(e.ctx, tc.citizen, tc.uvci, render)
			wantErr(t, "CertificatePNG "+tc.name, err, tc.wantErr)
		}
		// The image is rendered once and served from the store afterwards.
		img, err := e.s.CertificatePNG(e.ctx, citizenA, a.UVCI, func(string) ([]byte, error) {
			return nil, errors.New("must not render again")
		})
		if err != nil || !bytes.Equal(img, append([]byte(a.HC1), pngBytes...)) || renders != 1 {
			t.Fatalf("second CertificatePNG: %q (%v), %d renders; want the stored image, 1 render", img, err, renders)
		}
	})
}

func TestCorrectionWrongSupersedes(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("S1", "A1", 1, issuer.StatusFinalised), dose("S1", "A2", 2, issuer.StatusFinalised)))
		old := e.issue(citizenA)
		key := RecordKey{Site: "S1", RecordID: "A2"}
		card := dose("S1", "A2", 2, "")
		card.Date = "2021-02-20"
		tests := []struct {
			name string
			req  CorrectionRequest
			want error
		}{
			{"no kind", CorrectionRequest{Description: "x"}, ErrInvalid},
			{"no description", CorrectionRequest{Kind: CorrectionWrong}, ErrInvalid},
			{"not an image", CorrectionRequest{Kind: CorrectionWrong, Description: "x", Photo: []byte("GIF89a")}, ErrInvalid},
			{"oversized photo", CorrectionRequest{Kind: CorrectionWrong, Description: "x",
				Photo: append(append([]byte{}, jpegBytes...), make([]byte, 5<<20)...)}, ErrInvalid},
			{"another citizen's record", CorrectionRequest{Kind: CorrectionWrong, Description: "x",
				Record: &RecordKey{Site: "S1", RecordID: "ZZ"}}, ErrNotFound},
		}
		for _, tc := range tests {
			_, err := e.s.FileCorrection(e.ctx, citizenA, tc.req)
			wantErr(t, tc.name, err, tc.want)
		}
		cr, err := e.s.FileCorrection(e.ctx, citizenA, CorrectionRequest{Kind: CorrectionWrong,
			Description: "my second dose was on the 20th", Dose: card, Photo: pngBytes, Record: &key})
		if err != nil {
			t.Fatal(err)
		}
		photo, typ, err := e.s.CorrectionPhoto(e.ctx, reviewer, cr.ID)
		if err != nil || typ != "image/png" || !bytes.Equal(photo, pngBytes) {
			t.Fatalf("photo %q %s (%v)", photo, typ, err)
		}
		open, err := e.s.ListCorrections(e.ctx, reviewer, CorrectionOpen, Page{})
		if err != nil || len(open) != 1 || open[0].ID != cr.ID {
			t.Fatalf("open corrections %+v (%v)", open, err)
		}
		if st := e.stats(); st.OpenCorrections != 1 || st.QueueDepth != 1 {
			t.Errorf("stats %+v: want 1 open correction in the queue depth", st)
		}
		_, _, err = e.s.DecideCorrection(e.ctx, finaliser, cr.ID, Decision{Accept: true, Reason: "card checked"})
		wantErr(t, "decision by a finaliser", err, ErrForbidden)
		_, _, err = e.s.DecideCorrection(e.ctx, reviewer, cr.ID, Decision{Accept: true})
		wantErr(t, "decision without reason", err, ErrInvalid)

		decided, cert, err := e.s.DecideCorrection(e.ctx, reviewer, cr.ID, Decision{Accept: true, Reason: "card checked"})
		if err != nil {
			t.Fatal(err)
		}
		if decided.Status != CorrectionAccepted || decided.DecidedBy != reviewer.ID || cert == nil ||
			cert.UVCI == old.UVCI || cert.Payload.V[0].DT != "2021-02-20" {
			t.Fatalf("decision %+v, certificate %+v: want accepted and a new certificate dated 2021-02-20", decided, cert)
		}
		hist, _ := e.s.RecordHistory(e.ctx, reviewer, key)
		if len(hist) != 2 || hist[1].Date != "2021-02-20" || hist[1].ChangedBy != reviewer.ID {
			t.Errorf("history %+v: want the amendment by the reviewer", hist)
		}
		revs, _ := e.s.ListRevocations(e.ctx, time.Time{}, Page{})
		mine, _ := e.s.MyCertificates(e.ctx, citizenA)
		current := 0
		for _, c := range mine {
			if c.Status == store.CertCurrent {
				current++
			}
		}
		if len(revs) != 1 || revs[0].UVCI != old.UVCI || current != 1 || mine[0].UVCI != cert.UVCI {
			t.Fatalf("revocations %+v, certificates %+v: want the old UVCI revoked and exactly one current", revs, mine)
		}
		_, _, err = e.s.DecideCorrection(e.ctx, reviewer, cr.ID, Decision{Accept: false, Reason: "again"})
		wantErr(t, "deciding twice", err, ErrConflict)
		mineCr, _ := e.s.MyCorrections(e.ctx, citizenA)
		if len(mineCr) != 1 || mineCr[0].Status != CorrectionAccepted {
			t.Errorf("citizen's corrections %+v", mineCr)
		}
		audit, _ := e.s.ListAudit(e.ctx, admin, AuditFilter{Action: "correction.file"}, Page{})
		if len(audit) != 1 || audit[0].ActorKind != "citizen" || audit[0].ActorID != personSubject(e.personID(citizenA)) {
			t.Errorf("correction audit %+v: want the citizen named by person key", audit)
		}
	})
}

func TestCorrectionMissingDose(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		// A citizen unknown to the service needs to give their details.
		card := dose("S7", "", 1, "")
		_, err := e.s.FileCorrection(e.ctx, citizenB, CorrectionRequest{Kind: CorrectionMissing, Description: "no record"})
		wantErr(t, "unknown citizen without details", err, ErrInvalid)
		p := holder(citizenB)
		cr, err := e.s.FileCorrection(e.ctx, citizenB, CorrectionRequest{Kind: CorrectionMissing,
			Description: "my first dose is missing", Dose: card, Photo: jpegBytes, Person: &p})
		if err != nil {
			t.Fatal(err)
		}
		rej, err := e.s.FileCorrection(e.ctx, citizenB, CorrectionRequest{Kind: CorrectionMissing, Description: "dup"})
		if err != nil {
			t.Fatal(err)
		}
		if d, c, err := e.s.DecideCorrection(e.ctx, reviewer, rej.ID, Decision{Reason: "duplicate request"}); err != nil ||
			d.Status != CorrectionRejected || c != nil {
			t.Fatalf("rejection: %+v %v (%v)", d, c, err)
		}
		decided, cert, err := e.s.DecideCorrection(e.ctx, reviewer, cr.ID, Decision{Accept: true, Reason: "register checked"})
		if err != nil {
			t.Fatal(err)
		}
		want := RecordKey{Site: "S7", RecordID: "correction-1"}
		if decided.Record != want || cert == nil || cert.Payload.V[0].DN != 1 {
			t.Fatalf("decision %+v, certificate %+v: want record %v and a certificate", decided, cert, want)
		}
		hist, _ := e.s.RecordHistory(e.ctx, reviewer, want)
		if len(hist) != 1 || hist[0].Status != issuer.StatusFinalised || hist[0].ChangedBy != reviewer.ID {
			t.Errorf("added record %+v: want finalised, by the reviewer", hist)
		}
	})
}
