package store_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/store"
	"github.com/vaxcert/vaxcert/internal/store/storetest"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func TestOpenURL(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		url     string
		wantErr error
	}{
		{"bare path", filepath.Join(dir, "a.db"), nil},
		{"sqlite url", "sqlite://" + filepath.Join(dir, "b.db"), nil},
		{"sqlite url with host", "sqlite://host/x.db", store.ErrBadURL},
		{"sqlite url with query", "sqlite://" + filepath.Join(dir, "c.db") + "?x=1", store.ErrBadURL},
		{"empty", "", store.ErrBadURL},
		{"other scheme", "mysql://localhost/x", store.ErrBadURL},
		{"path with query", filepath.Join(dir, "d.db") + "?mode=memory", store.ErrBadURL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := store.Open(context.Background(), tc.url)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Open(%q) error = %v, want %v", tc.url, err, tc.wantErr)
			}
			if err == nil {
				if got := s.Engine(); got != "sqlite" {
					t.Errorf("Engine() = %q, want sqlite", got)
				}
				s.Close()
			}
		})
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			url := storetest.URL(t, engine)
			ctx := context.Background()
			for i := range 2 {
				s, err := store.Open(ctx, url)
				if err != nil {
					t.Fatalf("open #%d: %v", i+1, err)
				}
				s.Close()
			}
		})
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			url := storetest.URL(t, engine)
			ctx := context.Background()
			s, err := store.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Write(ctx, func(tx *store.Tx) error {
				return tx.InsertAudit(ctx, nil) // a no-op write: the store works
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := store.ExecForTest(ctx, s, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)"); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if _, err := store.Open(ctx, url); !errors.Is(err, store.ErrSchemaVersion) {
				t.Fatalf("open a newer database: err = %v, want ErrSchemaVersion", err)
			}
		})
	}
}

func TestWriteRollsBack(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := s.Write(ctx, func(tx *store.Tx) error {
			if err := tx.InsertPersons(ctx, []*store.Person{{NationalID: "001090000001", CreatedAt: now, UpdatedAt: now}}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Write error = %v, want boom", err)
		}
		err = s.Read(ctx, func(tx *store.Tx) error {
			_, err := tx.PersonByNationalID(ctx, "001090000001")
			return err
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("person after rollback: err = %v, want ErrNotFound", err)
		}
	})
}

func TestOneCurrentCertificate(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var person int64
		if err := s.Write(ctx, func(tx *store.Tx) error {
			p := &store.Person{NationalID: "001090000001", CreatedAt: now, UpdatedAt: now}
			if err := tx.InsertPersons(ctx, []*store.Person{p}); err != nil {
				return err
			}
			person = p.ID
			return tx.InsertCertificates(ctx, []*store.Certificate{cert(person, "URN:UVCI:01:VN:A")})
		}); err != nil {
			t.Fatal(err)
		}
		err := s.Write(ctx, func(tx *store.Tx) error {
			return tx.InsertCertificates(ctx, []*store.Certificate{cert(person, "URN:UVCI:01:VN:B")})
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second current certificate: err = %v, want ErrConflict", err)
		}
	})
}

