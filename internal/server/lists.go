package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vaxcert/vaxcert/internal/service"
	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/verifier/lists"
)

// mediaJOSE is the media type of a JWS in compact serialization (RFC 7515 §9.2.1).
const mediaJOSE = "application/jose"

// Cache lifetimes of the signed lists: a verifier re-fetches the trust
// list (which rarely changes, and answers 304 when it did not) and the
// revocation list (deltas) on its own schedule; proxies may keep them
// this long.
const (
	trustListMaxAge   = 5 * time.Minute
	revocationsMaxAge = 30 * time.Second
)

// trustList serves the signed trust list, with an ETag.
func (s *Server) trustList(c echo.Context) error {
	if s.cfg.Lists == nil {
		return errListsOff()
	}
	data, etag, err := s.cfg.Lists.TrustList()
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderCacheControl, "public, max-age="+strconv.Itoa(int(trustListMaxAge/time.Second)))
	h.Set("ETag", etag)
	if etagMatch(c.Request().Header.Get("If-None-Match"), etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, mediaJOSE, data)
}

// ruleSet serves the signed rule set venues apply (serve --rules), with
// an ETag; 404 when none is published.
func (s *Server) ruleSet(c echo.Context) error {
	if s.cfg.Lists == nil {
		return errListsOff()
	}
	data, etag, err := s.cfg.Lists.CurrentRuleSet()
	if errors.Is(err, trustpub.ErrNoRuleSet) {
		return newError(http.StatusNotFound, codeNotFound, "no rule set is published",
			"start the service with --rules DIR|FILE to publish the venues' rule set")
	}
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderCacheControl, "public, max-age="+strconv.Itoa(int(trustListMaxAge/time.Second)))
	h.Set("ETag", etag)
	if etagMatch(c.Request().Header.Get("If-None-Match"), etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, mediaJOSE, data)
}

// etagMatch reports whether an If-None-Match header names etag (or is *).
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// revocations serves the signed revocation list: ?since=SEQ for a delta.
// It holds hashes only: no UVCI leaves the service.
func (s *Server) revocations(c echo.Context) error {
	if s.cfg.Lists == nil {
		return errListsOff()
	}
	q := newQuery(c)
	var since uint64
	if v := q.v.Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 63)
		if err != nil {
			q.bad("since")
		}
		since = n
	}
	if err := q.err(); err != nil {
		return err
	}
	data, err := s.cfg.Lists.Revocations(c.Request().Context(), s.svc, since)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age="+strconv.Itoa(int(revocationsMaxAge/time.Second)))
	return c.Blob(http.StatusOK, mediaJOSE, data)
}

func errListsOff() error {
	return newError(http.StatusServiceUnavailable, codeUnavailable, "the signed lists are not configured",
		"start the service with its key folder")
}

// selfState keeps Config.Checker on the service's own lists, rebuilt at
// most once per selfRefresh, so /v1/verify sees a revocation within
// seconds and answers exactly as a venue verifier holding the same lists.
// One request rebuilds (signing, parsing and verifying the whole
// revocation list: O(revocations)); the others answer meanwhile from the
// lists held instead of queueing behind it, which would put the rebuild's
// length into the latency of every verify in flight once a second.
//
// When the publisher hands out the very lists the held state was built
// from (it keeps its signed lists until their content changes or a quarter
// of their validity has passed), the rebuild is skipped: it would build
// the same state, at the cost of parsing and verifying every revocation
// once a second.
type selfState struct {
	mu   sync.Mutex
	at   time.Time // by Config.Clock
	wall time.Time // by the wall clock
	// trust and revs are the publisher's lists the held state was built
	// from.
	trust, revs []byte
}

// sameList reports whether a and b are the same slice (the publisher's
// cached list, handed out again), not merely equal bytes: O(1).
func sameList(a, b []byte) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

const selfRefresh = time.Second

func (s *Server) refreshChecker(c echo.Context, now time.Time) error {
	if s.cfg.Lists == nil {
		return nil
	}
	if s.cfg.Checker.State() == nil {
		s.self.mu.Lock() // nothing to answer from yet: wait for the first build
	} else if !s.self.mu.TryLock() {
		return nil // another request is rebuilding
	}
	defer s.self.mu.Unlock()
	if now.Sub(s.self.at) < selfRefresh && time.Since(s.self.wall) < selfRefresh && s.cfg.Checker.State() != nil {
		return nil
	}
	tl, _, err := s.cfg.Lists.TrustList()
	if err != nil {
		return err
	}
	rl, err := s.cfg.Lists.Revocations(c.Request().Context(), s.svc, 0)
	if err != nil {
		return err
	}
	if sameList(tl, s.self.trust) && sameList(rl, s.self.revs) {
		s.self.at, s.self.wall = now, time.Now()
		return nil
	}
	st, err := lists.NewState(s.cfg.Lists.CSCA())
	if err == nil {
		st, err = st.WithTrustList(tl, now)
	}
	if err == nil {
		st, err = st.WithRevocations(rl, now)
	}
	if err == nil {
		err = s.cfg.Checker.SetState(st)
	}
	if err != nil {
		return err
	}
	s.self.at, s.self.wall = now, time.Now()
	s.self.trust, s.self.revs = tl, rl
	return nil
}

// revoke revokes certificates for fraud or any reason a correction does
// not cover: {"uvci", "reason"} or {"national_id", "reason"} (every
// certificate of the person). The signed revocation list carries them
// from its next publication.
func (s *Server) revoke(c echo.Context) error {
	var req service.Revoke
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	out, err := s.svc.Revoke(c.Request().Context(), actor(c), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
