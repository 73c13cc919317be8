package main

import (
	"encoding/base64"
	"testing"

	"github.com/vaxcert/vaxcert/internal/dgcvectors"
	"github.com/vaxcert/vaxcert/verifier"
)

// TestVerifyEUVectors runs a few EU test vectors (../shared/testdata/dgc,
// read in place) through the command line, as a verifier in the field
// would: verify --trust-cert <TESTCTX.CERTIFICATE> --at <VALIDATIONCLOCK>
// <PREFIX>. The full conformance run is the verifier package's.
func TestVerifyEUVectors(t *testing.T) {
	byName := map[string]*dgcvectors.Vector{}
	for _, v := range dgcvectors.Load(t) {
		byName[v.Name] = v
	}
	tests := []struct {
		name       string
		wantType   string
		wantAlg    string
		wantReason verifier.Reason
	}{
		{"common/2DCode/raw/CO3.json", "vaccination", "ES256", ""},          // EC P-256
		{"common/2DCode/raw/CO1.json", "vaccination", "PS256", ""},          // RSA 2048
		{"common/2DCode/raw/CO2.json", "vaccination", "PS256", ""},          // RSA 3072
		{"common/2DCode/raw/CO12.json", "test", "ES256", ""},                // test certificate
		{"common/2DCode/raw/CO14.json", "recovery", "ES256", ""},            // recovery certificate
		{"common/2DCode/raw/CO28.json", "vaccination", "ES256", ""},         // CWT tag 61 around tag 18
		{"DE/2DCode/raw/1.json", "vaccination", "ES256", ""},                // clock +02:00
		{"FI/2DCode/raw/6.json", "vaccination", "ES256", ""},                // clock +0000
		{"common/2DCode/raw/CO17.json", "test", "ES256", "expired"},         // clock after exp
		{"common/2DCode/raw/CO16.json", "test", "ES256", "not_yet_valid"},   // clock before iat
		{"common/2DCode/raw/CO6.json", "vaccination", "ES256", "key_usage"}, // DSC for tests only
		{"common/2DCode/raw/CO5.json", "", "", "bad_signature"},             // broken signature: nothing from the payload
		{"common/2DCode/raw/CO22.json", "", "", "unknown_kid"},              // wrong protected kid: nothing from the payload
		{"common/2DCode/raw/H1.json", "", "", "bad_prefix"},                 // "HL0:"
		{"common/2DCode/raw/B1.json", "", "", "bad_base45"},                 // bad characters
		{"common/2DCode/raw/Z1.json", "", "", "bad_compression"},            // broken zlib
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := byName[tc.name]
			if v == nil {
				t.Fatalf("vector %s not found", tc.name)
			}
			cert := base64.StdEncoding.EncodeToString(v.Certificate)
			wantCode := exitOK
			if tc.wantReason != "" {
				wantCode = exitInvalid
			}
			res := verifyJSONOut(t, wantCode, "", "verify", "--json", "--trust-cert", cert, "--at", v.Clock, v.Prefix)
			if res.Reason != string(tc.wantReason) || res.Type != tc.wantType || res.Alg != tc.wantAlg {
				t.Errorf("reason %q, type %q, alg %q; want %q, %q, %q (errors %v)",
					res.Reason, res.Type, res.Alg, tc.wantReason, tc.wantType, tc.wantAlg, res.Errors)
			}
		})
	}
}
