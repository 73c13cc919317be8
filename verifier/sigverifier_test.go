package verifier_test

import (
	"crypto"
	"errors"
	"fmt"
	"testing"

	"github.com/veraison/go-cose"

	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/verifier"
)

// countingVerifier delegates to go-cose and counts the calls; refuse makes
// every signature fail.
type countingVerifier struct {
	cose.Verifier
	calls  *int
	refuse bool
}

func (c countingVerifier) Verify(content, sig []byte) error {
	*c.calls++
	if c.refuse {
		return fmt.Errorf("test: %w", cose.ErrVerification)
	}
	return c.Verifier.Verify(content, sig)
}

func TestWithSignatureVerifiers(t *testing.T) {
	pki := testkit.NewPKI(t)
	qr := []byte(issue(t, pki).HC1)
	for _, refuse := range []bool{false, true} {
		calls, built := 0, 0
		var gotAlg cose.Algorithm
		v, err := verifier.New(pki.Trust, verifier.WithSignatureVerifiers(func(alg cose.Algorithm, key crypto.PublicKey) (cose.Verifier, error) {
			built++
			gotAlg = alg
			cv, err := cose.NewVerifier(alg, key)
			return countingVerifier{cv, &calls, refuse}, err
		}))
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			res, err := v.Verify(qr, testkit.Now)
			if refuse {
				var e *verifier.Error
				if !errors.As(err, &e) || e.Reason != verifier.ReasonBadSignature || res.Valid() {
					t.Fatalf("refusing verifier: %v", err)
				}
			} else if err != nil {
				t.Fatalf("delegating verifier: %v", err)
			}
		}
		// Built once per trust entry, for the key's algorithm; called per verification.
		if built != 1 || calls != 3 || gotAlg != cose.AlgorithmES256 {
			t.Fatalf("refuse=%v: built %d, called %d, alg %v", refuse, built, calls, gotAlg)
		}
	}
	if _, err := verifier.New(pki.Trust, verifier.WithSignatureVerifiers(nil)); err == nil {
		t.Fatal("nil func accepted")
	}
}
