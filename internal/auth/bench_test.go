package auth

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// BenchmarkCitizenVerify measures Verify on the citizen-download hot path:
// serially, against a bare ECDSA P-256 verification of the same token (the
// floor), and with 100 concurrent callers, reporting p50 and p99 latency.
func BenchmarkCitizenVerify(b *testing.B) {
	k := keys()
	v := newTestVerifier(b, standardJWKS(b))
	es := es256(b, validClaims())
	rs := signJWT(b, jwa.RS256, k.rsa, "rsa-1", validClaims())

	b.Run("ES256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(es); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RS256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(rs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare-ecdsa-P256", func(b *testing.B) {
		i := strings.LastIndexByte(es, '.')
		sig, err := base64.RawURLEncoding.DecodeString(es[i+1:])
		if err != nil {
			b.Fatal(err)
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		pub := &k.ec.PublicKey
		for b.Loop() {
			h := sha256.Sum256([]byte(es[:i]))
			if !ecdsa.Verify(pub, h[:], r, s) {
				b.Fatal("bad signature")
			}
		}
	})
	// 100 clients with no think time. Each request yields before it is
	// served, as a handler does on its network read, so requests queue
	// round-robin as they would in the server; the latency includes that
	// queueing. Without the yield a goroutine would run ~10 ms of
	// back-to-back calls per time slice, which no HTTP client does.
	b.Run("ES256-100-concurrent", func(b *testing.B) {
		b.SetParallelism(max(1, 100/runtime.GOMAXPROCS(0)))
		var mu sync.Mutex
		var lat []time.Duration
		b.RunParallel(func(pb *testing.PB) {
			local := make([]time.Duration, 0, 1024)
			for pb.Next() {
				start := time.Now()
				runtime.Gosched()
				if _, err := v.Verify(es); err != nil {
					b.Error(err)
					return
				}
				local = append(local, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
		if len(lat) > 0 {
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		}
	})
}
