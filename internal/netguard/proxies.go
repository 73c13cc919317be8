package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ErrBadProxy is returned by [ParseProxies] for an entry that is neither an
// IP address nor a CIDR prefix.
var ErrBadProxy = errors.New("netguard: bad trusted proxy")

// maxForwardedHops bounds the X-Forwarded-For entries examined.
const maxForwardedHops = 32

// Proxies is the list of reverse proxies whose X-Forwarded-For header is
// believed. The zero value (and nil) trusts none: the client is the peer
// address. It is safe for concurrent use.
type Proxies struct {
	prefixes []netip.Prefix
}

// ParseProxies parses a comma-separated list of IP addresses and CIDR
// prefixes ("10.0.0.0/8, 192.0.2.7, fd00::/8"). An empty list trusts no
// proxy.
func ParseProxies(list string) (*Proxies, error) {
	p := &Proxies{}
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			pre, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("%w: %q is not a CIDR prefix (like 10.0.0.0/8)", ErrBadProxy, f)
			}
			p.prefixes = append(p.prefixes, pre.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%w: %q is not an IP address", ErrBadProxy, f)
		}
		a = a.Unmap()
		p.prefixes = append(p.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	return p, nil
}

// String lists the trusted prefixes.
func (p *Proxies) String() string {
	if p == nil {
		return ""
	}
	s := make([]string, len(p.prefixes))
	for i, pre := range p.prefixes {
		s[i] = pre.String()
	}
	return strings.Join(s, ",")
}

// Trusted reports whether a is one of the trusted proxies.
func (p *Proxies) Trusted(a netip.Addr) bool {
	if p == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, pre := range p.prefixes {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the address of the client that sent r. It is the peer
// address unless the peer is a trusted proxy; then X-Forwarded-For is
// walked from the right (the entry the trusted proxy appended) past every
// trusted proxy, and the first untrusted address is the client. A
// malformed entry stops the walk at the last trusted hop: nothing left of
// it can be believed. Headers from an untrusted peer are ignored, so a
// client cannot choose its own rate-limit key.
func (p *Proxies) ClientIP(r *http.Request) netip.Addr {
	peer := PeerAddr(r.RemoteAddr)
	if !p.Trusted(peer) {
		return peer
	}
	last := peer
	hops := 0
	vals := r.Header.Values("X-Forwarded-For")
	for i := len(vals) - 1; i >= 0; i-- {
		parts := strings.Split(vals[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			if hops++; hops > maxForwardedHops {
				return last
			}
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return last
			}
			a = a.Unmap()
			if !p.Trusted(a) {
				return a
			}
			last = a
		}
	}
	return last
}

// PeerAddr parses the address part of a "host:port" remote address (the
// zero Addr when it does not parse).
func PeerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// Key is the rate-limit key of a client address: an IPv4 address as it is,
// an IPv6 address by its /64 prefix (one subscriber's allocation, which a
// client can otherwise walk through).
func Key(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
