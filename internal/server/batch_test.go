package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/issuer"
)

// report is a parsed bulk-upload response.
type report struct {
	rows []rowJSON
	end  batchEndJSON
}

// parseReport reads an NDJSON upload report: row lines, then exactly one
// summary line, last.
func parseReport(t testing.TB, body []byte) report {
	t.Helper()
	var rep report
	lines := bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
	for i, l := range lines {
		if i == len(lines)-1 {
			if err := json.Unmarshal(l, &rep.end); err != nil || rep.end.Summary.BatchID == "" {
				t.Fatalf("last line %q is not a summary: %v", l, err)
			}
			break
		}
		var r rowJSON
		if err := json.Unmarshal(l, &r); err != nil || r.Row == 0 {
			t.Fatalf("line %d %q is not a row: %v", i+1, l, err)
		}
		rep.rows = append(rep.rows, r)
	}
	return rep
}

func ndjsonLine(t testing.TB, rec issuer.Record) string {
	t.Helper()
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// rowView is a row's outcome and error fields, for comparison.
func rowView(r rowJSON) string {
	s := fmt.Sprintf("%d %s", r.Row, r.Outcome)
	for _, f := range r.Errors {
		s += " " + f.Field + "=" + f.Code
	}
	return s
}

// TestBatchUpload: NDJSON and CSV uploads with bad rows get a per-row
// report and a summary; uploading again changes nothing.
func TestBatchUpload(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		bad := record(citizenB, dose("HN-001", "b1", 1, issuer.StatusDraft))
		bad.Doses[0].Product = "EU/1/99/9999"
		ndjson := ndjsonLine(t, record(citizenA, dose("HN-001", "a1", 1, issuer.StatusFinalised),
			dose("HN-001", "a2", 2, issuer.StatusDraft))) +
			"{\n" +
			ndjsonLine(t, bad) +
			ndjsonLine(t, record(citizenC, dose("HN-002", "c1", 1, issuer.StatusDraft))) +
			"\n" +
			`{"person":{},"doses":[],"extra":1}` + "\n"
		csv := strings.Join(service.CSVColumns, ",") + "\r\n" +
			citizenB + "," + family + "," + given + "," + birthDate + ",b2,HN-001,EU/1/20/1528,ORG-100030215,L1,1,2,2021-05-01,VN,draft\r\n" +
			citizenB + "," + family + "," + given + "," + birthDate + ",b3,HN-001,EU/1/20/1528,ORG-100030215,L2,x,2,2021-06-01,VN,draft\r\n" +
			`"unterminated` + "\r\n"

		tests := []struct {
			name, contentType, body string
			want, again             []string
			sum                     summaryJSON
		}{
			{name: "ndjson", contentType: "application/x-ndjson", body: ndjson,
				want: []string{"1 stored", "1 stored", "2 rejected line=malformed",
					"3 rejected doses[0].product=value_set", "4 rejected doses[0].site=forbidden", "6 rejected line=malformed"},
				again: []string{"1 duplicate_of_existing", "1 duplicate_of_existing", "2 rejected line=malformed",
					"3 rejected doses[0].product=value_set", "4 rejected doses[0].site=forbidden", "6 rejected line=malformed"},
				sum: summaryJSON{Rows: 5, Stored: 2, Rejected: 4}},
			{name: "csv", contentType: "text/csv; charset=utf-8", body: csv,
				want:  []string{"2 stored", "3 rejected dose_number=invalid", "4 rejected line=malformed"},
				again: []string{"2 duplicate_of_existing", "3 rejected dose_number=invalid", "4 rejected line=malformed"},
				sum:   summaryJSON{Rows: 3, Stored: 1, Rejected: 2}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e.t = t
				for i, want := range [][]string{tc.want, tc.again} {
					res := e.do(req{method: "POST", path: "/v1/dose-records/batch", cred: credUploader,
						contentType: tc.contentType, body: strings.NewReader(tc.body)})
					if res.status != http.StatusOK || res.header.Get("Content-Type") != mimeNDJSON {
						t.Fatalf("upload %d: %d %q %s", i+1, res.status, res.header.Get("Content-Type"), res.body)
					}
					rep := parseReport(t, res.body)
					var got []string
					for _, r := range rep.rows {
						got = append(got, rowView(r))
					}
					if strings.Join(got, "\n") != strings.Join(want, "\n") {
						t.Errorf("upload %d rows:\n%s\nwant:\n%s", i+1, strings.Join(got, "\n"), strings.Join(want, "\n"))
					}
					sum := tc.sum
					if i == 1 {
						sum.Duplicate, sum.Stored = sum.Stored, 0
					}
					sum.BatchID = rep.end.Summary.BatchID
					if rep.end.Summary != sum || rep.end.Error != nil {
						t.Errorf("upload %d summary %+v error %+v, want %+v", i+1, rep.end.Summary, rep.end.Error, sum)
					}
					noPersonalData(t, "report", string(res.body))
				}
			})
		}
		e.t = t

		// Errors before the first row are ordinary error responses.
		res := e.do(req{method: "POST", path: "/v1/dose-records/batch", cred: credUploader, contentType: "text/csv",
			body: strings.NewReader("person_id,oops\n")})
		if res.status != http.StatusUnprocessableEntity || res.apiErr(t).Code != codeInvalid {
			t.Errorf("bad csv header: %d %s", res.status, res.body)
		}
		res = e.do(req{method: "POST", path: "/v1/dose-records/batch", cred: credUploader,
			contentType: "application/json", body: strings.NewReader("{}")})
		if res.status != http.StatusUnsupportedMediaType {
			t.Errorf("json upload: %d %s", res.status, res.body)
		}
		// An empty upload is an empty report.
		res = e.do(req{method: "POST", path: "/v1/dose-records/batch", cred: credUploader,
			contentType: mimeNDJSON, body: strings.NewReader("")})
		if rep := parseReport(t, res.body); res.status != http.StatusOK || len(rep.rows) != 0 ||
			rep.end.Summary.Rows != 0 {
			t.Errorf("empty upload: %d %s", res.status, res.body)
		}
	})
}

