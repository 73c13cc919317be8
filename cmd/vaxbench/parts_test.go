package main

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/issuer"
)

func TestHistogramBuckets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := []uint64{0, 1, 255, 256, 257, 511, 512, 1000, 1 << 20, 1<<40 + 12345, 1<<63 - 1, 1 << 63, 1<<64 - 1}
	for range 10_000 {
		values = append(values, rng.Uint64()>>rng.IntN(64))
	}
	for _, v := range values {
		b := bucket(v)
		if b < 0 || b >= histBuckets {
			t.Fatalf("bucket(%d) = %d, out of range", v, b)
		}
		if hi := bucketMax(b); hi < v || (b > 0 && bucketMax(b-1) >= v) {
			t.Fatalf("value %d in bucket %d [%d, %d]", v, b, bucketMax(b-1)+1, hi)
		}
		if b >= histLinear {
			lo := bucketMax(b-1) + 1
			if width := bucketMax(b) - lo + 1; float64(width) > float64(lo)/histSub {
				t.Fatalf("bucket %d spans %d..%d, more than 1/%d", b, lo, bucketMax(b), histSub)
			}
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name string
		gen  func(i int) time.Duration
		n    int
	}{
		{"constant", func(int) time.Duration { return 3 * time.Millisecond }, 1000},
		{"uniform ns", func(i int) time.Duration { return time.Duration(i + 1) }, 100_000},
		{"exponential", func(int) time.Duration { return time.Duration(rng.ExpFloat64() * 2e6) }, 200_000},
		{"long tail", func(i int) time.Duration {
			if i%1000 == 0 {
				return time.Second
			}
			return time.Duration(500_000 + i%1000)
		}, 100_000},
		{"one", func(int) time.Duration { return 42 * time.Microsecond }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Record into two histograms and merge, as the clients do.
			var a, b, h histogram
			exact := make([]time.Duration, tc.n)
			for i := range exact {
				exact[i] = tc.gen(i)
				if i%2 == 0 {
					a.record(exact[i])
				} else {
					b.record(exact[i])
				}
			}
			h.merge(&a)
			h.merge(&b)
			slices.Sort(exact)
			if h.n != uint64(tc.n) || h.max != exact[len(exact)-1] {
				t.Fatalf("count %d max %v, want %d %v", h.n, h.max, tc.n, exact[len(exact)-1])
			}
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
				want := exact[max(int(math.Ceil(float64(tc.n)*q))-1, 0)]
				got := h.quantile(q)
				if got < want || float64(got-want) > float64(want)/histSub+1 {
					t.Errorf("quantile %v = %v, want %v (within 1/%d above)", q, got, want, histSub)
				}
			}
		})
	}
	var empty histogram
	if q := empty.quantile(0.99); q != 0 {
		t.Errorf("empty histogram quantile %v", q)
	}
}

