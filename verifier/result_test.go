package verifier_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veraison/go-cose"

	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier"
)

// A zero, nil or hand-built Result is invalid with an internal-error
// reason, and no accessor panics on unknown values.
func TestResultMisuse(t *testing.T) {
	for name, r := range map[string]*verifier.Result{"zero": {}, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			if r.Valid() || r.Reason() != verifier.ReasonInternal {
				t.Fatalf("valid=%v reason=%q, want invalid internal_error", r.Valid(), r.Reason())
			}
			var verr *verifier.Error
			if err := r.Err(); !errors.As(err, &verr) || verr.Reason != verifier.ReasonInternal {
				t.Fatalf("Err() = %v, want an *Error with internal_error", err)
			}
			if r.Status("no_such_check") != verifier.StatusSkip || r.Status(verifier.CheckPrefix) != verifier.StatusSkip {
				t.Error("unknown or unrun check not reported as skip")
			}
			if _, ok := r.Outcome("no_such_check"); ok {
				t.Error("Outcome reports an unknown check as run")
			}
			if r.DCC() != nil || r.Certificate() != nil || r.KID() != nil || r.Signer() != nil {
				t.Error("zero result exposes data")
			}
			rep := r.Report()
			if rep.Valid || rep.Reason != verifier.ReasonInternal || len(rep.Checks) != len(verifier.BuiltinChecks()) ||
				rep.Checks["prefix"] != "skip" {
				t.Errorf("report = %+v", rep)
			}
			if _, err := json.Marshal(rep); err != nil {
				t.Error(err)
			}
		})
	}

	if s := verifier.Status(200).String(); s != "Status(200)" {
		t.Errorf("String() = %q", s)
	}
	if _, err := verifier.Status(200).MarshalText(); err == nil {
		t.Error("MarshalText accepted an unknown status")
	}

	// The list of checks is a copy: changing it changes nothing.
	checks := verifier.BuiltinChecks()
	checks[0] = "mutated"
	if verifier.BuiltinChecks()[0] != verifier.CheckPrefix {
		t.Fatal("BuiltinChecks returned shared state")
	}
	want := []verifier.Check{"prefix", "base45", "decompress", "cose", "signature", "key_usage", "validity", "schema", "value_sets"}
	if got := verifier.BuiltinChecks(); !slices.Equal(got, want) {
		t.Fatalf("BuiltinChecks() = %v", got)
	}
}

// After a failed signature nothing from the payload leaves the verifier
// but through the Unverified accessors, and an invalid result's report
// never carries the certificate.
func TestNothingUnverifiedLeaves(t *testing.T) {
	pki := testkit.NewPKI(t)
	other := testkit.NewPKI(t)
	cert := issue(t, pki)
	m, err := hcert.ParseSign1(cert.COSE)
	if err != nil {
		t.Fatal(err)
	}
	m.Payload = claimsFor(t, cert.IssuedAt, cert.ExpiresAt.Add(time.Hour), cert.Payload)
	b, err := m.MarshalCBOR()
	if err != nil {
		t.Fatal(err)
	}
	tampered := wrap(b)

	for name, tc := range map[string]struct {
		qr    []byte
		trust verifier.TrustStore
	}{
		"tampered payload":               {tampered, pki.Trust},
		"wrong key under a matching kid": {[]byte(cert.HC1), fakeStore{entry(t, other)}},
	} {
		t.Run(name, func(t *testing.T) {
			v, err := verifier.New(tc.trust, verifier.WithCheck(checkFunc{name: verifier.CheckRevocation}))
			if err != nil {
				t.Fatal(err)
			}
			res, _ := v.Verify(tc.qr, testkit.Now)
			if res.Reason() != verifier.ReasonBadSignature || res.Authentic() {
				t.Fatalf("reason %q, authentic %v", res.Reason(), res.Authentic())
			}
			for _, c := range []verifier.Check{verifier.CheckKeyUsage, verifier.CheckValidity, verifier.CheckSchema,
				verifier.CheckValueSets, verifier.CheckRevocation} {
				if s := res.Status(c); s != verifier.StatusSkip {
					t.Errorf("%s = %v, want skip", c, s)
				}
			}
			if res.DCC() != nil || res.Certificate() != nil || res.Issuer() != "" || !res.IssuedAt().IsZero() ||
				!res.ExpiresAt().IsZero() || res.Type() != schemas.TypeUnknown || res.Signer() != nil || res.Warnings() != nil {
				t.Error("result exposes unverified data")
			}
			rep, _ := json.Marshal(res.Report())
			for _, leak := range []string{"NGUYEN", "1990", "certificate", "issued_at", "expires_at", `"type"`, `"issuer"`} {
				if strings.Contains(string(rep), leak) {
					t.Errorf("report carries %s: %s", leak, rep)
				}
			}
			if !strings.Contains(string(rep), `"kid"`) {
				t.Errorf("report lost the kid: %s", rep)
			}
			if j, err := res.UnverifiedPayloadJSON(); err != nil || !strings.Contains(string(j), "NGUYEN") {
				t.Errorf("UnverifiedPayloadJSON = %s, %v", j, err)
			}
		})
	}

	// An authentic but expired certificate: times for the message, no payload.
	v, err := verifier.New(pki.Trust)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := v.Verify([]byte(cert.HC1), cert.ExpiresAt.Add(time.Hour))
	rep := res.Report()
	if res.Reason() != verifier.ReasonExpired || !res.Authentic() || rep.Certificate != nil || res.DCC() != nil ||
		rep.ExpiresAt == "" || rep.Type != schemas.TypeVaccination {
		t.Fatalf("expired report = %+v", rep)
	}
}

