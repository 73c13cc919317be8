package server

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vaxcert/vaxcert/internal/netguard"
	"github.com/vaxcert/vaxcert/internal/service"
)

// clientClass selects a client's rate.
type clientClass int

const (
	classAnonymous clientClass = iota
	classStaff
	classCitizen
	classVenue // POST /v1/verify, per client address
)

// classPrefix keeps the keys of the classes apart in one limiter.
var classPrefix = [...]string{classAnonymous: "ip:", classStaff: "staff:", classCitizen: "citizen:", classVenue: "venue:"}

// clientAddr is the client's address: the peer, or the address a trusted
// proxy forwarded (Config.TrustedProxies).
func (s *Server) clientAddr(c echo.Context) string {
	return netguard.Key(s.cfg.TrustedProxies.ClientIP(c.Request()))
}

// rateLimit takes a token from the client's bucket: the staff token's, the
// citizen's, or the client address's for requests without a valid
// credential. POST /v1/verify has its own per-address class (venue
// scanners, many behind one address), whatever the credential.
func (s *Server) rateLimit(class clientClass) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			cl, key := class, ""
			if cl != classVenue {
				p, _ := c.Get(keyPrincipal).(principal)
				switch p.actor.Kind {
				case service.ActorStaff:
					cl, key = classStaff, p.actor.ID
				case service.ActorCitizen:
					cl, key = classCitizen, p.actor.ID
				}
			}
			if key == "" {
				key = s.clientAddr(c)
			}
			if ok, wait := s.limiter.Allow(s.rates[cl], classPrefix[cl]+key); !ok {
				e := newError(http.StatusTooManyRequests, codeRateLimited, "too many requests",
					"wait for the number of seconds in Retry-After")
				e.retryAfter = netguard.RetryAfter(wait)
				return e
			}
			return next(c)
		}
	}
}

// overloadRetry is the Retry-After of a request refused for overload.
const overloadRetry = time.Second

// admit bounds the public and citizen requests in flight
// (Config.MaxInFlight): under a surge the admitted ones keep their latency
// and the rest are refused at once with 503 and Retry-After, before any
// work is done for them. Staff routes are not gated: uploads and issuance
// must go on while citizens crowd in.
func (s *Server) admit(next echo.HandlerFunc) echo.HandlerFunc { return s.gate(next, false) }

// admitOrShed is admit, and while the process is congested
// (Config.ShedTarget) it refuses a share of the requests before the limit
// is even consulted. It guards the citizen and public GET routes, a crowd
// of apps that come back later; POST /v1/verify keeps admit alone: a
// venue scan refused holds a person at the door.
func (s *Server) admitOrShed(next echo.HandlerFunc) echo.HandlerFunc { return s.gate(next, true) }

func (s *Server) gate(next echo.HandlerFunc, shed bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		var release func()
		ok := false
		if !shed || !s.shedder.Shed(s.admission.InFlight()) {
			release, ok = s.admission.Acquire(c.Request().Context())
		}
		if !ok {
			e := newError(http.StatusServiceUnavailable, codeOverloaded, "the service is busy",
				"retry after the number of seconds in Retry-After")
			e.retryAfter = netguard.RetryAfter(overloadRetry)
			return e
		}
		defer release()
		return next(c)
	}
}
