// Package verifysvc is the standalone venue verifier service (`vaxcert
// serve-verifier`): POST /v1/verify answers with the venue answer
// (verifier/venue) from lists a verifysync.Syncer keeps; it has no
// database and keeps no personal data (nothing about a request outlives
// it; logs hold the route, status and duration only).
//
// Routes:
//
//	POST /v1/verify   the QR text (text/plain, or {"qr": "HC1:…"}) → venue.Answer;
//	                  the full payload ("certificate") only for a privileged client
//	                  (Authorization: Bearer TOKEN, a token of Config.Privileged)
//	GET  /scan        the venue scan page (package scanpage), when Config.Scan is set;
//	                  it verifies in the browser, offline after one visit
//	GET  /v1/trust-list, /v1/revocations
//	                  the last good lists the service holds, for the scan page: the
//	                  trust list JWS and the revocation bundle {"full", "deltas"}
//	GET  /v1/rule-set the signed rule set the service applies, synced or Config.RuleSet
//	                  (404: none), for the scan page, which applies it too
//	GET  /healthz     the process serves
//	GET  /readyz      200 only with a trust list and a revocation list held and unexpired
//	GET  /metrics     Prometheus: answers by decision, list ages and sequences, sync failures
package verifysvc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/netguard"
	"github.com/vaxcert/vaxcert/internal/scanpage"
	"github.com/vaxcert/vaxcert/internal/textcheck"
	"github.com/vaxcert/vaxcert/internal/verifysync"
	"github.com/vaxcert/vaxcert/verifier"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

// DefaultAddr is the default listen address.
const DefaultAddr = "127.0.0.1:8090"

// DefaultRate is the default per-client rate of POST /v1/verify.
var DefaultRate = netguard.Rate{PerSecond: 100, Burst: 300}

// Config configures the service.
type Config struct {
	Addr    string
	Checker *venue.Checker     // required
	Sync    *verifysync.Syncer // required: readiness and list metrics
	// Privileged are the SHA-256 digests of the bearer tokens whose
	// requests get the full payload.
	Privileged [][sha256.Size]byte
	// Rate is the per-client rate of POST /v1/verify (default DefaultRate).
	Rate           netguard.Rate
	TrustedProxies *netguard.Proxies
	// Scan, when set, serves the scan page (Root is the pinned CSCA
	// certificate, PEM; the list URLs are this service's own).
	Scan *scanpage.Config
	// RuleSet is the signed rule set the service applies from its own
	// configuration (--rules FILE), served at GET /v1/rule-set for the
	// scan page until a synced one replaces it; nil for none.
	RuleSet []byte
	// RequestTimeout bounds reading and answering a request (default 10 s).
	RequestTimeout time.Duration
	// Checks is how many checks run at once (default GOMAXPROCS; negative:
	// no bound). A check is CPU-bound, so running more at once than there
	// are cores only interleaves them, in an order that is not the order the
	// requests came in: the Go scheduler runs a goroutine that finds its
	// next request already read before those queued behind it, and a
	// goroutine's thread can be descheduled by the kernel with others queued
	// on its processor. The checks beyond the bound wait their turn in
	// arrival order, which is what keeps the slowest answers near the
	// typical one under load.
	Checks int
	Clock  func() time.Time
	Logger *slog.Logger
}

// Server is the verifier service.
type Server struct {
	cfg     Config
	e       *echo.Echo
	limiter *netguard.Limiter
	reg     *prometheus.Registry
	answers *prometheus.CounterVec
	latency prometheus.Histogram
	// turns holds a token per check running (nil: no bound); a channel's
	// blocked senders proceed in the order they blocked.
	turns chan struct{}
}

// New builds the service.
func New(cfg Config) (*Server, error) {
	if cfg.Checker == nil || cfg.Sync == nil {
		return nil, errors.New("verifysvc: a checker and a syncer are required")
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Rate == (netguard.Rate{}) {
		cfg.Rate = DefaultRate
	}
	if !cfg.Rate.Valid() {
		return nil, errors.New("verifysvc: the rate needs a positive rate and burst")
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Checks == 0 {
		cfg.Checks = runtime.GOMAXPROCS(0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, limiter: netguard.NewLimiter(0, time.Now), reg: prometheus.NewRegistry()}
	if cfg.Checks > 0 {
		s.turns = make(chan struct{}, cfg.Checks)
	}
	s.metrics()
	s.e = echo.New()
	s.e.HideBanner, s.e.HidePort = true, true
	s.e.IPExtractor = func(r *http.Request) string { return cfg.TrustedProxies.ClientIP(r).String() }
	s.e.HTTPErrorHandler = s.handleError
	s.e.Use(s.accessLog)
	s.e.POST("/v1/verify", s.verify, s.rateLimit, middleware.BodyLimit(strconv.Itoa(limits.MaxVerifyBody/1024)+"K"))
	if cfg.Scan != nil {
		scanpage.Register(s.e, *cfg.Scan)
		s.e.GET("/v1/trust-list", s.list(0, "application/jose"), s.rateLimit)
		s.e.GET("/v1/revocations", s.list(1, echo.MIMEApplicationJSON), s.rateLimit)
		s.e.GET("/v1/rule-set", s.list(2, "application/jose"), s.rateLimit)
	}
	s.e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	s.e.GET("/readyz", s.readyz)
	s.e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})))
	return s, nil
}

