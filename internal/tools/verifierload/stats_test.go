package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/wrkrun"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want spread
	}{
		{nil, spread{}},
		{[]float64{0.8}, spread{0.8, 0.8, 0.8}},
		{[]float64{0.9, 0.5, 0.7}, spread{0.7, 0.5, 0.9}},
		{[]float64{4, 1, 3, 2}, spread{2.5, 1, 4}},
	} {
		in := append([]float64(nil), tc.in...)
		if got := summarize(tc.in); got != tc.want {
			t.Errorf("summarize(%v) = %+v, want %+v", in, got, tc.want)
		}
		for i := range in { // the caller's order is kept
			if in[i] != tc.in[i] {
				t.Errorf("summarize reordered its input: %v", tc.in)
			}
		}
	}
	if got := (spread{0.71, 0.6, 0.9}).format("%.2f"); got != "0.71 (0.60–0.90)" {
		t.Errorf("format = %q", got)
	}
}

func TestRoundRatio(t *testing.T) {
	sec := time.Second
	// Library: 10,000 then 12,000 checks/s at 200 then 160 µs of CPU per
	// check (2 cores); the service: 8,800 answers/s at 225 µs each.
	before := phase{ops: 10000, wall: sec, cpu: 2 * sec}
	after := phase{ops: 24000, wall: 2 * sec, cpu: 3840 * time.Millisecond}
	svc := phase{ops: 8800, wall: sec, cpu: 1980 * time.Millisecond}
	tr, cr := roundRatio(before, svc, after)
	if math.Abs(tr-0.8) > 1e-9 {
		t.Errorf("throughput ratio %v, want 0.8 (8,800 / mean of 10,000 and 12,000)", tr)
	}
	if math.Abs(cr-0.8) > 1e-9 {
		t.Errorf("CPU ratio %v, want 0.8 (180 µs / 225 µs)", cr)
	}
	// No answers: no ratio, not a division by zero.
	if tr, cr := roundRatio(before, phase{wall: sec}, after); tr != 0 || cr != 0 {
		t.Errorf("no answers: %v, %v", tr, cr)
	}
	if tr, _ := roundRatio(phase{}, svc, phase{}); tr != 0 {
		t.Errorf("no library phase: %v", tr)
	}
}

func TestQuantile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	if got := quantile(lat, 0.5); got != 50 {
		t.Errorf("p50 = %v", got)
	}
	if got := quantile(lat, 0.99); got != 99 {
		t.Errorf("p99 = %v", got)
	}
	if got := quantile(nil, 0.99); got != 0 {
		t.Errorf("empty p99 = %v", got)
	}
}

func TestWrkScript(t *testing.T) {
	s, err := wrkScript([]byte("HC1:6BF+70790T9WJWG.FKY*4GO0.O1CV2 O5 N2FBBRW1*70HS8WY04AC*WIFN0AHCD8KD97TK0F90KECTHGWJC0FDC:5AIA%G7X+AQB9746HS80:54IBQF60R6$A80X6S1BTYACG6M+9XG8KIAWNA91AY%67092L4WJCT3EHS8XJC$+DXJCCWENF6OF63W5NW6WF6%JC QE/IAYJC5LEW34U3ET7DXC9 QE-ED8%E.JCBECB1A-:8$96646AL60A60S6Q$D.UDRYA 96NF6L/5QW6307KQEPD09WEQDD+Q6TW6FA7C466KCN9E%961A6DL6FA7D46JPCT3E5JDLA7$Q6E464W5TG6..DX%DZJC6/DTZ9 QE5$CB$DA/D JC1/D3Z8WED1ECW.CCWE.Y92OAGY8MY9L+9MPCG/D5 C5IA5N9$PC5$CUZCY$5Y$527B+A4KZNQG5TKOWWD9FL%I8U$F7O2IBM85CWOC%LEZU4R/BXHDAHN 11$CA5MRI:AONFN7091K9FKIGIY%VWSSSU9%01FO2*FTPQ3C3F"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`wrk.method = "POST"`, `wrk.headers["Content-Type"] = "text/plain"`, `wrk.body = "HC1:6BF+70790`} {
		if !strings.Contains(string(s), want) {
			t.Errorf("the script lacks %q:\n%s", want, s)
		}
	}
	for _, bad := range []string{`HC1:"..`, "HC1:\\", "HC1:\n", "hc1:abc"} {
		if _, err := wrkScript([]byte(bad)); err == nil {
			t.Errorf("wrkScript(%q): no error", bad)
		}
	}
}

func TestOptionsCheck(t *testing.T) {
	ok := options{clients: 64, rounds: 5, duration: 3 * time.Second, services: "verifier, issuer"}
	if err := ok.check(); err != nil || len(ok.names) != 2 || ok.names[1] != "issuer" {
		t.Fatalf("check: %v %q", err, ok.names)
	}
	many := options{clients: 64, rounds: 99, duration: time.Second, services: "verifier"}
	if err := many.check(); err != nil || many.rounds != maxRounds {
		t.Errorf("rounds not bounded: %v %+v", err, many)
	}
	long := options{clients: 64, rounds: 1, duration: time.Hour, services: "verifier"}
	if err := long.check(); err != nil || long.duration != maxDuration {
		t.Errorf("duration not bounded: %v %+v", err, long)
	}
	for _, o := range []options{
		{clients: 0, rounds: 5, duration: time.Second, services: "verifier"},
		{clients: 64, rounds: 5, duration: time.Second, services: "verifier,nope"},
		{clients: 64, rounds: 20, duration: 30 * time.Second, services: "verifier,issuer"}, // 61 phases of 30 s
	} {
		if err := o.check(); err == nil {
			t.Errorf("check(%+v): no error", o)
		}
	}
}

func TestFromWrk(t *testing.T) {
	got := fromWrk(&wrkrun.Result{DurationSeconds: 3, RequestsPerSecond: 10000, Requests: 30500, Non2xx: 500,
		Errors: 502, P50: 4, P99: 9, CPUSeconds: 0.4})
	want := loadResult{Answers: 30000, Refused: 500, Errors: 2, Seconds: 3.05, P50: 4, P99: 9, CPUSeconds: 0.4}
	if got != want {
		t.Errorf("fromWrk = %+v, want %+v", got, want)
	}
	// Nothing answered: the requested length, no division by zero.
	if got := fromWrk(&wrkrun.Result{DurationSeconds: 3, Errors: 64}); got.Seconds != 3 || got.Errors != 64 || got.Answers != 0 {
		t.Errorf("fromWrk(no answers) = %+v", got)
	}
}
