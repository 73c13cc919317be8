package wrkrun

import (
	"errors"
	"strings"
	"testing"
)

const report = `Running 20s test @ http://127.0.0.1:39811
  2 threads and 100 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.04ms    2.30ms   1.02s    80.20%
    Req/Sec    10.08k     1.02k   12.43k    71.00%
  Latency Distribution
     50%  635.91us
     75%    5.85ms
     90%    7.54ms
     99%   13.33ms
  100323 requests in 20.00s, 56.88MB read
  Non-2xx or 3xx responses: 3
  Socket errors: connect 1, read 2, write 0, timeout 4
Requests/sec:  20049.29
Transfer/sec:     11.37MB
`

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		out     string
		want    *Result
		wantErr error
	}{
		{"report", report, &Result{RequestsPerSecond: 20049.29, Requests: 100323, Errors: 10, Non2xx: 3, P50: 0.63591,
			P90: 7.54, P99: 13.33, Max: 1020}, nil},
		{"no errors", strings.Replace(strings.Replace(report, "  Non-2xx or 3xx responses: 3\n", "", 1),
			"  Socket errors: connect 1, read 2, write 0, timeout 4\n", "", 1),
			&Result{RequestsPerSecond: 20049.29, Requests: 100323, P50: 0.63591, P90: 7.54, P99: 13.33, Max: 1020}, nil},
		{"no percentiles", strings.Replace(report, "     99%   13.33ms\n", "", 1), nil, ErrOutput},
		{"no request count", strings.Replace(report, "  100323 requests in 20.00s, 56.88MB read\n", "", 1), nil, ErrOutput},
		{"bad request count", strings.Replace(report, "100323 requests", "1e5x requests", 1), nil, ErrOutput},
		{"bad unit", strings.Replace(report, "13.33ms", "13.33xs", 1), nil, ErrOutput},
		{"empty", "", nil, ErrOutput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.out))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if tc.want == nil {
				return
			}
			const eps = 1e-9
			if got.RequestsPerSecond != tc.want.RequestsPerSecond || got.Requests != tc.want.Requests ||
				got.Errors != tc.want.Errors || got.Non2xx != tc.want.Non2xx ||
				abs(got.P50-tc.want.P50) > eps || abs(got.P90-tc.want.P90) > eps || abs(got.P99-tc.want.P99) > eps ||
				abs(got.Max-tc.want.Max) > eps {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestMS(t *testing.T) {
	for in, want := range map[string]float64{"635.91us": 0.63591, "1.33ms": 1.33, "2.01s": 2010, "1.00m": 60000, "1h": 3600000} {
		got, err := MS(in)
		if err != nil || abs(got-want) > 1e-9 {
			t.Errorf("MS(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "12", "1.2xs", "ms"} {
		if _, err := MS(in); err == nil {
			t.Errorf("MS(%q): no error", in)
		}
	}
}

func abs(x float64) float64 { return max(x, -x) }
