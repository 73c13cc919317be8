package server

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/issuer"
)

// TestIssuanceJobsAPI: jobs are listed newest first with their state and
// paged with next_before; joining is refused on SQLite (one writer) and
// for a finished job.
func TestIssuanceJobsAPI(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		e.submit(record(citizenA, dose("HN-001", "r1", 1, issuer.StatusFinalised)))
		var ids []string
		for range 2 {
			var st service.JobStatus
			e.call("POST", "/v1/issuance-jobs", credFinaliser, nil, http.StatusAccepted).json(t, &st)
			if st.ID == "" || st.StartedAt.IsZero() {
				t.Fatalf("started job %+v", st)
			}
			e.waitJob(st.ID)
			ids = append(ids, st.ID)
		}
		var page struct {
			Jobs       []service.JobStatus `json:"jobs"`
			NextBefore string              `json:"next_before"`
		}
		// The test clock stands still: both jobs started at the same time,
		// and the id breaks the tie.
		seen := map[string]service.JobStatus{}
		e.call("GET", "/v1/issuance-jobs?limit=1", credFinaliser, nil, http.StatusOK).json(t, &page)
		if len(page.Jobs) != 1 || page.NextBefore != page.Jobs[0].ID {
			t.Fatalf("first page %+v, want one job and a cursor", page)
		}
		seen[page.Jobs[0].ID] = page.Jobs[0]
		e.call("GET", "/v1/issuance-jobs?limit=1&before="+page.NextBefore, credFinaliser, nil, http.StatusOK).json(t, &page)
		if len(page.Jobs) != 1 {
			t.Fatalf("second page %+v, want one job", page)
		}
		seen[page.Jobs[0].ID] = page.Jobs[0]
		first, second := seen[ids[0]], seen[ids[1]]
		if first.State != service.JobDone || first.Issued != 1 || second.State != service.JobDone || second.Done != 0 {
			t.Fatalf("pages %+v, want both jobs done, the first with its issuance", seen)
		}
		e.call("GET", "/v1/issuance-jobs?limit=1&before="+page.Jobs[0].ID, credFinaliser, nil, http.StatusOK).json(t, &page)
		if len(page.Jobs) != 0 || page.NextBefore != "" {
			t.Fatalf("past the last page: %+v", page)
		}
		e.call("GET", "/v1/issuance-jobs?limit=0", credFinaliser, nil, http.StatusBadRequest)
		res := e.call("POST", "/v1/issuance-jobs/"+ids[1]+"/workers", credFinaliser, nil, http.StatusConflict)
		want := codeConflict
		if e.st.Engine() == "sqlite" {
			want = codeCannotJoin
		}
		if got := res.apiErr(t).Code; got != want {
			t.Errorf("join a finished job: code %q, want %q", got, want)
		}
	})
}

// TestJobRunningAnswer: a refused start is 409 naming the running job, with
// the job itself and a Retry-After.
func TestJobRunningAnswer(t *testing.T) {
	err := &service.JobRunningError{Job: service.JobStatus{ID: "abc123", State: service.JobRunning, Total: 10, Done: 4},
		RetryAfter: 7 * time.Second}
	ae := toAPIError(err)
	if ae.Status != http.StatusConflict || ae.Code != codeJobRunning || ae.Job == nil || ae.Job.ID != "abc123" ||
		strconv.Itoa(ae.retryAfter) != "7" {
		t.Fatalf("answer %+v (retry %d)", ae, ae.retryAfter)
	}
	for _, want := range []string{"abc123", "/v1/issuance-jobs/abc123"} {
		if !strings.Contains(ae.Message+" "+ae.Hint, want) {
			t.Errorf("answer %q / %q does not name %s", ae.Message, ae.Hint, want)
		}
	}
}
