package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/netguard"
	"github.com/vaxcert/vaxcert/internal/scanpage"
	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier/venue"
)

// DefaultAddr is the listen address of [Server.Run] unless [Config.Addr]
// says otherwise: the loopback interface, so that a development server is
// not exposed by accident.
const DefaultAddr = "127.0.0.1:8080"

// Rate is a token bucket: PerSecond requests per second on average, up to
// Burst at once.
type Rate = netguard.Rate

// Default rates, per client.
var (
	// DefaultStaffRate suits scripts that upload, finalise and poll.
	DefaultStaffRate = Rate{PerSecond: 50, Burst: 200}
	// DefaultCitizenRate suits an app listing and downloading a few
	// certificates.
	DefaultCitizenRate = Rate{PerSecond: 5, Burst: 30}
	// DefaultAnonymousRate applies per IP address to requests without a
	// valid credential (public routes and failed authentication).
	DefaultAnonymousRate = Rate{PerSecond: 20, Burst: 60}
	// DefaultVenueRate applies per client address to POST /v1/verify:
	// a venue's scanners often share one address (NAT), so it allows a
	// large venue's entrance (about 50 scanners at 2 scans a second).
	DefaultVenueRate = Rate{PerSecond: 100, Burst: 300}
)

// Admission defaults: citizen and public requests in flight per CPU, and
// how long a request may wait for a slot before it is refused with 503.
const (
	DefaultInFlightPerCPU = 8
	DefaultAdmissionWait  = 20 * time.Millisecond
	// DefaultShedTarget is the scheduling delay (the 90th percentile of
	// the time this process's goroutines wait to run, over 100 ms) above
	// which a share of citizen and public requests is refused
	// ([netguard.Shedder]): a request waits for the CPU several times
	// (read, database, answer), so 5 ms each keeps it well within the
	// surge's 100 ms.
	DefaultShedTarget = 5 * time.Millisecond
)

// Config configures [New]. Zero values mean the defaults.
type Config struct {
	// Addr is the listen address of [Server.Run] (default [DefaultAddr]).
	Addr string
	// Citizens verifies citizens' bearer JWTs (required).
	Citizens *auth.CitizenVerifier
	// Ready reports whether the service can issue (for example, the
	// document signer certificate is loaded and valid now); GET /readyz
	// calls it after checking the database. nil checks the database only.
	Ready func(context.Context) error
	// Logger receives the access log and server errors; nil discards them.
	Logger *slog.Logger
	// Lists, when set, publishes the signed trust list (GET
	// /v1/trust-list) and revocation list (GET /v1/revocations) of the
	// key folder; without it those routes answer 503.
	Lists *trustpub.Publisher
	// Checker, when set, serves POST /v1/verify and the /scan page with
	// the venue answer. With Lists, its state is the service's own signed
	// lists, refreshed at most once a second; without Lists the caller
	// sets its state. Without a Checker those routes answer 503.
	Checker *venue.Checker
	// Scan, when set, serves the venue scan page at /scan (package
	// scanpage): it verifies in the browser against the lists it names,
	// checked with the root it pins. Without it /scan answers 503.
	Scan *scanpage.Config
	// Clock is the verification time of /v1/verify (default time.Now).
	Clock func() time.Time
	// ValueSets resolve codes to display names on the PDF certificate
	// (default schemas.DefaultValueSets()).
	ValueSets *schemas.ValueSets
	// StaffRate, CitizenRate, AnonymousRate and VenueRate are the
	// per-client rate limits (defaults [DefaultStaffRate],
	// [DefaultCitizenRate], [DefaultAnonymousRate], [DefaultVenueRate]).
	// Anonymous and venue clients are keyed by address (IPv6 by /64).
	StaffRate, CitizenRate, AnonymousRate, VenueRate Rate
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (nil: none; the client is the peer address).
	TrustedProxies *netguard.Proxies
	// MaxInFlight bounds the citizen and public requests served at once
	// (default DefaultInFlightPerCPU per CPU; negative: no bound); a
	// request waits at most AdmissionWait (default
	// [DefaultAdmissionWait]) for a slot, then gets 503 with Retry-After.
	MaxInFlight   int
	AdmissionWait time.Duration
	// ShedTarget is the scheduling delay above which a growing share of
	// the citizen and public requests (not POST /v1/verify) is refused
	// with 503 and Retry-After before the admission limit (default
	// [DefaultShedTarget]; negative: never; no admission limit: never).
	// See [netguard.Shedder].
	ShedTarget time.Duration
	// RequestTimeout bounds reading and answering an ordinary request
	// (default 60s); UploadTimeout bounds a bulk upload and its report
	// (default 2h). Correction requests with photos get 5 minutes.
	RequestTimeout, UploadTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown: requests still running
	// after it are cut off (default 30s).
	ShutdownTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.ValueSets == nil {
		c.ValueSets = schemas.DefaultValueSets()
	}
	for _, r := range []struct {
		r   *Rate
		def Rate
	}{{&c.StaffRate, DefaultStaffRate}, {&c.CitizenRate, DefaultCitizenRate}, {&c.AnonymousRate, DefaultAnonymousRate},
		{&c.VenueRate, DefaultVenueRate}} {
		if *r.r == (Rate{}) {
			*r.r = r.def
		}
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultInFlightPerCPU * runtime.GOMAXPROCS(0)
	}
	for _, d := range []struct {
		d   *time.Duration
		def time.Duration
	}{{&c.AdmissionWait, DefaultAdmissionWait}, {&c.ShedTarget, DefaultShedTarget}, {&c.RequestTimeout, 60 * time.Second}, {&c.UploadTimeout, 2 * time.Hour}, {&c.ShutdownTimeout, 30 * time.Second}} {
		if *d.d == 0 {
			*d.d = d.def
		}
	}
}

