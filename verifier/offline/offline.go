// Package offline is the verifier a browser (WebAssembly) or a phone app
// (gomobile) embeds: it holds the pinned root, the current trust data and
// the revocations, checks new lists against the root before using them, and
// turns a QR text and a time into the venue answer: the JSON object the
// verifier service's POST /v1/verify returns.
//
// Like the verifier library it does no I/O: callers fetch the lists and pass
// bytes. A Session is safe for concurrent use; Update swaps the data
// atomically, so a verification sees either the old lists or the new ones.
package offline

import (
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/verifier"
)

// DefaultStaleAfter is how old the trust data may be before answers say it
// is stale.
const DefaultStaleAfter = 48 * time.Hour

// Options configure a Session. The zero value means the defaults.
type Options struct {
	// StaleAfter is the data age past which answers are stale (default
	// DefaultStaleAfter).
	StaleAfter time.Duration
	// ClockSkew is passed to verifier.WithClockSkew.
	ClockSkew time.Duration
}

// Errors of NewSession and Update. Each wraps the detail.
var (
	ErrRoot      = errors.New("offline: the pinned root certificate is not usable")
	ErrTrustList = errors.New("offline: the trust list does not check against the pinned root")
)

// data is one consistent set of lists.
type data struct {
	ver    *verifier.Verifier
	issued time.Time // when the trust data was produced (the data age counts from it)
}

// Session verifies QR texts against lists checked with a pinned root.
type Session struct {
	root *x509.Certificate
	opts Options

	mu  sync.RWMutex
	cur *data
}

// NewSession checks root (a PEM or DER CSCA certificate) and the lists
// against it at now, and returns a session that verifies with them.
func NewSession(root, trustList, revocations []byte, now time.Time, opts Options) (*Session, error) {
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = DefaultStaleAfter
	}
	certs, err := keys.ParseCertificates(root)
	if err != nil || len(certs) != 1 || !certs[0].IsCA {
		return nil, fmt.Errorf("%w: want exactly one CA certificate (%v)", ErrRoot, err)
	}
	s := &Session{root: certs[0], opts: opts}
	if err := s.Update(trustList, revocations, now); err != nil {
		return nil, err
	}
	return s, nil
}

// Update checks new lists against the pinned root at now and, when they
// hold, uses them from then on. On error the session keeps its lists.
func (s *Session) Update(trustList, revocations []byte, now time.Time) error {
	d, err := s.load(trustList, revocations, now)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.cur = d
	s.mu.Unlock()
	return nil
}

// load builds the data of one list set.
//
// Interim format until the signed trust list of issue 6 lands: a PEM
// bundle of DSC certificates, each of which must chain to the pinned root
// and be valid at now. The revocations are not yet read.
func (s *Session) load(trustList, _ []byte, now time.Time) (*data, error) {
	if len(trustList) > limits.MaxTrustList {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrTrustList, limits.MaxTrustList)
	}
	certs, err := keys.ParseCertificates(trustList)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTrustList, err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(s.root)
	for _, c := range certs {
		_, err := c.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTrustList, err)
		}
	}
	tl, err := keys.NewTrustList(certs...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTrustList, err)
	}
	ver, err := verifier.New(tl, verifier.WithClockSkew(s.opts.ClockSkew))
	if err != nil {
		return nil, err
	}
	return &data{ver: ver, issued: now}, nil
}

// Verify checks a QR text at now and returns the venue answer.
func (s *Session) Verify(qr []byte, now time.Time) *Answer {
	a, _ := s.Check(qr, now)
	return a
}

// Check verifies like Verify and also returns the library result, for
// callers that show the payload of a valid certificate.
func (s *Session) Check(qr []byte, now time.Time) (*Answer, *verifier.Result) {
	s.mu.RLock()
	d := s.cur
	s.mu.RUnlock()
	res, _ := d.ver.Verify(qr, now)
	a := answerFor(res)
	age := max(now.Sub(d.issued), 0)
	a.DataAgeSeconds = int64(age / time.Second)
	a.Stale = age > s.opts.StaleAfter
	return a, res
}
