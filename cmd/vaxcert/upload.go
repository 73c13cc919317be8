package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vaxcert/vaxcert/internal/limits"
)

const uploadUsage = `Usage:
    vaxcert upload [--server URL] [--token T] [--part-rows N] FILE...

Upload dose records to the issuer service as a vaccination site: each FILE is
NDJSON (one dose-record document per line, *.ndjson or *.jsonl) or CSV (a
header, then one dose per line, *.csv). Large files are sent in parts of
--part-rows rows, each under its own Idempotency-Key derived from the file's
content, so an upload that is interrupted (connection lost, server
restarted, the command stopped) is resumed by running the same command
again: the service reports the rows it already committed as
already_stored_by_this_batch and stores the rest. A busy or unreachable
service is retried with backoff (honouring Retry-After).

A part an earlier run completed is not sent again: its stored outcome is
read from the service (GET /v1/dose-records/batches/KEY).

At the end it prints a summary (stored, duplicate, rejected) and, when rows
were rejected, writes FILE.rejected.csv or FILE.rejected.ndjson (the
rejected rows, ready to fix and re-send) and FILE.rejected.txt (the line
number of each and the fields at fault).

Flags:
    --server URL     the service (default $VAXCERT_SERVER, else
                     http://127.0.0.1:8080)
    --token T        the site's uploader token (default $VAXCERT_TOKEN;
                     prefer the variable: command lines are visible to others)
    --part-rows N    rows per request (default 5000)
    --attempts N     attempts per part before giving up (default 8)

Exit status: 0 when every row was stored or was a duplicate, 1 when rows
were rejected, 2 for a usage, connection or server error.

Example:
    $ VAXCERT_TOKEN=vxs_... vaxcert upload --server https://vaxcert.example doses-2021-09.csv
    [####################] 100% 12,000/12,000 rows
    doses-2021-09.csv: 11,990 stored (35 merged with another site's copy), 7 duplicate, 3 rejected
    rejected rows: doses-2021-09.csv.rejected.csv (reasons: doses-2021-09.csv.rejected.txt)
`

// uploadRow is one row of a file: its line number and text.
type uploadRow struct {
	line int
	text string
}

// uploadOutcome is one dose's outcome in the service's report.
type uploadOutcome struct {
	Row     int      `json:"row"`
	Outcome string   `json:"outcome"`
	Notes   []string `json:"notes"`
	Errors  []struct {
		Field string `json:"field"`
		Code  string `json:"code"`
	} `json:"errors"`
	Summary *json.RawMessage `json:"summary"`
	Error   *struct {
		Code string `json:"code"`
	} `json:"error"`
}

// uploadTotals counts doses by outcome.
type uploadTotals struct {
	stored, merged, duplicate, rejected int
}