func TestPeaks(t *testing.T) {
	const MiB = 1 << 20
	samples := []memSample{
		{done: 0, heap: 2 * MiB, rss: 20 * MiB},
		{done: 10, heap: 5 * MiB, rss: 30 * MiB},
		{done: 25, heap: 4 * MiB, rss: 31 * MiB},
		{done: 40, heap: 9 * MiB, rss: 32 * MiB},
		{done: 100, heap: 6 * MiB, rss: 40 * MiB},
	}
	for _, tc := range []struct {
		name    string
		samples []memSample
		total   int64
		want    []MemPoint
	}{
		{"progress", samples, 100, []MemPoint{
			{Percent: 0, Done: 0, Samples: 1, HeapInuseMiB: 2, RSSMiB: 20},
			{Percent: 25, Done: 25, Samples: 3, HeapInuseMiB: 5, RSSMiB: 31},
			{Percent: 50, Done: 50, Samples: 4, HeapInuseMiB: 9, RSSMiB: 32},
			{Percent: 100, Done: 100, Samples: 5, HeapInuseMiB: 9, RSSMiB: 40},
		}},
		{"only the end sampled", samples[4:], 100, []MemPoint{
			{Percent: 0, Done: 0},
			{Percent: 25, Done: 25},
			{Percent: 50, Done: 50},
			{Percent: 100, Done: 100, Samples: 1, HeapInuseMiB: 6, RSSMiB: 40},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := peaks(tc.samples, tc.total, progressMarks); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("peaks\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestSamplerTakesSamples(t *testing.T) {
	var n int64
	s := startSampler(time.Millisecond, func() int64 { n++; return n })
	time.Sleep(20 * time.Millisecond)
	pts := s.finish(1 << 40)
	if last := pts[len(pts)-1]; last.Samples < 2 || last.HeapInuseMiB <= 0 {
		t.Errorf("peaks %+v", pts)
	}
	if r := rss(); r == 0 {
		t.Log("no VmRSS on this system")
	}
}

func TestDraftWriter(t *testing.T) {
	var whole bytes.Buffer
	if err := service.WriteSyntheticNDJSON(&whole, benchSite, 50, 3, firstID); err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(whole.String(), `"status":"finalised"`, `"status":"draft"`)
	for _, chunk := range []int{1, 7, 19, 4096, whole.Len()} {
		var out bytes.Buffer
		dw := &draftWriter{w: &out}
		in := whole.Bytes()
		for len(in) > 0 {
			n := min(chunk, len(in))
			if m, err := dw.Write(in[:n]); m != n || err != nil {
				t.Fatalf("chunk %d: Write = %d, %v", chunk, m, err)
			}
			in = in[n:]
		}
		if err := dw.flush(); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Errorf("chunk %d: output differs from the whole text rewritten", chunk)
		}
	}
	if strings.Contains(want, "finalised") || strings.Count(want, `"status":"draft"`) != 150 {
		t.Errorf("rewritten text does not hold 150 drafts")
	}
}

func TestPersonRecord(t *testing.T) {
	tmpl, err := syntheticRecord(2)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 12_345} {
		var b bytes.Buffer
		if err := service.WriteSyntheticNDJSON(&b, benchSite, 1, 2, firstID+int64(i)); err != nil {
			t.Fatal(err)
		}
		var want issuer.Record
		if err := json.Unmarshal(b.Bytes(), &want); err != nil {
			t.Fatal(err)
		}
		if got := personRecord(tmpl, i); !reflect.DeepEqual(got, want) {
			t.Errorf("person %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	if tmpl.Person.ID != nationalID(0) || tmpl.Doses[0].RecordID != nationalID(0)+"-1" {
		t.Errorf("template %+v does not start at person 0", tmpl)
	}
}

func TestWrkScript(t *testing.T) {
	s := string(wrkScript([]citizen{{token: "a.b.c", self: "/v1/me/certificates/URN:UVCI:01:VN:X%23Y"}}))
	for _, want := range []string{`{"a.b.c", "/v1/me/certificates/URN:UVCI:01:VN:X%23Y"}`, "init = function",
		"request = function", `"Bearer " .. c[1]`} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
}

func TestWithSearchPath(t *testing.T) {
	for _, tc := range []struct{ base, want string }{
		{"postgres://u@h/db", "postgres://u@h/db?search_path=s1"},
		{"postgres://u@h/db?sslmode=disable", "postgres://u@h/db?sslmode=disable&search_path=s1"},
	} {
		if got := withSearchPath(tc.base, "s1"); got != tc.want {
			t.Errorf("withSearchPath(%q) = %q, want %q", tc.base, got, tc.want)
		}
	}
}

func TestMedianAndThousands(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{9, 1, 5}, 5}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {1234567, "1,234,567"}, {-20000, "-20,000"}} {
		if got := thousands(tc.n); got != tc.want {
			t.Errorf("thousands(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// TestWriteSurge: the table says where the load generator runs and gives
// each stage its verdict, with the reasons of a miss.
func TestWriteSurge(t *testing.T) {
	r := &SurgeResult{Engine: "sqlite", Records: 2000, Shedding: "5ms", Stages: []SurgeStage{
		{Multiple: 1, Clients: 32, Admitted: Latency{Requests: 100, P50: 3, P99: 20}, AdmittedPerSecond: 7000,
			CPUPerRequestMicros: 140},
		{Multiple: 10, Clients: 320, Admitted: Latency{Requests: 100, P50: 40, P99: 142}, AdmittedPerSecond: 4000,
			Refused: Latency{Requests: 10, P99: 241}, RefusedPerSecond: 1400, Status503: 10, MissingRetryAfter: 1},
	}}
	var b strings.Builder
	if err := writeSurge(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"the load generator runs in this process", "load shedding target 5ms", "CPU µs/req", " 140 ",
		"NO: admitted p99 142.0 ms, refusal p99 241.0 ms, 1 refusals without Retry-After"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if got := strings.Count(out, " yes\n"); got != 1 {
		t.Errorf("%d stages graceful, want 1:\n%s", got, out)
	}
}