// TestInsertCertificatesUnknownPerson: a certificate of a person who does
// not exist is refused with ErrNotFound on both engines, and nothing of
// its chunk is inserted (PostgreSQL has no foreign key for it since
// migration 0007: the store checks).
func TestInsertCertificatesUnknownPerson(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var person int64
		if err := s.Write(ctx, func(tx *store.Tx) error {
			p := &store.Person{NationalID: "001090000001", CreatedAt: now, UpdatedAt: now}
			err := tx.InsertPersons(ctx, []*store.Person{p})
			person = p.ID
			return err
		}); err != nil {
			t.Fatal(err)
		}
		err := s.Write(ctx, func(tx *store.Tx) error {
			return tx.InsertCertificates(ctx, []*store.Certificate{cert(person, "URN:UVCI:01:VN:A"),
				cert(person+1000, "URN:UVCI:01:VN:B")})
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("certificate of an unknown person: err = %v, want ErrNotFound", err)
		}
		err = s.Read(ctx, func(tx *store.Tx) error {
			for _, u := range []string{"URN:UVCI:01:VN:A", "URN:UVCI:01:VN:B"} {
				if _, err := tx.CertificateByUVCI(ctx, u); !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("%s: err = %v, want ErrNotFound (not inserted)", u, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// The person's own certificate goes in.
		if err := s.Write(ctx, func(tx *store.Tx) error {
			return tx.InsertCertificates(ctx, []*store.Certificate{cert(person, "URN:UVCI:01:VN:A")})
		}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCertificatesOf: counts of every status and the current certificate,
// for persons with none, with a current one after a superseded one, and
// with a revoked one only.
func TestCertificatesOf(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ps := []*store.Person{{NationalID: "001090000001", CreatedAt: now, UpdatedAt: now},
			{NationalID: "001090000002", CreatedAt: now, UpdatedAt: now}, {NationalID: "001090000003", CreatedAt: now, UpdatedAt: now}}
		err := s.Write(ctx, func(tx *store.Tx) error {
			if err := tx.InsertPersons(ctx, ps); err != nil {
				return err
			}
			old, revoked := cert(ps[1].ID, "URN:UVCI:01:VN:OLD"), cert(ps[2].ID, "URN:UVCI:01:VN:REV")
			old.Status, revoked.Status = store.CertSuperseded, store.CertRevoked
			return tx.InsertCertificates(ctx, []*store.Certificate{old, cert(ps[1].ID, "URN:UVCI:01:VN:CUR"), revoked})
		})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Read(ctx, func(tx *store.Tx) error {
			counts, current, err := tx.CertificatesOf(ctx, []int64{ps[0].ID, ps[1].ID, ps[2].ID})
			if err != nil {
				return err
			}
			if len(counts) != 2 || counts[ps[1].ID] != 2 || counts[ps[2].ID] != 1 {
				t.Errorf("counts %v, want person 2: 2, person 3: 1", counts)
			}
			if len(current) != 1 || current[ps[1].ID] == nil || current[ps[1].ID].UVCI != "URN:UVCI:01:VN:CUR" {
				t.Errorf("current %v, want person 2's URN:UVCI:01:VN:CUR only", current)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func cert(person int64, uvci string) *store.Certificate {
	return &store.Certificate{UVCI: uvci, PersonID: person, Status: store.CertCurrent, ContentHash: []byte{1},
		HC1: "HC1:x", COSE: []byte{2}, KID: []byte{3}, Payload: []byte("{}"), IssuedAt: now, ExpiresAt: now.AddDate(1, 0, 0)}
}

func TestPendingSeqGuard(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var ids []int64
		var first []store.Pending
		err := s.Write(ctx, func(tx *store.Tx) error {
			ps := []*store.Person{{NationalID: "001090000001", FamilyName: "A", CreatedAt: now, UpdatedAt: now},
				{NationalID: "001090000002", FamilyName: "B", CreatedAt: now, UpdatedAt: now},
				{NationalID: "001090000003", FamilyName: "C", CreatedAt: now, UpdatedAt: now}}
			if err := tx.InsertPersons(ctx, ps); err != nil {
				return err
			}
			for _, p := range ps {
				ids = append(ids, p.ID)
			}
			if err := tx.MarkPending(ctx, ids, now); err != nil {
				return err
			}
			var err error
			if first, err = tx.ClaimPending(ctx, ids[0], 10); err != nil {
				return err
			}
			if len(first) != 2 || first[0].PersonID != ids[1] || first[1].PersonID != ids[2] {
				return fmt.Errorf("claimed %+v after person %d, want persons %v", first, ids[0], ids[1:])
			}
			for i, c := range first {
				// PostgreSQL hands over the locked person rows as well.
				if p := c.Person; s.SkipsLocked() && (p == nil || p.ID != ids[i+1] || p.FamilyName != ps[i+1].FamilyName) {
					return fmt.Errorf("claim %d: person %+v, want %+v", i, p, ps[i+1])
				}
			}
			// A change of the first claimed after the claim: clearing
			// its old marker must keep it pending; the other is cleared.
			if err := tx.MarkPending(ctx, ids[1:2], now); err != nil {
				return err
			}
			return tx.ClearPending(ctx, first)
		})
		if err != nil {
			t.Fatal(err)
		}
		var left map[int64]int64
		if err := s.Read(ctx, func(tx *store.Tx) error {
			var err error
			left, err = tx.PendingOf(ctx, ids)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(left) != 2 || left[ids[0]] == 0 || left[ids[1]] == 0 || left[ids[1]] == first[0].Seq {
			t.Fatalf("pending after clear = %+v, want persons %d (never claimed) and %d (with a newer seq than %d)",
				left, ids[0], ids[1], first[0].Seq)
		}
	})
}

func TestShotKey(t *testing.T) {
	base := store.ShotKey(1, "EU/1/20/1528", "AB12", "2021-09-01", 2)
	tests := []struct {
		name string
		key  string
		same bool
	}{
		{"lot case and spaces", store.ShotKey(1, "EU/1/20/1528", " ab12 ", "2021-09-01", 2), true},
		{"other person", store.ShotKey(2, "EU/1/20/1528", "AB12", "2021-09-01", 2), false},
		{"other product", store.ShotKey(1, "EU/1/20/1507", "AB12", "2021-09-01", 2), false},
		{"other lot", store.ShotKey(1, "EU/1/20/1528", "AB13", "2021-09-01", 2), false},
		{"other date", store.ShotKey(1, "EU/1/20/1528", "AB12", "2021-09-02", 2), false},
		{"other dose", store.ShotKey(1, "EU/1/20/1528", "AB12", "2021-09-01", 3), false},
		{"no field bleed", store.ShotKey(1, "EU/1/20/1528A", "B12", "2021-09-01", 2), false},
	}
	for _, tc := range tests {
		if got := tc.key == base; got != tc.same {
			t.Errorf("%s: same key = %v, want %v", tc.name, got, tc.same)
		}
	}
}

func TestDoseRevisionHistory(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		key := store.RecordKey{Site: "S1", RecordID: "R1"}
		var first *store.Dose
		err := s.Write(ctx, func(tx *store.Tx) error {
			ps := []*store.Person{{NationalID: "001090000001", CreatedAt: now, UpdatedAt: now}}
			if err := tx.InsertPersons(ctx, ps); err != nil {
				return err
			}
			ids, err := tx.NewDoseIDs(ctx, 1)
			if err != nil {
				return err
			}
			d := &store.Dose{ID: ids[0], PersonID: ps[0].ID, Version: 1, ChangedAt: now, ChangedBy: "a",
				DoseFields: store.DoseFields{Site: key.Site, RecordID: key.RecordID, Product: "P", Lot: "L1", DoseNumber: 1,
					SeriesDoses: 2, Date: "2021-09-01", Country: "VN", Status: store.StatusDraft}}
			if err := tx.InsertDoses(ctx, []*store.Dose{d}); err != nil {
				return err
			}
			next := *d
			next.Version, next.Lot, next.Reason = 2, "L2", "typo"
			if err := tx.ReviseDoses(ctx, []*store.Dose{d}, []*store.Dose{&next}); err != nil {
				return err
			}
			first = d
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Revising version 1 again is stale: the transaction is retried and
		// then fails, keeping nothing.
		attempts := 0
		err = s.Write(ctx, func(tx *store.Tx) error {
			attempts++
			stale := *first
			stale.Version, stale.Lot = 2, "STALE"
			return tx.ReviseDoses(ctx, []*store.Dose{first}, []*store.Dose{&stale})
		})
		if !errors.Is(err, store.ErrConflict) || attempts < 2 {
			t.Fatalf("stale revision: err = %v after %d attempts, want ErrConflict after retries", err, attempts)
		}
		var hist []*store.Dose
		if err := s.Read(ctx, func(tx *store.Tx) error {
			var err error
			hist, err = tx.DoseHistory(ctx, key)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(hist) != 2 || hist[0].Version != 1 || hist[0].Lot != "L1" || hist[1].Version != 2 || hist[1].Lot != "L2" ||
			hist[1].Reason != "typo" {
			t.Fatalf("history = %+v, want v1 L1 then v2 L2 (typo)", hist)
		}
	})
}

// TestDosesReadAlike: a write transaction reads doses as a read-only one
// does (on PostgreSQL the write transaction reads them through pgx
// directly, the read-only one through database/sql), every field
// included.
func TestDosesReadAlike(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var pid int64
		var want []*store.Dose
		read := func(tx *store.Tx) ([]*store.Dose, error) {
			m, err := tx.DosesOfPersons(ctx, []int64{pid}, false)
			return m[pid], err
		}
		var inWrite []*store.Dose
		err := s.Write(ctx, func(tx *store.Tx) error {
			ps := []*store.Person{{NationalID: "001090000001", CreatedAt: now, UpdatedAt: now}}
			if err := tx.InsertPersons(ctx, ps); err != nil {
				return err
			}
			pid = ps[0].ID
			ids, err := tx.NewDoseIDs(ctx, 2)
			if err != nil {
				return err
			}
			want = []*store.Dose{
				{ID: ids[0], PersonID: pid, Version: 1, ChangedAt: now, ChangedBy: "a", ShotKey: "k1",
					DoseFields: store.DoseFields{Site: "S1", RecordID: "R1", Product: "P", Manufacturer: "M", Lot: "L1",
						DoseNumber: 1, SeriesDoses: 2, Date: "2021-09-01", Country: "VN", Status: store.StatusFinalised}},
				{ID: ids[1], PersonID: pid, Version: 1, ChangedAt: now, ChangedBy: "b", ShotKey: "k1", MergedInto: ids[0],
					DoseFields: store.DoseFields{Site: "S2", RecordID: "R9", Product: "P", Manufacturer: "M", Lot: "L1",
						DoseNumber: 1, SeriesDoses: 2, Date: "2021-09-01", Country: "VN", Status: store.StatusFinalised}},
			}
			if err := tx.InsertDoses(ctx, want); err != nil {
				return err
			}
			inWrite, err = read(tx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var inRead []*store.Dose
		if err := s.Read(ctx, func(tx *store.Tx) error {
			var err error
			inRead, err = read(tx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(inWrite, want) || !reflect.DeepEqual(inRead, want) {
			t.Fatalf("doses read in a write transaction %+v, in a read transaction %+v, want %+v", inWrite, inRead, want)
		}
	})
}

func TestCanonicalShots(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		shot := func(p int64, lot string) string { return store.ShotKey(p, "P", lot, "2021-09-01", 1) }
		var ds []*store.Dose
		err := s.Write(ctx, func(tx *store.Tx) error {
			ps := []*store.Person{{NationalID: "001090000001", CreatedAt: now, UpdatedAt: now},
				{NationalID: "001090000002", CreatedAt: now, UpdatedAt: now}}
			if err := tx.InsertPersons(ctx, ps); err != nil {
				return err
			}
			ids, err := tx.NewDoseIDs(ctx, 5)
			if err != nil {
				return err
			}
			// Person 0: shot X recorded three times (the first void), shot Y
			// once; person 1: shot Z.
			for i, r := range []struct {
				person int
				lot    string
				status string
			}{{0, "X", store.StatusVoid}, {0, "X", store.StatusFinalised}, {0, "X", store.StatusDraft}, {0, "Y", store.StatusFinalised},
				{1, "Z", store.StatusFinalised}} {
				p := ps[r.person].ID
				ds = append(ds, &store.Dose{ID: ids[i], PersonID: p, Version: 1, ChangedAt: now, ChangedBy: "a",
					ShotKey: shot(p, r.lot), DoseFields: store.DoseFields{Site: "S1", RecordID: fmt.Sprint("R", i),
						Product: "P", Lot: r.lot, DoseNumber: 1, SeriesDoses: 2, Date: "2021-09-01", Country: "VN", Status: r.status}})
			}
			return tx.InsertDoses(ctx, ds)
		})
		if err != nil {
			t.Fatal(err)
		}
		p0, p1 := ds[0].PersonID, ds[4].PersonID
		var got map[string]int64
		if err := s.Read(ctx, func(tx *store.Tx) error {
			var err error
			got, err = tx.CanonicalShots(ctx, []*store.Dose{{PersonID: p0, ShotKey: shot(p0, "X")},
				{PersonID: p1, ShotKey: shot(p1, "Z")}, {PersonID: p0, ShotKey: shot(p0, "W")}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{shot(p0, "X"): ds[1].ID, shot(p1, "Z"): ds[4].ID}
		if !maps.Equal(got, want) {
			t.Fatalf("canonical shots = %v, want %v (the lowest id that is not void; only the shots asked for)", got, want)
		}
	})
}

// TestCountersExact: the counts the metrics read (counters kept by the
// writers) equal the tables' own counts after a mix of writes: persons
// queued, queued again, a claimed marker cleared and a stale one not,
// certificates inserted, one ended and revoked, and a transaction that
// changes all of them and rolls back. Both engines.
func TestCountersExact(t *testing.T) {
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		check := func(when string) {
			t.Helper()
			var got store.Counts
			if err := s.Read(ctx, func(tx *store.Tx) error {
				var err error
				got, err = tx.Counts(ctx)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			lines, err := store.QueryLinesForTest(ctx, s, `SELECT CAST((SELECT COUNT(*) FROM certificates) AS TEXT) || ' ' ||
				CAST((SELECT COUNT(*) FROM certificates WHERE status = 'current') AS TEXT) || ' ' ||
				CAST((SELECT COUNT(*) FROM revocations) AS TEXT) || ' ' || CAST((SELECT COUNT(*) FROM pending_issuance) AS TEXT)`)
			if err != nil {
				t.Fatal(err)
			}
			have := fmt.Sprintf("%d %d %d %d", got.Certificates, got.CurrentCertificates, got.Revocations, got.PendingIssuance)
			if len(lines) != 1 || lines[0] != have {
				t.Errorf("%s: counters (certificates, current, revocations, pending) = %s, tables %v", when, have, lines)
			}
		}
		check("empty")
		var ids []int64
		var first []store.Pending
		err := s.Write(ctx, func(tx *store.Tx) error {
			ids = ids[:0]
			var ps []*store.Person
			for i := range 5 {
				ps = append(ps, &store.Person{NationalID: fmt.Sprintf("00109000000%d", i), CreatedAt: now, UpdatedAt: now})
			}
			if err := tx.InsertPersons(ctx, ps); err != nil {
				return err
			}
			for _, p := range ps {
				ids = append(ids, p.ID)
			}
			// Four queued, then three of them and the fifth again (an
			// unknown person id adds nothing).
			if err := tx.MarkPending(ctx, ids[:4], now); err != nil {
				return err
			}
			return tx.MarkPending(ctx, append(append([]int64(nil), ids[2:]...), 1<<40), now)
		})
		if err != nil {
			t.Fatal(err)
		}
		check("after queueing")
		err = s.Write(ctx, func(tx *store.Tx) error {
			var err error
			if first, err = tx.ClaimPending(ctx, 0, 10); err != nil {
				return err
			}
			// The first marker changes after the claim: clearing the
			// stale one removes nothing for that person.
			if err := tx.MarkPending(ctx, ids[:1], now); err != nil {
				return err
			}
			if err := tx.ClearPending(ctx, first[:3]); err != nil {
				return err
			}
			return tx.InsertCertificates(ctx, []*store.Certificate{cert(ids[1], "URN:UVCI:01:VN:C1"), cert(ids[2], "URN:UVCI:01:VN:C2")})
		})
		if err != nil {
			t.Fatal(err)
		}
		check("after issuing")
		var old []*store.Certificate
		err = s.Write(ctx, func(tx *store.Tx) error {
			cur, err := tx.CurrentCertificates(ctx, ids[1:2])
			if err != nil {
				return err
			}
			old = []*store.Certificate{cur[ids[1]]}
			if err := tx.EndCertificates(ctx, []int64{old[0].ID}, store.CertSuperseded); err != nil {
				return err
			}
			return tx.InsertRevocations(ctx, []*store.Revocation{{CertificateID: old[0].ID, UVCI: old[0].UVCI,
				Reason: "test", RevokedAt: now, RevokedBy: "test"}})
		})
		if err != nil {
			t.Fatal(err)
		}
		check("after a revocation")
		errRollback := errors.New("test: roll back")
		err = s.Write(ctx, func(tx *store.Tx) error {
			if err := tx.MarkPending(ctx, ids, now); err != nil {
				return err
			}
			if err := tx.InsertCertificates(ctx, []*store.Certificate{cert(ids[4], "URN:UVCI:01:VN:C3")}); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("rolled-back write: err = %v", err)
		}
		check("after a rolled-back write")
	})
}