// TestBatchStreaming: the report of a large upload starts arriving while
// the upload is still being sent (full duplex), and lists every row.
func TestBatchStreaming(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		// The service reports after each chunk it commits (a few thousand
		// doses): keep sending until the response starts, then a tail.
		const maxRows, tail = 50_000, 100
		line := func(i int) string {
			return ndjsonLine(t, record(fmt.Sprintf("0020%08d", i), dose("HN-001", fmt.Sprintf("s%d", i), 1,
				issuer.StatusDraft)))
		}
		pr, pw := io.Pipe()
		started := make(chan struct{})
		type result struct {
			rows    int
			started bool
			err     error
		}
		done := make(chan result, 1)
		go func() {
			var r result
			w := bufio.NewWriter(pw)
			for ; r.rows < maxRows && !r.started; r.rows++ {
				select {
				case <-started:
					r.started = true
				default:
				}
				if _, r.err = w.WriteString(line(r.rows)); r.err != nil {
					break
				}
			}
			for end := r.rows + tail; r.rows < end && r.err == nil; r.rows++ {
				_, r.err = w.WriteString(line(r.rows))
			}
			r.err = errors.Join(r.err, w.Flush(), pw.Close())
			done <- r
		}()
		hr, err := http.NewRequestWithContext(e.ctx, "POST", e.ts.URL+"/v1/dose-records/batch", pr)
		if err != nil {
			t.Fatal(err)
		}
		hr.Header.Set("Authorization", "Bearer "+e.creds[credUploader])
		hr.Header.Set("Content-Type", mimeNDJSON)
		res, err := e.ts.Client().Do(hr)
		close(started)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		if !r.started {
			t.Errorf("the response had not started after %d rows", maxRows)
		}
		rep := parseReport(t, body)
		if len(rep.rows) != r.rows || rep.end.Summary.Stored != r.rows || rep.rows[len(rep.rows)-1].Row != r.rows {
			t.Errorf("%d rows sent, %d reported, summary %+v", r.rows, len(rep.rows), rep.end.Summary)
		}
		t.Logf("%d rows sent, the report started before row %d", r.rows, r.rows-tail)
	})
}

// TestBusyIs503: a write that kept colliding answers 503 with Retry-After,
// never 409.
func TestBusyIs503(t *testing.T) {
	ae := toAPIError(fmt.Errorf("wrapped: %w", service.ErrBusy))
	if ae.Status != http.StatusServiceUnavailable || ae.Code != codeBusy || ae.retryAfter != busyRetryAfter {
		t.Fatalf("busy: %d %s retry %d", ae.Status, ae.Code, ae.retryAfter)
	}
	if ae := toAPIError(service.ErrConflict); ae.Status != http.StatusConflict {
		t.Fatalf("conflict: %d", ae.Status)
	}
}

// TestIdempotentBatchOverHTTP: the Idempotency-Key names the upload; the
// stored outcome is readable under it, and a re-send replays.
func TestIdempotentBatchOverHTTP(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		body := ndjsonLine(t, record(citizenA, dose("HN-001", "k1", 1, "finalised"))) +
			ndjsonLine(t, record(citizenB, dose("HN-001", "k2", 1, "finalised")))
		for i, want := range []string{"stored", "already_stored_by_this_batch"} {
			res := e.do(req{method: "POST", path: "/v1/dose-records/batch", cred: credUploader, contentType: mimeNDJSON,
				body: strings.NewReader(body), header: http.Header{"Idempotency-Key": {"hn-001:day-1"}}})
			rep := parseReport(t, res.body)
			if res.status != http.StatusOK || len(rep.rows) != 2 || string(rep.rows[1].Outcome) != want ||
				rep.end.Summary.BatchID != "hn-001:day-1" {
				t.Fatalf("upload %d: %d %s", i+1, res.status, res.body)
			}
		}
		res := e.call("GET", "/v1/dose-records/batches/hn-001:day-1?limit=1", credUploader, nil, http.StatusOK)
		var b batchJSON
		if err := json.Unmarshal(res.body, &b); err != nil {
			t.Fatal(err)
		}
		if !b.Complete || b.LastRow != 2 || b.Summary.Stored != 2 || len(b.Rows) != 1 || b.NextAfter != 1 {
			t.Fatalf("batch %s", res.body)
		}
		e.call("GET", "/v1/dose-records/batches/hn-001:day-1", credOtherUploader, nil, http.StatusNotFound)
		e.call("GET", "/v1/dose-records/batches/nope", credUploader, nil, http.StatusNotFound)
		res = e.do(req{method: "POST", path: "/v1/dose-records/batch", cred: credUploader, contentType: mimeNDJSON,
			body: strings.NewReader(body), header: http.Header{"Idempotency-Key": {"bad key!"}}})
		if res.status != http.StatusBadRequest {
			t.Fatalf("bad key: %d %s", res.status, res.body)
		}
	})
}
