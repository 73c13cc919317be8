package service

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/store/storetest"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/issuer"
)

// Run with: go test ./internal/service -run '^$' -bench . -benchtime 100000x
// (b.N is the number of dose records, resp. certificates). Set
// VAXCERT_TEST_PG to also measure PostgreSQL.

func benchService(b *testing.B, engine string, iss CertIssuer) *Service {
	st := storetest.Open(b, engine)
	s, err := New(Config{Store: st, Issuer: iss, Clock: testkit.Clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	// The benchmark's uploads are finalised at the source.
	if _, err := s.SetSitePermission(context.Background(), system, "S1", true); err != nil {
		b.Fatal(err)
	}
	return s
}

func benchIngest(b *testing.B, s *Service, n int) {
	var body bytes.Buffer
	if err := WriteSyntheticNDJSON(&body, "S1", n/2, 2, 1_000_000_000); err != nil {
		b.Fatal(err)
	}
	start, cpu := time.Now(), cpuTime()
	sum, err := s.IngestBatch(context.Background(), uploader("S1"), FormatNDJSON, &body, nil)
	if err != nil || sum.Stored != n/2*2 {
		b.Fatalf("ingest: %+v %v", sum, err)
	}
	b.ReportMetric(float64(sum.Stored)/time.Since(start).Seconds(), "records/s")
	b.ReportMetric(float64(sum.Stored)/(cpuTime()-cpu).Seconds(), "records/cpu-s")
}

// cpuTime is the process's user and system CPU time so far: unlike wall
// time, it does not count time the machine spent on other processes.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkIngest(b *testing.B) {
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			s := benchService(b, engine, newFakeIssuer(testkit.Clock))
			b.ResetTimer()
			benchIngest(b, s, max(b.N, 2))
		})
	}
}

// BenchmarkIssueAll measures the batch job with the real issuer (ES256).
func BenchmarkIssueAll(b *testing.B) {
	pki := testkit.NewPKI(b)
	iss, err := issuer.New(pki.DSC.Signer(), pki.DSC.Cert, issuer.WithClock(testkit.Clock),
		issuer.WithIssuerName(testkit.IssuerName), issuer.WithUVCISecret(bytes.Repeat([]byte{1}, issuer.MinUVCISecretLen)))
	if err != nil {
		b.Fatal(err)
	}
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			s := benchService(b, engine, iss)
			benchIngest(b, s, 2*b.N)
			b.ResetTimer()
			start, cpu := time.Now(), cpuTime()
			id, err := s.StartIssueAll(context.Background(), finaliser)
			if err != nil {
				b.Fatal(err)
			}
			var st JobStatus
			for {
				if st, err = s.Job(context.Background(), finaliser, id); err != nil || st.State != JobRunning {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if st.State != JobDone || st.Issued != int64(b.N) {
				b.Fatalf("job %+v (%v)", st, err)
			}
			b.ReportMetric(float64(st.Issued)/time.Since(start).Seconds(), "certs/s")
			b.ReportMetric(float64(st.Issued)/(cpuTime()-cpu).Seconds(), "certs/cpu-s")
		})
	}
}
