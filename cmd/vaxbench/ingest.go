package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/service"
)

// Routes, as named in errors.
const (
	routeBatch    = "POST /v1/dose-records/batch"
	routeFinalise = "POST /v1/dose-records/finalise"
)

// finaliseBatch is the number of records per finalise request, the API's
// maximum.
const finaliseBatch = 1000

// errIngest is returned when the upload did not store every dose.
var errIngest = errors.New("the upload did not store every dose")

// batchSummary is the last line of a bulk upload's report.
type batchSummary struct {
	Summary struct {
		Rows      int64 `json:"rows"`
		Stored    int64 `json:"stored"`
		Merged    int64 `json:"merged_with_other_site"`
		Duplicate int64 `json:"duplicate_of_existing"`
		Rejected  int64 `json:"rejected"`
	} `json:"summary"`
	Error *struct {
		Code string `json:"code"`
	} `json:"error"`
}

var (
	summaryPrefix = []byte(`{"summary"`)
	rejectedRow   = []byte(`"outcome":"rejected"`)
)

// ingest sends o.records synthetic persons with o.doses doses each as
// streamed NDJSON uploads of at most limits.MaxBatchRows doses, generated
// while they are sent, and reads the per-dose reports as they stream back;
// done counts the dose rows reported.
func (h *harness) ingest(ctx context.Context, o options, done *atomic.Int64) error {
	per := limits.MaxBatchRows / o.doses
	for start := 0; start < o.records; start += per {
		if err := h.ingestPart(ctx, o, start, min(per, o.records-start), done); err != nil {
			return err
		}
	}
	return nil
}

// ingestPart uploads the persons start to start+n.
func (h *harness) ingestPart(ctx context.Context, o options, start, n int, done *atomic.Int64) error {
	pr, pw := io.Pipe()
	defer pr.Close() // stops the generator if the upload ends early
	go func() {
		var w io.Writer = pw
		dw := &draftWriter{w: pw}
		if o.drafts {
			w = dw
		}
		err := service.WriteSyntheticNDJSON(w, benchSite, n, o.doses, firstID+int64(start))
		if err == nil && o.drafts {
			err = dw.flush()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/v1/dose-records/batch", pr)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+h.uploader)
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := h.http.Do(req)
	if err != nil {
		pr.CloseWithError(err)
		return transportError(routeBatch, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		pr.CloseWithError(errIngest)
		return unexpected(routeBatch, res)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 0, 64<<10), limits.MaxAPIBody)
	var end *batchSummary
	var rejected int64
	for end == nil && sc.Scan() {
		line := sc.Bytes()
		switch {
		case bytes.HasPrefix(line, summaryPrefix):
			end = &batchSummary{}
			if err := json.Unmarshal(line, end); err != nil {
				return fmt.Errorf("%s: malformed summary: %w", routeBatch, err)
			}
		default:
			if bytes.Contains(line, rejectedRow) {
				rejected++
			}
			done.Add(1)
		}
	}
	switch {
	case sc.Err() != nil:
		return fmt.Errorf("%s: failed to read the report: %w", routeBatch, sc.Err())
	case end == nil:
		return fmt.Errorf("%w: the report ended without a summary", errIngest)
	case end.Error != nil:
		return fmt.Errorf("%w: the upload stopped early (%s)", errIngest, end.Error.Code)
	case rejected > 0 || end.Summary.Stored != int64(n*o.doses):
		return fmt.Errorf("%w: %d stored, %d rejected of %d", errIngest, end.Summary.Stored,
			end.Summary.Rejected, n*o.doses)
	}
	return nil
}

// draftWriter rewrites the status of every dose of the NDJSON lines
// written to it from finalised to draft, a line at a time.
type draftWriter struct {
	w       io.Writer
	partial []byte
}

var (
	statusFinalised = []byte(`"status":"finalised"`)
	statusDraft     = []byte(`"status":"draft"`)
)

func (d *draftWriter) Write(p []byte) (int, error) {
	d.partial = append(d.partial, p...)
	i := bytes.LastIndexByte(d.partial, '\n')
	if i < 0 {
		return len(p), nil
	}
	if _, err := d.w.Write(bytes.ReplaceAll(d.partial[:i+1], statusFinalised, statusDraft)); err != nil {
		return 0, err
	}
	d.partial = append(d.partial[:0], d.partial[i+1:]...)
	return len(p), nil
}

// flush writes an unterminated last line.
func (d *draftWriter) flush() error {
	_, err := d.w.Write(bytes.ReplaceAll(d.partial, statusFinalised, statusDraft))
	d.partial = d.partial[:0]
	return err
}

// recordKey is a dose record's key in the finalise route's body.
type recordKey struct {
	Site     string `json:"site"`
	RecordID string `json:"record_id"`
}

// finalise finalises every synthetic dose through the batch finalise
// route, finaliseBatch records per request, from one client per CPU;
// done counts the doses finalised.
func (h *harness) finalise(ctx context.Context, o options, done *atomic.Int64) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan []recordKey)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for keys := range batches {
				if err := h.finaliseKeys(ctx, keys); err != nil {
					cancel(err)
				}
				done.Add(int64(len(keys)))
			}
		})
	}
	keys := make([]recordKey, 0, finaliseBatch)
	send := func() bool {
		select {
		case batches <- keys:
			keys = make([]recordKey, 0, finaliseBatch)
			return true
		case <-ctx.Done():
			return false
		}
	}
feed:
	for i := range o.records {
		for dn := 1; dn <= o.doses; dn++ {
			// The record ids of service.WriteSyntheticNDJSON.
			keys = append(keys, recordKey{Site: benchSite, RecordID: fmt.Sprintf("%s-%d", nationalID(i), dn)})
			if len(keys) == finaliseBatch && !send() {
				break feed
			}
		}
	}
	if len(keys) > 0 {
		send()
	}
	close(batches)
	wg.Wait()
	return context.Cause(ctx)
}

// finaliseKeys finalises one batch and checks that each record was
// finalised.
func (h *harness) finaliseKeys(ctx context.Context, keys []recordKey) error {
	body, err := json.Marshal(map[string]any{"records": keys})
	if err != nil {
		return err
	}
	var out struct {
		Results []struct {
			Outcome string `json:"outcome"`
			Code    string `json:"code"`
		} `json:"results"`
	}
	if err := h.call(ctx, routeFinalise, http.MethodPost, "/v1/dose-records/finalise", h.finaliser,
		bytes.NewReader(body), http.StatusOK, &out); err != nil {
		return err
	}
	for _, r := range out.Results {
		if r.Outcome != string(service.OutcomeFinalised) {
			return fmt.Errorf("%s: a record was %s (%s), not finalised", routeFinalise, r.Outcome, r.Code)
		}
	}
	if len(out.Results) != len(keys) {
		return fmt.Errorf("%s: %d results for %d records", routeFinalise, len(out.Results), len(keys))
	}
	return nil
}