func runUpload(e *env, args []string) error {
	flags := newFlagSet("upload")
	serverURL := flags.String("server", envOr(envServer, "http://127.0.0.1:8080"), "")
	token := flags.String("token", os.Getenv(envToken), "")
	partRows := flags.Int("part-rows", 5000, "")
	attempts := flags.Int("attempts", 8, "")
	files, err := parseFlags(flags, args)
	switch {
	case err != nil:
		return err
	case len(files) == 0:
		return commandUsageError("upload", errors.New("no FILE given"))
	case *token == "":
		return withHint(errors.New("a staff token is required"), "set "+envToken+" to your site's uploader token, or pass --token",
			"đặt "+envToken+" là token tải lên của cơ sở tiêm chủng, hoặc dùng --token")
	case *partRows <= 0 || *partRows > limits.MaxBatchRows || *attempts <= 0:
		return commandUsageError("upload", errors.New("--part-rows and --attempts must be positive"))
	}
	base, err := url.Parse(strings.TrimSuffix(*serverURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return commandUsageError("upload", errors.New("--server must be an http:// or https:// URL"))
	}
	u := &uploader{base: base.String(), token: *token, http: &http.Client{Timeout: 10 * time.Minute},
		attempts: *attempts, stderr: e.stderr, tty: isTerminal(e.stderr), sleep: time.Sleep}
	anyRejected := false
	for _, f := range files {
		tot, err := u.file(f, *partRows)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: %s stored (%s merged with another site's copy), %s duplicate, %s rejected\n", f,
			thousands(int64(tot.stored)), thousands(int64(tot.merged)), thousands(int64(tot.duplicate)),
			thousands(int64(tot.rejected)))
		if tot.rejected > 0 {
			anyRejected = true
			fmt.Fprintf(e.stdout, "rejected rows: %s (reasons: %s)\n", rejectedPath(f), f+".rejected.txt")
		}
	}
	if anyRejected {
		return &cliError{err: errors.New("some rows were rejected"), code: exitInvalid,
			hints: []string{"fix the rows in the rejected file and upload it again",
				"sửa các dòng trong tệp bị từ chối rồi tải lên lại"}}
	}
	return nil
}

func rejectedPath(f string) string {
	if isCSV(f) {
		return f + ".rejected.csv"
	}
	return f + ".rejected.ndjson"
}

func isCSV(f string) bool { return strings.HasSuffix(strings.ToLower(f), ".csv") }

// uploader sends files to the service.
type uploader struct {
	base, token string
	http        *http.Client
	attempts    int
	stderr      io.Writer
	tty         bool
	sleep       func(time.Duration)
}

// file uploads one file part by part and writes its rejected rows.
func (u *uploader) file(path string, partRows int) (uploadTotals, error) {
	var tot uploadTotals
	// First pass: the content's hash (the parts' keys) and the row count
	// (the progress bar); the second sends part by part, so memory holds
	// one part at a time whatever the file's size.
	h := sha256.New()
	total := 0
	err := scanRows(path, h, func(uploadRow) error { total++; return nil })
	if err != nil {
		return tot, err
	}
	if isCSV(path) && total > 0 {
		total-- // the header
	}
	fileKey := "upload-" + hex.EncodeToString(h.Sum(nil)[:12])
	var header string
	var rejected []uploadRow
	var reasons []string
	var part []uploadRow
	done, p := 0, 0
	send := func() error {
		outs, err := u.part(path, fileKey+"-p"+strconv.Itoa(p), header, part)
		if err != nil {
			return err
		}
		// Row numbers in a part: CSV counts its header as row 1.
		first := 1
		if header != "" {
			first = 2
		}
		bad := map[int][]string{}
		for _, o := range outs {
			switch o.Outcome {
			case "stored", "already_stored_by_this_batch":
				tot.stored++
			case "merged_with_other_site":
				tot.stored++
				tot.merged++
			case "duplicate_of_existing":
				tot.duplicate++
			default:
				tot.rejected++
				var fs []string
				for _, f := range o.Errors {
					fs = append(fs, f.Field+"="+f.Code)
				}
				bad[o.Row] = append(bad[o.Row], strings.Join(fs, " "))
			}
		}
		for i, r := range part {
			if why, ok := bad[first+i]; ok {
				rejected = append(rejected, r)
				reasons = append(reasons, fmt.Sprintf("line %d: %s", r.line, strings.Join(why, "; ")))
			}
		}
		done += len(part)
		u.progress(done, total)
		part, p = part[:0], p+1
		return nil
	}
	seenHeader := !isCSV(path)
	err = scanRows(path, nil, func(r uploadRow) error {
		if !seenHeader {
			header, seenHeader = r.text, true
			return nil
		}
		part = append(part, r)
		if len(part) == partRows {
			return send()
		}
		return nil
	})
	if err == nil && len(part) > 0 {
		err = send()
	}
	if err != nil {
		return tot, err
	}
	if u.tty {
		fmt.Fprintln(u.stderr)
	}
	if len(rejected) > 0 {
		var b strings.Builder
		if header != "" {
			b.WriteString(header + "\n")
		}
		for _, r := range rejected {
			b.WriteString(r.text + "\n")
		}
		if err := writeFileAtomic(rejectedPath(path), []byte(b.String()), 0o600); err != nil {
			return tot, withHint(err)
		}
		if err := writeFileAtomic(path+".rejected.txt", []byte(strings.Join(reasons, "\n")+"\n"), 0o600); err != nil {
			return tot, withHint(err)
		}
	}
	return tot, nil
}

// scanRows calls fn with every non-blank line of the file (a CSV file's
// header first), copying the file's bytes to hash if not nil.
func scanRows(path string, hash io.Writer, fn func(uploadRow) error) error {
	f, err := os.Open(path)
	if err != nil {
		return withHint(err)
	}
	defer f.Close()
	var r io.Reader = f
	if hash != nil {
		r = io.TeeReader(f, hash)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), limits.MaxBatchLine+2)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if err := fn(uploadRow{line: n, text: line}); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return withHint(fmt.Errorf("%s: %w", path, err), "every row must be shorter than 16 KiB",
			"mỗi dòng phải ngắn hơn 16 KiB")
	}
	return nil
}

func (u *uploader) progress(done, total int) {
	const width = 20
	n := width
	if total > 0 {
		n = done * width / total
	}
	line := fmt.Sprintf("[%s%s] %3d%% %s/%s rows", strings.Repeat("#", n), strings.Repeat(".", width-n),
		n*100/width, thousands(int64(done)), thousands(int64(total)))
	if u.tty {
		fmt.Fprintf(u.stderr, "\r%s", line)
	} else {
		fmt.Fprintln(u.stderr, line)
	}
}

