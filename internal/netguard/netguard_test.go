package netguard

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestClientIP(t *testing.T) {
	proxies, err := ParseProxies("10.0.0.0/8, 192.0.2.7, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no header", "198.51.100.1:5000", nil, "198.51.100.1"},
		{"untrusted peer: header ignored", "198.51.100.1:5000", []string{"203.0.113.9"}, "198.51.100.1"},
		{"trusted peer, one hop", "10.1.2.3:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"spoofed left entries skipped", "10.1.2.3:5000", []string{"1.1.1.1, 203.0.113.9"}, "203.0.113.9"},
		{"chain of trusted proxies", "192.0.2.7:443", []string{"203.0.113.9, 10.9.9.9"}, "203.0.113.9"},
		{"two header lines", "10.1.2.3:5000", []string{"1.1.1.1", "203.0.113.9"}, "203.0.113.9"},
		{"malformed entry stops at last trusted hop", "10.1.2.3:5000", []string{"203.0.113.9, garbage, 10.2.2.2"}, "10.2.2.2"},
		{"all trusted", "10.1.2.3:5000", []string{"10.7.7.7"}, "10.7.7.7"},
		{"trusted peer without header", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"IPv6 proxy", "[fd00::1]:443", []string{"2001:db8::5"}, "2001:db8::5"},
		{"IPv4-mapped peer", "[::ffff:10.1.2.3]:80", []string{"203.0.113.9"}, "203.0.113.9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := proxies.ClientIP(r); got != netip.MustParseAddr(tc.want) {
				t.Errorf("ClientIP = %v, want %s", got, tc.want)
			}
		})
	}
	var none *Proxies
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:1"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	if got := none.ClientIP(r); got != netip.MustParseAddr("10.1.2.3") {
		t.Errorf("nil Proxies: ClientIP = %v, want the peer", got)
	}
}

func TestParseProxiesErrors(t *testing.T) {
	for _, in := range []string{"10.0.0.0/33", "example.com", "10.0.0.1/x"} {
		if _, err := ParseProxies(in); !errors.Is(err, ErrBadProxy) {
			t.Errorf("ParseProxies(%q) = %v, want ErrBadProxy", in, err)
		}
	}
	p, err := ParseProxies(" ,10.0.0.0/8,")
	if err != nil || p.String() != "10.0.0.0/8" {
		t.Errorf("ParseProxies = %v, %v", p, err)
	}
}

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.9":          "203.0.113.9",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"::ffff:192.0.2.1":     "192.0.2.1",
	} {
		if got := Key(netip.MustParseAddr(in)); got != want {
			t.Errorf("Key(%s) = %s, want %s", in, got, want)
		}
	}
	if got := Key(netip.Addr{}); got != "unknown" {
		t.Errorf("Key(zero) = %s", got)
	}
}

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(2, func() time.Time { return now })
	r := Rate{PerSecond: 1, Burst: 2}
	for i := range 2 {
		if ok, _ := l.Allow(r, "a"); !ok {
			t.Fatalf("request %d refused within the burst", i)
		}
	}
	ok, wait := l.Allow(r, "a")
	if ok || wait != time.Second || RetryAfter(wait) != 1 {
		t.Fatalf("over the burst: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.Allow(r, "b"); !ok {
		t.Fatal("another key shares the bucket")
	}
	if ok, wait := l.Allow(r, "c"); ok || wait != SweepEvery {
		t.Fatalf("past maxKeys: ok=%v wait=%v, want refused for a sweep", ok, wait)
	}
	now = now.Add(BucketIdle)
	if ok, _ := l.Allow(r, "c"); !ok || l.Len() != 1 {
		t.Fatalf("after the idle time: ok=%v, %d buckets, want the old ones swept", ok, l.Len())
	}
}

