package server

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/vaxcert/vaxcert/internal/auth"
)

// citizenCacheSize bounds the verified citizen tokens a server remembers
// (about 100 bytes each).
const citizenCacheSize = 100_000

// citizenCacheTTL bounds how long a verified token is remembered, whatever
// its "exp": a key withdrawn from the identity provider's JWK Set
// ([auth.CitizenVerifier.ReloadJWKS]) stops being honoured for remembered
// tokens within this time.
const citizenCacheTTL = 5 * time.Minute

// citizenCache remembers the citizen JWTs that passed verification. A
// citizen's app sends the same token with every request; remembering it
// costs one ECDSA verification (about 90 µs) per token instead of one per
// request.
//
// Entries are keyed by the SHA-256 of the token (the token itself is not
// kept) and expire at the token's "exp" or citizenCacheTTL after they were
// verified, whichever comes first. Failed verifications are not
// remembered. When the cache is full, expired entries are dropped, then
// arbitrary ones down to nine tenths of the size, so that the sweep is paid
// once per tenth of the size of insertions.
//
// A citizenCache is safe for concurrent use.
type citizenCache struct {
	now  func() time.Time
	size int

	mu sync.Mutex
	m  map[[sha256.Size]byte]cachedCitizen
}

// cachedCitizen is a remembered token's subject and the end of its entry.
type cachedCitizen struct {
	id    string
	until time.Time
}

func newCitizenCache(size int, now func() time.Time) *citizenCache {
	return &citizenCache{now: now, size: size, m: make(map[[sha256.Size]byte]cachedCitizen)}
}

// verify returns the subject of a citizen token: remembered, or verified
// by verifyToken (whose errors it returns unchanged) and remembered.
func (c *citizenCache) verify(token string, verifyToken func(string) (auth.Citizen, error)) (string, error) {
	key := sha256.Sum256([]byte(token))
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.id, nil
	}
	cz, err := verifyToken(token)
	if err != nil {
		return "", err
	}
	until := now.Add(citizenCacheTTL)
	if cz.Expires.Before(until) {
		until = cz.Expires
	}
	if now.Before(until) {
		c.put(key, cachedCitizen{id: cz.ID, until: until}, now)
	}
	return cz.ID, nil
}

func (c *citizenCache) put(key [sha256.Size]byte, e cachedCitizen, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.size {
		for k, old := range c.m {
			if !now.Before(old.until) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < c.size*9/10 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = e
}
