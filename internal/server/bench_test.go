package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/internal/store/storetest"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/issuer"
)

// benchEnv is an env on a fresh SQLite store, served by httptest on a
// loopback listener.
func benchEnv(b *testing.B) *env {
	b.Helper()
	return newEnv(b, storetest.Open(b, "sqlite"))
}

// BenchmarkCitizenList measures GET /v1/me/certificates end to end (JWT
// verification, rate limiter, database read, JSON) from parallel clients.
func BenchmarkCitizenList(b *testing.B) {
	e := benchEnv(b)
	e.submit(record(citizenA, dose("HN-001", "r1", 1, issuer.StatusFinalised)))
	e.issue(citizenA)
	tok := "Bearer " + e.creds[credCitizenA]
	client := e.ts.Client()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", e.ts.URL+"/v1/me/certificates", nil)
			req.Header.Set("Authorization", tok)
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
}

// BenchmarkBatchUpload measures a 10,000-row NDJSON upload through the API
// (new persons, one draft dose each); it reports rows/s.
func BenchmarkBatchUpload(b *testing.B) {
	const rows = 10_000
	e := benchEnv(b)
	for i := range b.N {
		b.StopTimer()
		var body strings.Builder
		for r := range rows {
			body.WriteString(ndjsonLine(b, record(fmt.Sprintf("003%03d%06d", i%1000, r),
				dose("HN-001", fmt.Sprintf("b%d-%d", i, r), 1, issuer.StatusDraft))))
		}
		b.StartTimer()
		res := e.do(req{method: "POST", path: "/v1/dose-records/batch", cred: credUploader, contentType: mimeNDJSON,
			body: strings.NewReader(body.String())})
		if rep := parseReport(b, res.body); rep.end.Summary.Stored != rows {
			b.Fatalf("summary %+v", rep.end.Summary)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkVerifyHandler serves POST /v1/verify (text/plain, a valid
// certificate, the service's own lists) through the whole handler chain
// in one goroutine, and the bare venue check beside it: the difference in
// allocations and time is the service's own.
func BenchmarkVerifyHandler(b *testing.B) {
	e := newEnv(b, storetest.Open(b, "sqlite"), func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	})
	cert, err := e.pki.Issuer(b).Issue(testkit.RecentRecord(testkit.Now))
	if err != nil {
		b.Fatal(err)
	}
	qr := []byte(cert.HC1)
	req, _ := http.NewRequest(http.MethodPost, "/v1/verify", nil)
	req.Header.Set("Content-Type", "text/plain")
	req.RemoteAddr = "192.0.2.1:1234"
	testkit.BenchHandler(b, e.srv.Handler(), req.Clone(req.Context()), qr, http.StatusOK) // loads the lists
	b.Run("check", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			e.srv.cfg.Checker.Check(qr, testkit.Now)
		}
	})
	b.Run("handler", func(b *testing.B) {
		testkit.BenchHandler(b, e.srv.Handler(), req, qr, http.StatusOK)
	})
}