func (s *Server) metrics() {
	s.answers = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vaxcert_verifier_answers_total",
		Help: "Venue answers by decision."}, []string{"decision", "stale"})
	s.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vaxcert_verifier_verify_seconds",
		Help: "Time to answer POST /v1/verify.", Buckets: []float64{.0005, .001, .002, .005, .01, .025, .1}})
	status := func(f func(verifysync.Status) float64) func() float64 {
		return func() float64 { return f(s.cfg.Sync.Status(s.cfg.Clock())) }
	}
	s.reg.MustRegister(s.answers, s.latency,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vaxcert_verifier_trust_list_age_seconds",
			Help: "Age of the trust list held (since its signed iat); -1 without one."},
			status(func(st verifysync.Status) float64 { return seconds(st.TrustAge) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vaxcert_verifier_revocation_list_age_seconds",
			Help: "Age of the revocation list held (since its signed iat); -1 without one."},
			status(func(st verifysync.Status) float64 { return seconds(st.RevocationsAge) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vaxcert_verifier_trust_list_sequence", Help: "Sequence of the trust list held."},
			status(func(st verifysync.Status) float64 { return float64(st.TrustSeq) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vaxcert_verifier_revocation_list_sequence", Help: "Sequence of the revocation list held."},
			status(func(st verifysync.Status) float64 { return float64(st.RevocationsSeq) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vaxcert_verifier_sync_failures_total", Help: "Failed syncs."},
			status(func(st verifysync.Status) float64 { return float64(st.Failures) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vaxcert_verifier_ready", Help: "1 when the lists held are usable."},
			status(func(st verifysync.Status) float64 {
				if st.Usable == nil {
					return 1
				}
				return 0
			})),
	)
}

func seconds(d time.Duration) float64 {
	if d < 0 {
		return -1
	}
	return d.Seconds()
}

// Handler returns the service as an http.Handler.
func (s *Server) Handler() http.Handler { return s.e }

// verify answers a venue check.
func (s *Server) verify(c echo.Context) error {
	start := time.Now()
	var qr []byte
	switch ct, _, _ := strings.Cut(c.Request().Header.Get(echo.HeaderContentType), ";"); strings.TrimSpace(ct) {
	case echo.MIMETextPlain:
		b, err := netguard.ReadBody(c.Request(), limits.MaxVerifyBody)
		if err != nil {
			return err
		}
		qr = bytes.TrimRight(b, "\r\n")
	case echo.MIMEApplicationJSON:
		var req struct {
			QR string `json:"qr"`
		}
		d := json.NewDecoder(c.Request().Body)
		d.DisallowUnknownFields()
		if err := d.Decode(&req); err != nil {
			var ee *echo.HTTPError
			if errors.As(err, &ee) { // over the body limit
				return err
			}
			return apiError(http.StatusBadRequest, "malformed", "the body is not {\"qr\": \"HC1:…\"}",
				"send the QR text as text/plain, or as JSON {\"qr\": \"HC1:…\"}")
		}
		qr = []byte(req.QR)
	default:
		return apiError(http.StatusUnsupportedMediaType, "unsupported_media_type", "unsupported content type",
			"send the QR text as text/plain, or as JSON {\"qr\": \"HC1:…\"}")
	}
	if !textcheck.ValidBytes(qr) {
		return apiError(http.StatusBadRequest, "malformed", "the QR text holds control characters or invalid UTF-8",
			"send the text the QR code holds, unchanged")
	}
	answer, res, err := s.check(c.Request().Context(), qr)
	if err != nil {
		return err
	}
	if answer.Holder != nil && s.privileged(c.Request()) {
		if cert := res.Certificate(); cert != nil {
			if p, err := cert.PayloadJSON(); err == nil {
				answer.Certificate = p
			}
		}
	}
	s.answers.WithLabelValues(answer.Decision, strconv.FormatBool(answer.Stale)).Inc()
	s.latency.Observe(time.Since(start).Seconds())
	return answerJSON(c, answer)
}

// check runs the check of qr in its turn (Config.Checks); an error when
// the request ends while it waits.
func (s *Server) check(ctx context.Context, qr []byte) (venue.Answer, *verifier.Result, error) {
	if s.turns != nil {
		select {
		case s.turns <- struct{}{}:
			defer func() { <-s.turns }()
		case <-ctx.Done():
			return venue.Answer{}, nil, apiError(http.StatusServiceUnavailable, "unavailable",
				"the request ended while waiting for its turn", "scan again")
		}
	}
	a, res := s.cfg.Checker.Check(qr, s.cfg.Clock())
	return a, res, nil
}

// Shared header values of every answer: assigning them allocates nothing
// (net/http only reads them).
var (
	noStore  = []string{"no-store"}
	jsonType = []string{echo.MIMEApplicationJSON}
)

// answerJSON writes a 200 answer as JSON, not stored by caches. It is
// c.JSON without its per-request query parsing (?pretty) and header
// allocations: the verify route is the hot path.
func answerJSON(c echo.Context, v any) error {
	h := c.Response().Header()
	h[echo.HeaderCacheControl], h[echo.HeaderContentType] = noStore, jsonType
	c.Response().WriteHeader(http.StatusOK)
	return json.NewEncoder(c.Response()).Encode(v)
}

// privileged reports whether the request carries a privileged token.
func (s *Server) privileged(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get(echo.HeaderAuthorization), "Bearer ")
	if !ok || len(s.cfg.Privileged) == 0 || len(tok) > limits.MaxBearerToken {
		return false
	}
	sum := sha256.Sum256([]byte(tok))
	found := 0
	for _, p := range s.cfg.Privileged {
		found |= subtle.ConstantTimeCompare(sum[:], p[:])
	}
	return found == 1
}

// list serves the last good list i of the syncer (0 trust list, 1
// revocation bundle, 2 rule set) for the scan page.
func (s *Server) list(i int, contentType string) echo.HandlerFunc {
	return func(c echo.Context) error {
		trust, rev := s.cfg.Sync.Lists()
		rs := s.cfg.Sync.RuleSet()
		if rs == nil {
			rs = s.cfg.RuleSet
		}
		b := [3][]byte{trust, rev, rs}[i]
		if b == nil && i == 2 {
			return apiError(http.StatusNotFound, "not_found", "the service applies no signed rule set", "")
		}
		if b == nil {
			return apiError(http.StatusServiceUnavailable, "unavailable", "no list yet: the service has not synced with the issuer",
				"wait for the next sync (see /readyz), then reload the scan page")
		}
		c.Response().Header().Set(echo.HeaderCacheControl, "no-cache")
		return c.Blob(http.StatusOK, contentType, b)
	}
}

func (s *Server) readyz(c echo.Context) error {
	st := s.cfg.Sync.Status(s.cfg.Clock())
	body := map[string]any{"trust_list_age_seconds": int64(seconds(st.TrustAge)),
		"revocation_list_age_seconds": int64(seconds(st.RevocationsAge)),
		"trust_list_sequence":         st.TrustSeq, "revocation_list_sequence": st.RevocationsSeq}
	if st.Usable != nil {
		body["status"], body["reason"] = "unavailable", st.Usable.Error()
		return c.JSON(http.StatusServiceUnavailable, body)
	}
	body["status"] = "ok"
	return c.JSON(http.StatusOK, body)
}

// rateLimit applies the per-client rate.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if ok, wait := s.limiter.Allow(s.cfg.Rate, c.RealIP()); !ok {
			c.Response().Header().Set("Retry-After", strconv.Itoa(netguard.RetryAfter(wait)))
			return apiError(http.StatusTooManyRequests, "rate_limited", "too many requests from this client",
				"wait for the time Retry-After gives, then scan again")
		}
		return next(c)
	}
}

// accessLog logs route, status and duration; never the body, the query
// or headers.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		// LogAttrs with typed attributes: no boxing of each value into an
		// interface on every request.
		s.cfg.Logger.LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
			slog.String("method", c.Request().Method), slog.String("route", c.Path()),
			slog.Int("status", c.Response().Status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
		return nil
	}
}

// errorBody is the JSON of an error.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Hint    string `json:"hint,omitempty"`
	} `json:"error"`
}

