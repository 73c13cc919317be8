package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestServeUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no identity provider", []string{"serve"}},
		{"jwks without issuer", []string{"serve", "--jwks", "jwks.json"}},
		{"dev with jwks", []string{"serve", "--dev", "--jwks", "jwks.json"}},
		{"dev with idp type", []string{"serve", "--dev", "--idp-type", "at+jwt"}},
		{"unexpected argument", []string{"serve", "--dev", "now"}},
		{"missing keys", []string{"serve", "--jwks", "jwks.json", "--idp-issuer", "https://id", "--data", "/nonexistent"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.args...)
			wantError(t, code, stdout, stderr, exitError)
		})
	}
}

// TestExamplePersonID: the development citizen JWT is for the person of
// examples/record.json.
func TestExamplePersonID(t *testing.T) {
	b, err := os.ReadFile("../../examples/record.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ Person struct{ ID string } }
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Person.ID != examplePersonID {
		t.Errorf("examples/record.json holds person %q, serve --dev mints a JWT for %q", rec.Person.ID, examplePersonID)
	}
}

// syncBuffer is a bytes.Buffer safe for a command running concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serveDev runs "vaxcert serve --dev" until fn returns, then stops it with
// SIGTERM and checks that it exits 0. fn gets the banner's exports.
func serveDev(t *testing.T, data string, fn func(base string, vars map[string]string)) {
	t.Helper()
	serveWith(t, []string{"--dev", "--data", data}, fn)
}

// serveWith runs "vaxcert serve" with args (and a free --addr), calls fn
// once it answers, with the variables its banner exports, and stops it with
// SIGTERM.
func serveWith(t *testing.T, args []string, fn func(base string, vars map[string]string)) {
	t.Helper()
	addr := freeAddr(t)
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(append([]string{"serve", "--addr", addr}, args...), strings.NewReader(""), &stdout, &stderr)
	}()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^export (\w+)=(\S+)$`).FindAllStringSubmatch(stdout.String(), -1) {
		vars[m[1]] = m[2]
	}
	fn(base, vars)
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("serve exited %d:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if strings.Contains(stderr.String(), examplePersonID) {
		t.Error("the log contains the example person's national ID number")
	}
}

// call sends a request with a bearer token and an optional JSON body.
func call(t *testing.T, method, url, token, body string, want int) []byte {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, url, res.StatusCode, want, b)
	}
	return b
}

// TestServeDev: serve --dev creates keys, identity provider and tokens,
// prints working credentials, and reuses them on the next start.
func TestServeDev(t *testing.T) {
	data := t.TempDir()
	var first map[string]string
	serveDev(t, data, func(base string, vars map[string]string) {
		for _, name := range []string{"UPLOADER", "FINALISER", "REVIEWER", "ADMIN", "CITIZEN"} {
			if vars[name] == "" {
				t.Fatalf("the banner exports no %s: %v", name, vars)
			}
		}
		first = vars
		call(t, "GET", base+"/readyz", "", "", http.StatusOK)
		call(t, "POST", base+"/v1/dose-records", vars["UPLOADER"], `{"person":{"id":"`+examplePersonID+
			`","family_name":"Nguyễn","given_name":"Văn Đức","birth_date":"1990-04-12"},"doses":[{"record_id":"r1",`+
			`"site":"HN-001","product":"EU/1/20/1528","manufacturer":"ORG-100030215","lot":"FF2588","dose_number":1,`+
			`"series_doses":2,"date":"2021-08-15","country":"VN","status":"finalised"}]}`, http.StatusCreated)
		call(t, "POST", base+"/v1/persons/issue", vars["FINALISER"], `{"national_id":"`+examplePersonID+`"}`, http.StatusOK)
		var list struct{ Certificates []struct{ UVCI string } }
		if err := json.Unmarshal(call(t, "GET", base+"/v1/me/certificates", vars["CITIZEN"], "", http.StatusOK), &list); err != nil ||
			len(list.Certificates) != 1 {
			t.Fatalf("citizen's certificates: %v %+v", err, list)
		}
		call(t, "GET", base+"/v1/audit", vars["ADMIN"], "", http.StatusOK)
		call(t, "GET", base+"/v1/corrections", vars["REVIEWER"], "", http.StatusOK)
	})
	st, err := os.Stat(filepath.Join(data, devTokensFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, mode %v", devTokensFile, err, st.Mode())
	}
	serveDev(t, data, func(base string, vars map[string]string) {
		for _, name := range []string{"UPLOADER", "FINALISER", "REVIEWER", "ADMIN"} {
			if vars[name] != first[name] {
				t.Errorf("%s changed on restart", name)
			}
		}
		call(t, "GET", base+"/v1/me/certificates", vars["CITIZEN"], "", http.StatusOK)
	})
}
