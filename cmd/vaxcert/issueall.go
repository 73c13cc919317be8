package main

import (
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/service"
)

const issueAllUsage = `Usage:
    vaxcert issue-all [--server URL] [--token T] [--interval 1s] [--join]
    vaxcert issue-all --list [--server URL] [--token T]

Start the batch issuance on a running issuer service (vaxcert serve) for
every person whose finalised records changed since their last issuance, and
follow its progress until it ends: a progress bar on a terminal, a line
every few seconds otherwise. Only one batch issuance runs at a time: while
one runs, issue-all names it and says when to try again. An interrupted one
(every server working on it stopped) is resumed by running issue-all again.
Stopping issue-all does not stop the job.

On PostgreSQL several servers can share the running job: --join adds the
server at --server to it (each person is still issued exactly once), then
follows it.

Flags:
    --server URL     the service (default $VAXCERT_SERVER, else
                     http://127.0.0.1:8080)
    --token T        a finaliser's staff token (default $VAXCERT_TOKEN; prefer
                     the variable: command lines are visible to other users)
    --interval DUR   how often to poll the progress (default 1s)
    --join           join the running job instead of starting one
    --list           list the recent jobs with their state, newest first

Exit status: 0 when the job finished, 1 when it failed or was cancelled or
interrupted, 2 for a usage, connection or server error.

Example:
    $ VAXCERT_TOKEN=vxs_... vaxcert issue-all --server http://127.0.0.1:8080
    [##########..........]  52% 52,000/100,000 6,120/s ETA 8s
`

// Environment variables of issue-all.
const (
	envServer = "VAXCERT_SERVER"
	envToken  = "VAXCERT_TOKEN"
)

// plainEvery is how many polls apart progress lines are printed when
// standard error is not a terminal.
const plainEvery = 5

// jobStatus is the issuance job resource of the API.
type jobStatus = service.JobStatus

