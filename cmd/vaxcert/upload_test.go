package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/service"
)

// TestUpload runs the site client against a real service whose first
// upload is answered 503 busy: the client retries, splits the file in
// parts, and writes the rejected row with its reason; run again, it
// stores nothing twice.
func TestUpload(t *testing.T) {
	ctx := context.Background()
	var posts atomic.Int64
	svc, ts := newTestService(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && posts.Add(1) == 1 {
				w.Header().Set("Retry-After", "0")
				http.Error(w, `{"error":{"code":"busy"}}`, http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	system := service.Actor{Kind: service.ActorSystem, ID: "test"}
	token, _, err := svc.CreateToken(ctx, system, auth.RoleUploader, "HN-001", "site")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(strings.Join(service.CSVColumns, ",") + "\n")
	for i, id := range []string{"001090000021", "001090000022", "001090000023", "001090000024", "001090000025"} {
		date := "2021-08-15"
		if i == 3 {
			date = "2021-13-01" // rejected
		}
		b.WriteString(id + ",Trần,Thị Mai,1985-02-03,r" + id + ",HN-001,EU/1/20/1528,ORG-100030215,L1,1,2," + date + ",VN,draft\n")
	}
	file := filepath.Join(t.TempDir(), "doses.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// Run twice: the second run (a resume) is answered from the stored
	// outcomes of the same keys, without sending the parts again.
	for run := range 2 {
		before := posts.Load()
		want := "4 stored (0 merged with another site's copy), 0 duplicate, 1 rejected"
		code, stdout, stderr := runCLI(t, "", "upload", "--server", ts.URL, "--token", token, "--part-rows", "2", file)
		if code != exitInvalid || !strings.Contains(stdout, want) {
			t.Fatalf("run %d: exit %d\nstdout: %s\nstderr: %s", run+1, code, stdout, stderr)
		}
		if run == 0 && !strings.Contains(stderr, "503") {
			t.Errorf("no retry reported: %s", stderr)
		}
		if sent := posts.Load() - before; run == 0 && sent != 4 || run == 1 && sent != 0 {
			t.Errorf("run %d: %d uploads sent (3 parts, one retried; then none)", run+1, sent)
		}
	}
	rej, err := os.ReadFile(file + ".rejected.csv")
	if err != nil || strings.Count(string(rej), "\n") != 2 || !strings.Contains(string(rej), "2021-13-01") {
		t.Fatalf("rejected rows %q (%v)", rej, err)
	}
	why, _ := os.ReadFile(file + ".rejected.txt")
	if string(why) != "line 5: date=invalid\n" {
		t.Errorf("reasons %q", why)
	}
}
