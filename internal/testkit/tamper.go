package testkit

import (
	"testing"

	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/internal/limits"
)

// Tamper returns hc1 with one bit of its COSE signature flipped: a code
// that decodes like the original and fails only the signature check.
func Tamper(tb testing.TB, hc1 string) string {
	tb.Helper()
	b45, err := hcert.TrimPrefix([]byte(hc1))
	if err != nil {
		tb.Fatalf("testkit: Tamper: %v", err)
	}
	z, err := hcert.AppendBase45Decode(nil, b45)
	if err != nil {
		tb.Fatalf("testkit: Tamper: %v", err)
	}
	cose, err := hcert.AppendInflate(nil, z, limits.MaxCOSE)
	if err != nil {
		tb.Fatalf("testkit: Tamper: %v", err)
	}
	cose[len(cose)-1] ^= 1 // the signature is the last member of COSE_Sign1
	return string(hcert.AppendBase45([]byte(hcert.Prefix), hcert.AppendDeflate(nil, cose)))
}
