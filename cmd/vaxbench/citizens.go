package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Routes, as named in errors.
const (
	routeMyList = "GET /v1/me/certificates"
	routeMyCert = "GET /v1/me/certificates/{uvci}"
	routeMyPNG  = "GET /v1/me/certificates/{uvci}.png"
)

// errNoCertificate is returned when a synthetic citizen has no certificate
// after the batch issuance.
var errNoCertificate = errors.New("a citizen has no certificate")

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// citizen is a synthetic person with a certificate, seen from their app.
type citizen struct {
	token string
	// self is the path of their certificate's JSON form.
	self string
}

// citizens mints a JWT for each of the first n synthetic persons (person
// i%records for the i-th) and finds each one's certificate.
func (h *harness) citizens(ctx context.Context, n, records int, ttl time.Duration) ([]citizen, error) {
	out := make([]citizen, n)
	for i := range out {
		tok, err := h.citizenToken(i%records, ttl)
		if err != nil {
			return nil, err
		}
		var list struct {
			Certificates []struct {
				Links struct {
					Self string `json:"self"`
				} `json:"links"`
			} `json:"certificates"`
		}
		if err := h.call(ctx, routeMyList, http.MethodGet, "/v1/me/certificates", tok, nil, http.StatusOK, &list); err != nil {
			return nil, err
		}
		if len(list.Certificates) == 0 || list.Certificates[0].Links.Self == "" {
			return nil, errNoCertificate
		}
		out[i] = citizen{token: tok, self: list.Certificates[0].Links.Self}
	}
	return out, nil
}

// PNGResult compares a QR code's first download (rendered and stored) with
// the second (served from the database), in milliseconds, one entry per
// citizen.
type PNGResult struct {
	FirstMS        []float64 `json:"first_ms"`
	SecondMS       []float64 `json:"second_ms"`
	FirstMedianMS  float64   `json:"first_median_ms"`
	SecondMedianMS float64   `json:"second_median_ms"`
}

// pngTimings downloads each citizen's QR code twice.
func (h *harness) pngTimings(ctx context.Context, cs []citizen) (PNGResult, error) {
	var r PNGResult
	for _, c := range cs {
		for pass := range 2 {
			start := time.Now()
			if err := h.getPNG(ctx, c); err != nil {
				return r, err
			}
			ms := float64(time.Since(start).Microseconds()) / 1000
			if pass == 0 {
				r.FirstMS = append(r.FirstMS, ms)
			} else {
				r.SecondMS = append(r.SecondMS, ms)
			}
		}
	}
	r.FirstMedianMS, r.SecondMedianMS = median(r.FirstMS), median(r.SecondMS)
	return r, nil
}

func (h *harness) getPNG(ctx context.Context, c citizen) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+c.self+".png", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := h.http.Do(req)
	if err != nil {
		return transportError(routeMyPNG, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return unexpected(routeMyPNG, res)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return transportError(routeMyPNG, err)
	}
	if !bytes.HasPrefix(b, pngMagic) {
		return fmt.Errorf("%s: the answer is not a PNG image", routeMyPNG)
	}
	return nil
}

// median returns the median of xs (0 for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	Requests uint64  `json:"requests"`
	P50      float64 `json:"p50_ms"`
	P90      float64 `json:"p90_ms"`
	P99      float64 `json:"p99_ms"`
	P999     float64 `json:"p99_9_ms"`
	Max      float64 `json:"max_ms"`
}

func latencyOf(h *histogram) Latency {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return Latency{Requests: h.n, P50: ms(h.quantile(0.5)), P90: ms(h.quantile(0.9)), P99: ms(h.quantile(0.99)),
		P999: ms(h.quantile(0.999)), Max: ms(h.max)}
}

// LoadResult is the outcome of the citizen load test.
type LoadResult struct {
	Clients         int     `json:"clients"`
	WarmupSeconds   float64 `json:"warmup_seconds"`
	DurationSeconds float64 `json:"duration_seconds"`
	// RequestsPerSecond counts the requests started in the measured
	// window; Errors the ones that failed or were not 200.
	RequestsPerSecond float64 `json:"requests_per_second"`
	Errors            uint64  `json:"errors"`
	// FirstError describes the first failure (route and status only).
	FirstError string `json:"first_error,omitempty"`
	// All is both routes together; List and Cert one each.
	All  Latency `json:"all"`
	List Latency `json:"list"`
	Cert Latency `json:"certificate"`
}

// loadClient is one client of the load test: its two requests, reused
// (each is sent only after the previous answer was read), and its counts.
type loadClient struct {
	list, cert *http.Request
	hList      histogram
	hCert      histogram
	errors     uint64
	firstErr   error
}

// runLoad runs exactly len(cs) clients, one per citizen, each alternating
// the citizen's certificate list and certificate JSON over its own
// keep-alive connection, for warmup and then duration; only requests
// started after the warm-up are counted. sent counts every request.
func runLoad(ctx context.Context, base string, cs []citizen, warmup, duration time.Duration, sent *atomic.Int64) (LoadResult, error) {
	tr := &http.Transport{MaxIdleConns: len(cs), MaxIdleConnsPerHost: len(cs), IdleConnTimeout: time.Minute,
		DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	clients := make([]*loadClient, len(cs))
	for i, c := range cs {
		lc := &loadClient{}
		for _, r := range []struct {
			req  **http.Request
			path string
		}{{&lc.list, "/v1/me/certificates"}, {&lc.cert, c.self}} {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+r.path, nil)
			if err != nil {
				return LoadResult{}, err
			}
			req.Header.Set("Authorization", "Bearer "+c.token)
			*r.req = req
		}
		clients[i] = lc
	}
	from := time.Now().Add(warmup)
	until := from.Add(duration)
	var wg sync.WaitGroup
	for _, lc := range clients {
		wg.Go(func() { lc.run(client, from, until, sent) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return LoadResult{}, err
	}

	r := LoadResult{Clients: len(cs), WarmupSeconds: warmup.Seconds(), DurationSeconds: duration.Seconds()}
	var all, list, cert histogram
	for _, lc := range clients {
		list.merge(&lc.hList)
		cert.merge(&lc.hCert)
		r.Errors += lc.errors
		if r.FirstError == "" && lc.firstErr != nil {
			r.FirstError = lc.firstErr.Error()
		}
	}
	all.merge(&list)
	all.merge(&cert)
	r.RequestsPerSecond = float64(all.n) / duration.Seconds()
	r.All, r.List, r.Cert = latencyOf(&all), latencyOf(&list), latencyOf(&cert)
	return r, nil
}

// run sends requests until the deadline, recording those started at or
// after from.
func (lc *loadClient) run(client *http.Client, from, until time.Time, sent *atomic.Int64) {
	for k := 0; ; k++ {
		start := time.Now()
		if !start.Before(until) || lc.list.Context().Err() != nil {
			return
		}
		req, h, route := lc.list, &lc.hList, routeMyList
		if k%2 == 1 {
			req, h, route = lc.cert, &lc.hCert, routeMyCert
		}
		err := get(client, req, route)
		elapsed := time.Since(start)
		sent.Add(1)
		if start.Before(from) {
			continue
		}
		h.record(elapsed)
		if err != nil {
			lc.errors++
			if lc.firstErr == nil {
				lc.firstErr = err
			}
		}
	}
}

// get sends req and reads the whole answer, which must be 200.
func get(client *http.Client, req *http.Request, route string) error {
	res, err := client.Do(req)
	if err != nil {
		return transportError(route, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return unexpected(route, res)
	}
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return transportError(route, err)
	}
	return nil
}
