package server

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vaxcert/vaxcert/internal/service"
)

// metrics are the server's Prometheus metrics, in a registry of its own
// (so that several servers can live in one test process).
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	handler  echo.HandlerFunc
}

func newMetrics(svc *service.Service, log *slog.Logger) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vaxcert_http_requests_total",
			Help: "HTTP requests by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vaxcert_http_request_duration_seconds",
			Help:    "HTTP request latency by route template and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 120},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency, &statsCollector{svc: svc, log: log},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}))
	return m
}

func (m *metrics) observe(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

// Metrics read from the database at each scrape.
var (
	descIssued = prometheus.NewDesc("vaxcert_certificates_issued_total",
		"Certificates signed since the database was created.", nil, nil)
	descQueue = prometheus.NewDesc("vaxcert_queue_depth",
		"Work waiting: persons pending issuance, open reviews, open correction requests.", []string{"queue"}, nil)
)

// statsCollector publishes [service.Service.Stats]. The counts come from
// the database, so they include the work of every process (and of
// batch jobs) and survive restarts; the large ones are counters the
// writers keep (store/counters.go), so a scrape reads a few rows, not
// the tables.
type statsCollector struct {
	svc *service.Service
	log *slog.Logger
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descIssued
	ch <- descQueue
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.svc.Stats(ctx)
	if err != nil {
		c.log.Warn("failed to read stats for metrics", "error", err)
		ch <- prometheus.NewInvalidMetric(descIssued, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(descIssued, prometheus.CounterValue, float64(st.CertificatesIssued))
	for _, q := range []struct {
		name string
		n    int64
	}{{"pending_issuance", st.PendingIssuance}, {"open_reviews", st.OpenReviews}, {"open_corrections", st.OpenCorrections}} {
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(q.n), q.name)
	}
}