func TestAdmission(t *testing.T) {
	a := NewAdmission(2, 1, 50*time.Millisecond)
	r1, ok1 := a.Acquire(context.Background())
	r2, ok2 := a.Acquire(context.Background())
	if !ok1 || !ok2 || a.InFlight() != 2 {
		t.Fatal("the first two requests were not admitted")
	}
	// One waits and gets the slot released meanwhile; a second waiter
	// finds the queue full and is refused at once.
	var wg sync.WaitGroup
	got := make(chan bool, 1)
	wg.Go(func() {
		rel, ok := a.Acquire(context.Background())
		if ok {
			rel()
		}
		got <- ok
	})
	for a.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if _, ok := a.Acquire(context.Background()); ok || time.Since(start) > 20*time.Millisecond {
		t.Fatalf("queue full: admitted=%v after %v, want refused at once", ok, time.Since(start))
	}
	r1()
	wg.Wait()
	if !<-got {
		t.Fatal("the waiting request was not admitted after a release")
	}
	// Nothing released: a waiter gives up after the wait.
	r3, _ := a.Acquire(context.Background())
	start = time.Now()
	if _, ok := a.Acquire(context.Background()); ok || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("admitted=%v after %v, want refused after the 50ms wait", ok, time.Since(start))
	}
	if a.Refused() != 2 {
		t.Fatalf("Refused = %d, want 2", a.Refused())
	}
	r2()
	r3()
	var none *Admission
	if rel, ok := none.Acquire(context.Background()); !ok {
		t.Fatal("nil Admission refused")
	} else {
		rel()
	}
	if NewAdmission(0, 0, 0) != nil {
		t.Fatal("NewAdmission(0) is a limit")
	}
}

func FuzzClientIP(f *testing.F) {
	p, _ := ParseProxies("10.0.0.0/8")
	f.Add("10.0.0.1:1", "203.0.113.9, 10.0.0.2")
	f.Add("10.0.0.1:1", "garbage,,::1")
	f.Fuzz(func(t *testing.T, peer, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", xff)
		got := p.ClientIP(r)
		if pa := PeerAddr(peer); !p.Trusted(pa) && got != pa {
			t.Fatalf("untrusted peer %q: client %v", peer, got)
		}
	})
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{"20:60": {20, 60}, " 0.5 : 5": {0.5, 5}, "off": Unlimited} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, _ := ParseRate(got.String()); back != got {
			t.Errorf("String round trip of %v: %v", got, back)
		}
	}
	for _, in := range []string{"", "20", "0:5", "5:0", "-1:5", "x:5", "5:x", "Inf:5", "NaN:5"} {
		if _, err := ParseRate(in); !errors.Is(err, ErrBadRate) {
			t.Errorf("ParseRate(%q) = %v, want ErrBadRate", in, err)
		}
	}
	var r Rate
	if err := (RateFlag{&r}).Set("3:4"); err != nil || r != (Rate{3, 4}) {
		t.Errorf("RateFlag.Set: %v, %v", r, err)
	}
}

func TestReadBody(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		length  int64
		want    string
		wantErr error
	}{
		{"exact length", "HC1:ABC", 7, "HC1:ABC", nil},
		{"unknown length", "HC1:ABC", -1, "HC1:ABC", nil},
		{"over max: read whole", "HC1:ABCDEFGH", 12, "HC1:ABCDEFGH", nil},
		{"short body", "HC1", 7, "", io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			r.ContentLength = tc.length
			got, err := ReadBody(r, 8)
			if !errors.Is(err, tc.wantErr) || string(got) != tc.want {
				t.Errorf("ReadBody = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
	// The body limit still applies when the length is not given.
	r, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader("0123456789"))
	r.ContentLength = -1
	r.Body = http.MaxBytesReader(nil, r.Body, 4)
	var mbe *http.MaxBytesError
	if _, err := ReadBody(r, 8); !errors.As(err, &mbe) {
		t.Errorf("over the body limit: %v", err)
	}
}