type httpError struct {
	status int
	body   errorBody
}

func (e *httpError) Error() string { return e.body.Error.Message }

func apiError(status int, code, msg, hint string) error {
	e := &httpError{status: status}
	e.body.Error.Code, e.body.Error.Message, e.body.Error.Hint = code, msg, hint
	return e
}

func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *httpError
	var mbe *http.MaxBytesError
	var ee *echo.HTTPError
	switch {
	case errors.As(err, &he):
	case errors.As(err, &mbe):
		he = apiError(http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is over %d bytes", mbe.Limit),
			"send only the QR text").(*httpError)
	case errors.As(err, &ee) && ee.Code == http.StatusRequestEntityTooLarge:
		he = apiError(ee.Code, "too_large", fmt.Sprintf("the body is over %d bytes", limits.MaxVerifyBody),
			"send only the QR text").(*httpError)
	case errors.As(err, &ee):
		he = apiError(ee.Code, "http_"+strconv.Itoa(ee.Code), http.StatusText(ee.Code), "").(*httpError)
	default:
		s.cfg.Logger.Error("internal error", "route", c.Path(), "error", err)
		he = apiError(http.StatusInternalServerError, "internal", "internal error", "retry; report it if it persists").(*httpError)
	}
	_ = c.JSON(he.status, he.body)
}

// Run listens on Config.Addr and serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("verifysvc: failed to listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.e, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: s.cfg.RequestTimeout,
		WriteTimeout: s.cfg.RequestTimeout, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.cfg.Logger.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("verifysvc: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