// errRetry marks an attempt worth repeating.
type errRetry struct {
	err   error
	after time.Duration
}

func (e *errRetry) Error() string { return e.err.Error() }

// part sends one part under its key until the service has answered for
// every row, retrying with backoff; the outcomes of the last attempt are
// returned (the service replays what earlier attempts committed).
func (u *uploader) part(path, key, header string, part []uploadRow) ([]uploadOutcome, error) {
	var b strings.Builder
	if header != "" {
		b.WriteString(header + "\n")
	}
	for _, r := range part {
		b.WriteString(r.text + "\n")
	}
	ctype := "application/x-ndjson"
	if header != "" {
		ctype = "text/csv"
	}
	// A part an earlier run completed is not sent again: its stored
	// outcome is read instead.
	if outs, ok := u.completed(key); ok {
		return outs, nil
	}
	wait := time.Second
	var last error
	for attempt := 1; attempt <= u.attempts; attempt++ {
		outs, err := u.send(key, ctype, b.String())
		var re *errRetry
		if !errors.As(err, &re) {
			return outs, err
		}
		last = err
		d := max(wait, re.after)
		fmt.Fprintf(u.stderr, "\n%s: %v; retrying in %s (attempt %d of %d)\n", path, err, d, attempt+1, u.attempts)
		u.sleep(d)
		wait = min(2*wait, 30*time.Second)
	}
	return nil, withHint(fmt.Errorf("%s: gave up after %d attempts: %w", path, u.attempts, last),
		"run the same command again later: the rows already stored are not sent twice",
		"chạy lại đúng lệnh này sau: các dòng đã lưu không bị gửi lại hai lần")
}

// completed returns the stored outcome of the part uploaded under key, if
// an earlier run completed it (GET /v1/dose-records/batches/{key}, paged).
// Any failure means "not known to be complete": the part is sent.
func (u *uploader) completed(key string) ([]uploadOutcome, bool) {
	var outs []uploadOutcome
	after := 0
	for {
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v1/dose-records/batches/%s?limit=1000&after_row=%d",
			u.base, url.PathEscape(key), after), nil)
		if err != nil {
			return nil, false
		}
		req.Header.Set("Authorization", "Bearer "+u.token)
		res, err := u.http.Do(req)
		if err != nil {
			return nil, false
		}
		var b struct {
			Complete  bool            `json:"complete"`
			Rows      []uploadOutcome `json:"rows"`
			NextAfter int             `json:"next_after_row"`
		}
		err = json.NewDecoder(io.LimitReader(res.Body, limits.MaxBatchPage)).Decode(&b)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK || !b.Complete {
			return nil, false
		}
		outs = append(outs, b.Rows...)
		if b.NextAfter == 0 {
			return outs, true
		}
		after = b.NextAfter
	}
}

// send makes one attempt: POST the part, read the streamed report.
func (u *uploader) send(key, ctype, body string) ([]uploadOutcome, error) {
	req, err := http.NewRequest(http.MethodPost, u.base+"/v1/dose-records/batch", strings.NewReader(body))
	if err != nil {
		return nil, withHint(err)
	}
	req.Header.Set("Authorization", "Bearer "+u.token)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Idempotency-Key", key)
	res, err := u.http.Do(req)
	if err != nil {
		return nil, &errRetry{err: fmt.Errorf("failed to reach the service: %w", err)}
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message, Hint string }
		}
		msg, _ := io.ReadAll(io.LimitReader(res.Body, limits.MaxAPIBody))
		json.Unmarshal(msg, &e)
		err := fmt.Errorf("the service answered %s (%s)", res.Status, e.Error.Code)
		if res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500 {
			after, _ := strconv.Atoi(res.Header.Get("Retry-After"))
			return nil, &errRetry{err: err, after: time.Duration(after) * time.Second}
		}
		hints := []string{}
		if e.Error.Hint != "" {
			hints = append(hints, e.Error.Hint)
		}
		if res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden {
			hints = append(hints, "upload needs your site's uploader token ("+envToken+" or --token)",
				"lệnh upload cần token tải lên của cơ sở ("+envToken+" hoặc --token)")
		}
		return nil, withHint(err, hints...)
	}
	var outs []uploadOutcome
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 4<<10), limits.MaxReportLine)
	for sc.Scan() {
		var o uploadOutcome
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			return nil, &errRetry{err: fmt.Errorf("unreadable report line: %w", err)}
		}
		if o.Summary != nil {
			if o.Error != nil {
				return nil, &errRetry{err: fmt.Errorf("the upload stopped early (%s)", o.Error.Code)}
			}
			return outs, nil
		}
		outs = append(outs, o)
	}
	return nil, &errRetry{err: fmt.Errorf("the report ended before its summary: %v", sc.Err())}
}
