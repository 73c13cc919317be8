package service

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/internal/store/storetest"
	"github.com/vaxcert/vaxcert/issuer"
)

// collect runs an upload and returns its results.
func (e *env) collect(actor Actor, f Format, body string) (BatchSummary, []RowResult, error) {
	var got []RowResult
	sum, err := e.s.IngestBatch(e.ctx, actor, f, strings.NewReader(body), func(r RowResult) error {
		got = append(got, r)
		return nil
	})
	return sum, got, err
}

type wantRow struct {
	row     int
	outcome Outcome
	field   string // first error's field
	err     error
}

func checkRows(t *testing.T, got []RowResult, want []wantRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d results %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Row != w.row || g.Outcome != w.outcome {
			t.Errorf("result %d: row %d %s, want row %d %s", i, g.Row, g.Outcome, w.row, w.outcome)
		}
		if w.field == "" {
			if len(g.Errors) != 0 {
				t.Errorf("result %d: unexpected errors %v", i, g.Errors)
			}
			continue
		}
		if len(g.Errors) == 0 || g.Errors[0].Field != w.field || !errors.Is(g.Errors[0], w.err) {
			t.Errorf("result %d: errors %v, want %s: %v", i, g.Errors, w.field, w.err)
		}
	}
}

func TestNDJSON(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		good := mustJSON(t, record(citizenA, dose("S1", "R1", 1, issuer.StatusDraft), dose("S1", "R2", 2, issuer.StatusDraft)))
		body := strings.Join([]string{
			good,
			`{"person": {"id": "001090000002"}, "doses": [`, // 2: broken JSON
			"",
			`{"person": {}, "doses": [], "extra": 1}`,                                          // 4: unknown field
			`{"person": {"id": "001090000002"}, "doses": []}`,                                  // 5: no doses
			mustJSON(t, record(citizenB, dose("S1", "R3", 1, issuer.StatusFinalised))) + ` {}`, // 6: trailing data
			`{"person": {"id": "` + strings.Repeat("9", 17000) + `"}}`,                         // 7: too long
			mustJSON(t, record(citizenB, dose("S1", "R3", 1, issuer.StatusFinalised))),         // 8
			good, // 9: again
		}, "\n")
		sum, got, err := e.collect(uploader("S1"), FormatNDJSON, body)
		if err != nil {
			t.Fatal(err)
		}
		checkRows(t, got, []wantRow{
			{1, OutcomeStored, "", nil}, {1, OutcomeStored, "", nil},
			{2, OutcomeRejected, "line", ErrMalformed},
			{4, OutcomeRejected, "line", ErrMalformed},
			{5, OutcomeRejected, "doses", issuer.ErrMissing},
			{6, OutcomeRejected, "line", ErrMalformed},
			{7, OutcomeRejected, "line", ErrLineTooLong},
			{8, OutcomeStored, "", nil},
			{9, OutcomeAlreadyStored, "", nil}, {9, OutcomeAlreadyStored, "", nil},
		})
		if sum.Rows != 8 || sum.Stored != 3 || sum.Already != 2 || sum.Rejected != 5 {
			t.Errorf("summary %+v, want 8 rows, 3 stored, 2 already stored by this batch, 5 rejected", sum)
		}
	})
}

func csvLine(d issuer.Dose, p issuer.Person) string {
	return fmt.Sprintf("%s,%s,\"%s\",%s,%s,%s,%s,%s,%s,%d,%d,%s,%s,%s", p.ID, p.FamilyName, p.GivenName, p.BirthDate,
		d.RecordID, d.Site, d.Product, d.Manufacturer, d.Lot, d.DoseNumber, d.SeriesDoses, d.Date, d.Country, d.Status)
}

