package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vaxcert/vaxcert/internal/auth"
	"github.com/vaxcert/vaxcert/internal/service"
)

// principal is the caller of a request: an actor, or (Kind empty) the
// reason authentication failed.
type principal struct {
	actor service.Actor
	err   error
}

// identify authenticates the bearer credential, if any, and keeps the
// result for the access guards, the rate limiter and the handlers. It
// refuses nothing itself: public routes ignore the result.
func (s *Server) identify(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var p principal
		tok, err := auth.BearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
		switch {
		case err != nil:
			p.err = err
		case strings.HasPrefix(tok, auth.StaffTokenPrefix):
			a, err := s.svc.LookupToken(c.Request().Context(), tok)
			switch {
			case errors.Is(err, service.ErrUnauthenticated):
				p.err = err
			case err != nil:
				return err
			default:
				p.actor = a
			}
		default:
			id, err := s.citizens.verify(tok, s.cfg.Citizens.Verify)
			if err != nil {
				p.err = err
			} else {
				p.actor = service.Actor{Kind: service.ActorCitizen, ID: id}
			}
		}
		c.Set(keyPrincipal, p)
		return next(c)
	}
}

// access is who may call a route.
type access struct {
	public  bool
	citizen bool
	perms   []auth.Permission // staff: any of these
}

var (
	public      = access{public: true}
	citizenOnly = access{citizen: true}
)

func staff(perms ...auth.Permission) access { return access{perms: perms} }

// guard enforces a: 401 without a valid credential, 403 for a credential
// of the other kind or a role without the permissions.
func (a access) guard(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if a.public {
			return next(c)
		}
		p, _ := c.Get(keyPrincipal).(principal)
		switch p.actor.Kind {
		case service.ActorCitizen:
			if a.citizen {
				return next(c)
			}
		case service.ActorStaff:
			for _, perm := range a.perms {
				if p.actor.Role.Allows(perm) {
					return next(c)
				}
			}
		default:
			if p.err == nil {
				p.err = service.ErrUnauthenticated
			}
			return errUnauthenticated(p.err)
		}
		return newError(http.StatusForbidden, codeForbidden, "the route is not open to this credential",
			"see the route's roles (x-roles) in GET /v1/openapi.yaml")
	}
}

// actor returns the authenticated caller (set by identify, checked by the
// route's guard).
func actor(c echo.Context) service.Actor {
	p, _ := c.Get(keyPrincipal).(principal)
	return p.actor
}