func (c *Config) validate() error {
	if c.Citizens == nil {
		return fmt.Errorf("%w: a citizen verifier is required", ErrInvalidConfig)
	}
	for _, r := range []Rate{c.StaffRate, c.CitizenRate, c.AnonymousRate, c.VenueRate} {
		if !r.Valid() {
			return fmt.Errorf("%w: rates need a positive rate and burst", ErrInvalidConfig)
		}
	}
	if c.RequestTimeout < 0 || c.AdmissionWait < 0 || c.UploadTimeout < 0 || c.ShutdownTimeout < 0 {
		return fmt.Errorf("%w: negative timeout", ErrInvalidConfig)
	}
	return nil
}

// Server is the issuer service's HTTP API. It is safe for concurrent use.
type Server struct {
	cfg     Config
	svc     *service.Service
	log     *slog.Logger
	e       *echo.Echo
	metrics *metrics
	limiter *netguard.Limiter
	rates   [len(classPrefix)]Rate
	// admission gates citizen and public requests (nil: no bound), after
	// shedder (nil: none).
	admission *netguard.Admission
	shedder   *netguard.Shedder
	// self keeps Checker on the service's own lists.
	self selfState
	// citizens remembers verified citizen tokens.
	citizens *citizenCache
	// renderQR renders a certificate's QR code on its first PNG download
	// (tests count the calls).
	renderQR func(hc1 string) ([]byte, error)
}

// New returns the API over svc. It does not start listening: see
// [Server.Run], [Server.Serve] and [Server.Handler].
func New(cfg Config, svc *service.Service) (*Server, error) {
	if svc == nil {
		return nil, fmt.Errorf("%w: a service is required", ErrInvalidConfig)
	}
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, svc: svc, log: cfg.Logger, renderQR: issuer.QRPNG,
		citizens: newCitizenCache(citizenCacheSize, time.Now)}
	s.metrics = newMetrics(svc, cfg.Logger)
	s.limiter = netguard.NewLimiter(0, time.Now)
	s.rates = [len(classPrefix)]Rate{classAnonymous: cfg.AnonymousRate, classStaff: cfg.StaffRate,
		classCitizen: cfg.CitizenRate, classVenue: cfg.VenueRate}
	// The queue holds as many waiters as there are slots: beyond that a
	// waiter would not get a slot within the wait anyway.
	s.admission = netguard.NewAdmission(cfg.MaxInFlight, cfg.MaxInFlight, cfg.AdmissionWait)
	s.shedder = netguard.NewShedder(cfg.ShedTarget, netguard.SchedulingDelay(0.9), time.Now, rand.Float64)
	s.e = echo.New()
	s.e.HideBanner, s.e.HidePort = true, true
	s.e.IPExtractor = func(r *http.Request) string { return cfg.TrustedProxies.ClientIP(r).String() }
	s.e.HTTPErrorHandler = s.handleError
	s.routes()
	return s, nil
}

// Handler returns the API as an http.Handler, for tests and embedding. The
// per-request deadlines apply only where the connection supports them.
func (s *Server) Handler() http.Handler { return s.e }

// Run listens on [Config.Addr] and serves until ctx ends or the process
// receives SIGINT or SIGTERM; see [Server.Serve].
func (s *Server) Run(ctx context.Context) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: failed to listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then shuts down gracefully: it stops
// accepting connections (new ones are refused), lets in-flight requests
// finish within [Config.ShutdownTimeout], and closes the rest. It returns
// nil after a graceful shutdown. Serve takes ownership of ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.RequestTimeout, // extended per route, see extendDeadlines
		WriteTimeout:      s.cfg.RequestTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = errors.Join(fmt.Errorf("server: requests still running after %v were cut off", s.cfg.ShutdownTimeout),
			srv.Close())
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