func runIssueAll(e *env, args []string) error {
	flags := newFlagSet("issue-all")
	serverURL := flags.String("server", envOr(envServer, "http://127.0.0.1:8080"), "")
	token := flags.String("token", os.Getenv(envToken), "")
	interval := durationFlag{time.Second}
	flags.Var(&interval, "interval", "")
	join := flags.Bool("join", false, "")
	list := flags.Bool("list", false, "")
	pos, err := parseFlags(flags, args)
	switch {
	case err != nil:
		return err
	case len(pos) > 0:
		return commandUsageError("issue-all", fmt.Errorf("unexpected argument %q", pos[0]))
	case *token == "":
		return withHint(errors.New("a staff token is required"), "set "+envToken+" to a finaliser's token, or pass --token")
	case interval.d <= 0:
		return commandUsageError("issue-all", errors.New("--interval must be positive"))
	case *join && *list:
		return commandUsageError("issue-all", errors.New("--join and --list exclude each other"))
	}
	base, err := url.Parse(strings.TrimSuffix(*serverURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return commandUsageError("issue-all", errors.New("--server must be an http:// or https:// URL"))
	}
	c := &apiClient{base: base.String(), token: *token, http: &http.Client{Timeout: 30 * time.Second}}

	if *list {
		return listJobs(e, c)
	}
	var job jobStatus
	if *join {
		var running *jobStatus
		if running, err = c.runningJob(); err != nil {
			return err
		}
		if running == nil {
			return withHint(errors.New("no batch issuance is running"), "start one with vaxcert issue-all")
		}
		err = c.do(http.MethodPost, "/v1/issuance-jobs/"+url.PathEscape(running.ID)+"/workers", &job)
	} else {
		err = c.do(http.MethodPost, "/v1/issuance-jobs", &job)
	}
	if err != nil {
		return err
	}
	tty := isTerminal(e.stderr)
	for polls := 1; job.State == service.JobRunning; polls++ {
		if tty {
			fmt.Fprintf(e.stderr, "\r%s", progressLine(job))
		} else if polls%plainEvery == 1 {
			fmt.Fprintln(e.stderr, progressLine(job))
		}
		time.Sleep(interval.d)
		if err = c.do(http.MethodGet, "/v1/issuance-jobs/"+url.PathEscape(job.ID), &job); err != nil {
			return err
		}
	}
	if tty {
		fmt.Fprintf(e.stderr, "\r%s\n", progressLine(job))
	}
	summary := fmt.Sprintf("job %s %s: %s persons processed, %s issued, %s blocked (contradictory records), %s failed",
		job.ID, job.State, thousands(job.Done), thousands(job.Issued), thousands(job.Blocked), thousands(job.Failed))
	if job.State != service.JobDone {
		err := errors.New(summary)
		if job.Error != "" {
			err = fmt.Errorf("%s: %s", summary, job.Error)
		}
		return &cliError{err: err, code: exitInvalid,
			hints: []string{"run vaxcert issue-all again to resume; see the service log for the cause"}}
	}
	_, err = fmt.Fprintln(e.stdout, summary)
	return err
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressLine renders a job's progress:
// "[##########..........]  52% 52,000/100,000 6,120/s ETA 8s".
func progressLine(j jobStatus) string {
	const width = 20
	frac := 1.0
	if j.Total > 0 {
		frac = min(float64(j.Done)/float64(j.Total), 1)
	}
	n := int(frac * width)
	eta := "-"
	if j.ETASeconds > 0 {
		eta = (time.Duration(j.ETASeconds*float64(time.Second)) + time.Second - 1).Truncate(time.Second).String()
	}
	return fmt.Sprintf("[%s%s] %3d%% %s/%s %s/s ETA %s", strings.Repeat("#", n), strings.Repeat(".", width-n),
		int(frac*100), thousands(j.Done), thousands(j.Total), thousands(int64(j.Rate+0.5)), eta)
}

// thousands formats n with comma separators: 1234567 → "1,234,567".
func thousands(n int64) string { return message.NewPrinter(language.English).Sprint(n) }

// apiClient calls the issuance-job routes of the service.
type apiClient struct {
	base, token string
	http        *http.Client
}

// jobList is the answer of GET /v1/issuance-jobs.
type jobList struct {
	Jobs []jobStatus `json:"jobs"`
}

// runningJob returns the running job, or nil.
func (c *apiClient) runningJob() (*jobStatus, error) {
	var l jobList
	if err := c.do(http.MethodGet, "/v1/issuance-jobs?limit=5", &l); err != nil {
		return nil, err
	}
	for i := range l.Jobs {
		if l.Jobs[i].State == service.JobRunning {
			return &l.Jobs[i], nil
		}
	}
	return nil, nil
}

// listJobs prints the recent jobs, newest first.
func listJobs(e *env, c *apiClient) error {
	var l jobList
	if err := c.do(http.MethodGet, "/v1/issuance-jobs?limit=20", &l); err != nil {
		return err
	}
	for _, j := range l.Jobs {
		fmt.Fprintf(e.stdout, "%s  %-11s %s  %s/%s done, %s issued, %d workers\n", j.ID, j.State,
			j.StartedAt.Format(time.RFC3339), thousands(j.Done), thousands(j.Total), thousands(j.Issued), j.Workers)
	}
	return nil
}

// do sends a bodiless request and decodes the answer into out; an error
// answer becomes an error with the service's message and hint.
func (c *apiClient) do(method, path string, out any) error {
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		return withHint(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.http.Do(req)
	if err != nil {
		return withHint(fmt.Errorf("failed to reach the service: %w", err),
			"is vaxcert serve running at "+c.base+"? (--server)")
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, limits.MaxAPIBody))
	if err != nil {
		return withHint(fmt.Errorf("failed to read the answer: %w", err))
	}
	if res.StatusCode/100 != 2 {
		var e struct {
			Error struct {
				Code, Message, Hint string
				Job                 *jobStatus
			}
		}
		if json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
			return withHint(fmt.Errorf("the service answered %s", res.Status))
		}
		hints := []string{}
		if e.Error.Hint != "" {
			hints = append(hints, e.Error.Hint)
		}
		switch {
		case res.StatusCode == http.StatusUnauthorized, res.StatusCode == http.StatusForbidden:
			hints = append(hints, "issue-all needs a finaliser's token ("+envToken+" or --token)")
		case e.Error.Job != nil:
			hints = append(hints, fmt.Sprintf("job %s: %s/%s persons done; try again in %s s, or follow it with "+
				"vaxcert issue-all --join (PostgreSQL)", e.Error.Job.ID, thousands(e.Error.Job.Done),
				thousands(e.Error.Job.Total), res.Header.Get("Retry-After")))
		}
		return withHint(fmt.Errorf("the service refused: %s (%s)", e.Error.Message, e.Error.Code), hints...)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return withHint(errors.New("the service's answer is not an issuance job"))
	}
	if j, ok := out.(*jobStatus); ok && j.ID == "" {
		return withHint(errors.New("the service's answer is not an issuance job"))
	}
	return nil
}