// checkFunc is a configurable CertificateCheck.
type checkFunc struct {
	name verifier.Check
	err  error
	seen *[]verifier.Check
}

func (c checkFunc) Name() verifier.Check { return c.name }

func (c checkFunc) Check(cert *verifier.Certificate) error {
	if c.seen != nil {
		*c.seen = append(*c.seen, c.name)
	}
	if cert.DCC == nil || len(cert.Signature) == 0 || cert.Signer == nil || cert.CheckedAt.IsZero() {
		return errors.New("incomplete certificate")
	}
	return c.err
}

func TestWithCheck(t *testing.T) {
	pki := testkit.NewPKI(t)
	cert := issue(t, pki)
	revoked := &verifier.Error{Reason: "revoked", Detail: "the UVCI is on the revocation list"}

	var seen []verifier.Check
	v, err := verifier.New(pki.Trust,
		verifier.WithCheck(checkFunc{name: verifier.CheckRules, seen: &seen}),
		verifier.WithCheck(checkFunc{name: "local_policy", seen: &seen}),
		verifier.WithCheck(checkFunc{name: verifier.CheckRevocation, seen: &seen}))
	if err != nil {
		t.Fatal(err)
	}
	wantOrder := append(verifier.BuiltinChecks(), verifier.CheckRevocation, verifier.CheckRules, "local_policy")
	if got := v.Checks(); !slices.Equal(got, wantOrder) {
		t.Fatalf("Checks() = %v", got)
	}
	res, err := v.Verify([]byte(cert.HC1), testkit.Now)
	if err != nil || !res.Valid() || len(res.Checks()) != len(wantOrder) || res.Report().Checks["rules"] != "pass" {
		t.Fatalf("valid with passing checks: %v %+v", err, res.Report())
	}
	if !slices.Equal(seen, wantOrder[len(wantOrder)-3:]) {
		t.Fatalf("ran %v", seen)
	}

	// A failing check: its reason, the later ones skipped.
	v, err = verifier.New(pki.Trust, verifier.WithCheck(checkFunc{name: verifier.CheckRevocation, err: revoked}),
		verifier.WithCheck(checkFunc{name: verifier.CheckRules}))
	if err != nil {
		t.Fatal(err)
	}
	res, err = v.Verify([]byte(cert.HC1), testkit.Now)
	var verr *verifier.Error
	if !errors.As(err, &verr) || verr.Check != verifier.CheckRevocation || verr.Reason != "revoked" ||
		res.Status(verifier.CheckRules) != verifier.StatusSkip || res.Certificate() != nil || res.Report().Certificate != nil {
		t.Fatalf("revoked: %v, %+v", err, res.Report())
	}

	// A check that fails without a reason is an internal error, wrapped.
	plain := errors.New("list unavailable")
	v, _ = verifier.New(pki.Trust, verifier.WithCheck(checkFunc{name: verifier.CheckRules, err: plain}))
	_, err = v.Verify([]byte(cert.HC1), testkit.Now)
	if !errors.As(err, &verr) || verr.Reason != verifier.ReasonInternal || !errors.Is(err, plain) {
		t.Fatalf("plain error: %v", err)
	}

	// Configured checks do not run after a built-in failure.
	seen = nil
	v, _ = verifier.New(pki.Trust, verifier.WithCheck(checkFunc{name: verifier.CheckRules, seen: &seen}))
	res, _ = v.Verify([]byte(cert.HC1), cert.ExpiresAt.Add(time.Hour))
	if len(seen) != 0 || res.Status(verifier.CheckRules) != verifier.StatusSkip {
		t.Fatalf("ran after expiry: %v", seen)
	}

	for name, opt := range map[string]verifier.Option{
		"nil":           verifier.WithCheck(nil),
		"built-in name": verifier.WithCheck(checkFunc{name: verifier.CheckSchema}),
		"empty name":    verifier.WithCheck(checkFunc{name: ""}),
		"odd name":      verifier.WithCheck(checkFunc{name: "Rules!"}),
	} {
		if _, err := verifier.New(pki.Trust, opt); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := verifier.New(pki.Trust, verifier.WithCheck(checkFunc{name: "x"}), verifier.WithCheck(checkFunc{name: "x"})); err == nil {
		t.Error("duplicate check accepted")
	}
}

// Errors never unwrap to go-cose's (or any dependency's) internal errors.
func TestErrorsDoNotExposeDependencies(t *testing.T) {
	pki := testkit.NewPKI(t)
	other := testkit.NewPKI(t)
	cert := issue(t, pki)
	for name, trust := range map[string]verifier.TrustStore{
		"bad signature": fakeStore{entry(t, other)},
		"alg mismatch":  fakeStore{entry(t, testkit.NewPKI(t, testkit.WithPS256()))},
	} {
		v, _ := verifier.New(trust)
		_, err := v.Verify([]byte(cert.HC1), testkit.Now)
		if err == nil || errors.Is(err, cose.ErrVerification) || errors.Is(err, cose.ErrAlgorithmMismatch) || errors.Unwrap(err) != nil {
			t.Errorf("%s: %v unwraps to %v", name, err, errors.Unwrap(err))
		}
	}
	v, _ := verifier.New(pki.Trust)
	_, err := v.Verify(wrap([]byte{0x84, 0x40}), testkit.Now)
	if err == nil || errors.Unwrap(err) != nil {
		t.Errorf("bad cose: %v unwraps to %v", err, errors.Unwrap(err))
	}
}
