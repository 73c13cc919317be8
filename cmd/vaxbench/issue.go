package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/issuer"
)

// Routes, as named in errors.
const (
	routeStartJob = "POST /v1/issuance-jobs"
	routeJob      = "GET /v1/issuance-jobs/{id}"
)

// pollEvery is how often the issuance job is polled.
const pollEvery = 200 * time.Millisecond

// errJob is returned when the batch issuance did not issue a certificate
// to every person.
var errJob = errors.New("the batch issuance did not issue every certificate")

// jobStatus is the API's issuance job resource.
type jobStatus = service.JobStatus

// issueAll starts the batch issuance job and polls it until it ends; done
// follows the persons it has processed. It returns the finished job, whose
// own start and finish times give its duration.
func (h *harness) issueAll(ctx context.Context, want int64, done *atomic.Int64) (jobStatus, error) {
	var job jobStatus
	if err := h.call(ctx, routeStartJob, http.MethodPost, "/v1/issuance-jobs", h.finaliser, nil,
		http.StatusAccepted, &job); err != nil {
		return job, err
	}
	for job.State == service.JobRunning {
		done.Store(job.Done)
		select {
		case <-ctx.Done():
			return job, ctx.Err()
		case <-time.After(pollEvery):
		}
		if err := h.call(ctx, routeJob, http.MethodGet, "/v1/issuance-jobs/"+url.PathEscape(job.ID), h.finaliser,
			nil, http.StatusOK, &job); err != nil {
			return job, err
		}
	}
	done.Store(job.Done)
	if job.State != service.JobDone || job.Issued != want {
		return job, fmt.Errorf("%w: job %s, %d of %d issued, %d blocked, %d failed (%s)", errJob, job.State,
			job.Issued, want, job.Blocked, job.Failed, job.Error)
	}
	return job, nil
}

// libraryIssue signs the synthetic persons' certificates with the issuer
// library alone, without database or HTTP, on runtime.NumCPU() goroutines;
// done counts the certificates signed.
func libraryIssue(ctx context.Context, iss *issuer.Issuer, o options, done *atomic.Int64) error {
	tmpl, err := syntheticRecord(o.doses)
	if err != nil {
		return err
	}
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range runtime.NumCPU() {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(o.records) && ctx.Err() == nil; i = next.Add(1) - 1 {
				if _, err := iss.Issue(personRecord(tmpl, int(i))); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// syntheticRecord returns the first synthetic person's record, exactly as
// service.WriteSyntheticNDJSON writes it.
func syntheticRecord(doses int) (issuer.Record, error) {
	var b bytes.Buffer
	var rec issuer.Record
	if err := service.WriteSyntheticNDJSON(&b, benchSite, 1, doses, firstID); err != nil {
		return rec, err
	}
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return rec, fmt.Errorf("failed to decode a synthetic record: %w", err)
	}
	return rec, nil
}

// personRecord returns the synthetic person i's record, made from the
// first one's: only the national ID number and the record ids differ.
func personRecord(tmpl issuer.Record, i int) issuer.Record {
	rec := tmpl
	rec.Person.ID = nationalID(i)
	rec.Doses = slices.Clone(tmpl.Doses)
	for k := range rec.Doses {
		rec.Doses[k].RecordID = strings.Replace(tmpl.Doses[k].RecordID, tmpl.Person.ID, rec.Person.ID, 1)
	}
	return rec
}