func TestCSV(t *testing.T) {
	header := strings.Join(CSVColumns, ",")
	t.Run("header", func(t *testing.T) {
		tests := []struct {
			name   string
			header string
			ok     bool
		}{
			{"exact", header, true},
			{"reordered, BOM, CRLF", "\uFEFF" + strings.Join(append(CSVColumns[1:], CSVColumns[0]), ",") + "\r", true},
			{"missing column", strings.Join(CSVColumns[1:], ","), false},
			{"unknown column", header + ",extra", false},
			{"duplicate column", strings.Replace(header, "lot", "site", 1), false},
			{"empty", "", false},
		}
		e := newEnv(t, storetest.Open(t, "sqlite"))
		for _, tc := range tests {
			_, _, err := e.collect(uploader("S1"), FormatCSV, tc.header+"\n")
			if tc.ok {
				wantErr(t, tc.name, err, nil)
			} else {
				wantErr(t, tc.name, err, ErrInvalid)
			}
		}
	})
	run(t, func(t *testing.T, e *env) {
		p := holder(citizenA)
		p.GivenName = "Văn, Đức" // a comma inside a quoted field
		bad := csvLine(dose("S1", "R3", 3, issuer.StatusDraft), p)
		body := strings.Join([]string{
			header,
			csvLine(dose("S1", "R1", 1, issuer.StatusFinalised), p), // 2
			csvLine(dose("S1", "R2", 2, issuer.StatusFinalised), p), // 3
			strings.Replace(bad, ",3,2,", ",three,2,", 1),           // 4: bad number
			"a,b,c", // 5: field count
			`001090000001,"Nguy"ễn",x,1990,R,S1,p,m,l,1,1,2021-01-01,VN,draft`, // 6: bad quoting
			"", // skipped
			csvLine(dose("S1", "R1", 1, issuer.StatusFinalised), p), // 8: again
		}, "\n")
		sum, got, err := e.collect(uploader("S1"), FormatCSV, body)
		if err != nil {
			t.Fatal(err)
		}
		checkRows(t, got, []wantRow{
			{2, OutcomeStored, "", nil}, {3, OutcomeStored, "", nil},
			{4, OutcomeRejected, "dose_number", issuer.ErrInvalid},
			{5, OutcomeRejected, "line", ErrMalformed},
			{6, OutcomeRejected, "line", ErrMalformed},
			{8, OutcomeAlreadyStored, "", nil},
		})
		if sum.Rows != 6 {
			t.Errorf("rows %d, want 6", sum.Rows)
		}
		c := e.issue(citizenA)
		if c.Payload.Nam.GN != "Văn, Đức" || c.Payload.V[0].DN != 2 {
			t.Errorf("certificate from CSV: gn %q dn %d", c.Payload.Nam.GN, c.Payload.V[0].DN)
		}
	})
}

func TestBatchLimitsAndChunks(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.s.chunkSize = 3
		e.s.maxBatchRows = 7
		var recs []issuer.Record
		for i := range 10 {
			id := fmt.Sprintf("0010900001%02d", i)
			recs = append(recs, record(id, dose("S1", "R"+id, 1, issuer.StatusFinalised)))
		}
		recs[4] = recs[1] // a repeat in a later chunk
		sum, got, err := e.collect(uploader("S1"), FormatNDJSON, ndjson(t, recs...))
		wantErr(t, "upload over the row limit", err, ErrTooManyRows)
		if sum.Rows != 7 || len(got) != 7 || got[6].Row != 7 || got[4].Outcome != OutcomeAlreadyStored {
			t.Fatalf("summary %+v, results %+v: want the first 7 rows, row 5 already stored by this batch", sum, got)
		}
		if st := e.stats(); st.PendingIssuance != 6 {
			t.Errorf("pending %d, want the 6 persons stored", st.PendingIssuance)
		}
		// An emit error stops the upload: the chunk being reported is
		// stored, later chunks are not.
		e.s.maxBatchRows = 100
		var more []issuer.Record
		for i := range 10 {
			id := fmt.Sprintf("0010900002%02d", i)
			more = append(more, record(id, dose("S1", "R"+id, 1, issuer.StatusFinalised)))
		}
		calls := 0
		stop := errors.New("client gone")
		_, err = e.s.IngestBatch(e.ctx, uploader("S1"), FormatNDJSON, strings.NewReader(ndjson(t, more...)),
			func(RowResult) error { calls++; return stop })
		wantErr(t, "emit error", err, stop)
		if st := e.stats(); calls != 1 || st.PendingIssuance != 9 {
			t.Errorf("emit calls %d, pending %d: want 1 call and one chunk of 3 more stored (9 pending)", calls, st.PendingIssuance)
		}
	})
}

func TestSplitCSV(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"a,b,c", []string{"a", "b", "c"}, true},
		{"a,,", []string{"a", "", ""}, true},
		{`"a,b","c""d",e`, []string{"a,b", `c"d`, "e"}, true},
		{`"",x`, []string{"", "x"}, true},
		{`a"b,c`, nil, false},
		{`"ab`, nil, false},
		{`"a"b,c`, nil, false},
		{"\xff,a", nil, false},
	}
	for _, tc := range tests {
		got, ok := splitCSV(tc.in, nil)
		if ok != tc.ok || ok && strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("splitCSV(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
