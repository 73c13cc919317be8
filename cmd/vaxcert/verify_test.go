package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/hcert"
	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier"
)

// verifyOut mirrors the verify --json contract, for strict decoding.
type verifyOut struct {
	Valid     bool              `json:"valid"`
	Reason    string            `json:"reason"`
	Checks    map[string]string `json:"checks"`
	Errors    map[string]string `json:"errors"`
	KID       string            `json:"kid"`
	Alg       string            `json:"alg"`
	Issuer    string            `json:"issuer"`
	IssuedAt  string            `json:"issued_at"`
	ExpiresAt string            `json:"expires_at"`
	Type      string            `json:"type"`
	Warnings  []struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	} `json:"warnings"`
	Certificate json.RawMessage `json:"certificate"`
	Decision    string          `json:"decision"`
}

// dcc decodes the certificate member strictly into the schema types.
func (o *verifyOut) dcc(t *testing.T) *schemas.DCC {
	t.Helper()
	var d schemas.DCC
	dec := json.NewDecoder(bytes.NewReader(o.Certificate))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("certificate member: %v", err)
	}
	return &d
}

// verifyJSONOut runs verify (args must include --json), checks the exit
// status and that stdout is exactly one JSON object keeping the contract,
// and returns it decoded.
func verifyJSONOut(t *testing.T, wantCode int, stdin string, args ...string) *verifyOut {
	t.Helper()
	code, stdout, stderr := runCLI(t, stdin, args...)
	if code != wantCode {
		t.Fatalf("exit status %d, want %d; stderr:\n%s", code, wantCode, stderr)
	}
	if wantCode == exitOK && stderr != "" {
		t.Errorf("stderr = %q, want empty", stderr)
	}
	if wantCode == exitInvalid && !errorLines.MatchString(stderr) {
		t.Errorf("stderr is not error and hint lines:\n%s", stderr)
	}
	return decodeVerifyJSON(t, stdout)
}

// decodeVerifyJSON checks the verify --json contract of the README.
func decodeVerifyJSON(t *testing.T, stdout string) *verifyOut {
	t.Helper()
	// Exactly one object, holding the four members that are always present.
	dec := json.NewDecoder(strings.NewReader(stdout))
	var members map[string]json.RawMessage
	if err := dec.Decode(&members); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, stdout)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("stdout holds more than one JSON value:\n%s", stdout)
	}
	for _, m := range []string{"valid", "reason", "checks", "errors", "decision"} {
		if _, ok := members[m]; !ok {
			t.Errorf("member %q missing", m)
		}
	}

	var out verifyOut
	dec = json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("stdout does not fit the contract: %v\n%s", err, stdout)
	}

	if len(out.Checks) != len(verifier.BuiltinChecks()) {
		t.Errorf("checks has %d members, want %d", len(out.Checks), len(verifier.BuiltinChecks()))
	}
	allPass, firstFail := true, ""
	for _, c := range verifier.BuiltinChecks() {
		s, ok := out.Checks[string(c)]
		switch {
		case !ok:
			t.Errorf("checks.%s missing", c)
		case s != "pass" && s != "fail" && s != "skip":
			t.Errorf("checks.%s = %q, want pass, fail or skip", c, s)
		}
		allPass = allPass && s == "pass"
		_, hasErr := out.Errors[string(c)]
		if hasErr != (s == "fail") {
			t.Errorf("checks.%s = %s but errors.%s present = %v", c, s, c, hasErr)
		}
		if s == "fail" && firstFail == "" {
			firstFail = string(c)
		}
	}
	if out.Valid != allPass {
		t.Errorf("valid = %v, but all checks pass = %v", out.Valid, allPass)
	}
	if out.Valid != (out.Reason == "") {
		t.Errorf("valid = %v with reason %q", out.Valid, out.Reason)
	}
	if out.KID != "" {
		if kid, err := base64.StdEncoding.DecodeString(out.KID); err != nil || len(kid) == 0 {
			t.Errorf("kid %q is not base64 (%v)", out.KID, err)
		}
	}
	for _, ts := range []string{out.IssuedAt, out.ExpiresAt} {
		if _, err := time.Parse(time.RFC3339, ts); ts != "" && err != nil {
			t.Errorf("timestamp %q is not RFC 3339", ts)
		}
	}
	if out.Alg != "" && out.Alg != "ES256" && out.Alg != "PS256" {
		t.Errorf("alg = %q", out.Alg)
	}
	switch out.Type {
	case "", "vaccination", "test", "recovery":
	default:
		t.Errorf("type = %q", out.Type)
	}
	if out.Valid && (out.KID == "" || out.Alg == "" || out.IssuedAt == "" || out.ExpiresAt == "" ||
		out.Type == "" || len(out.Certificate) == 0) {
		t.Errorf("a valid result lacks a member: %+v", out)
	}
	return &out
}

// tamper changes old to new inside the COSE message of an HC1 text and
// re-encodes it, leaving the signature as it was.
func tamper(t *testing.T, hc1, old, new string) string {
	t.Helper()
	msg := coseOf(t, hc1)
	i := bytes.Index(msg, []byte(old))
	if i < 0 || len(old) != len(new) {
		t.Fatalf("cannot replace %q in the COSE message", old)
	}
	copy(msg[i:], new)
	return hcert.Prefix + string(hcert.AppendBase45(nil, hcert.AppendDeflate(nil, msg)))
}

func TestVerify(t *testing.T) {
	dir := initKeys(t)
	other := initKeys(t)
	hc1 := issue(t, dir, exampleRecord)
	dscPEM := filepath.Join(dir, "dsc.pem")
	certs, err := keys.ParseCertificates(readDSC(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	dscB64 := base64.StdEncoding.EncodeToString(certs[0].Raw)
	exp := testkit.Now.AddDate(1, 0, 0) // default validity 365 days; 2027 is not a leap year

	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantReason verifier.Reason
	}{
		{"argument, trust dir", []string{"--trust-dir", dir, hc1}, "", exitOK, ""},
		{"stdin with newline", []string{"--trust-dir", dir}, hc1 + "\n", exitOK, ""},
		{"stdin dash with CRLF", []string{"--trust-dir", dir, "-"}, hc1 + "\r\n", exitOK, ""},
		{"trust cert PEM file", []string{"--trust-cert", dscPEM, hc1}, "", exitOK, ""},
		{"trust cert base64 text", []string{"--trust-cert", dscB64, hc1}, "", exitOK, ""},
		{"several trust sources", []string{"--trust-dir", other, "--trust-cert", dscB64, hc1}, "", exitOK, ""},
		{"flags after payload", []string{hc1, "--trust-dir", dir}, "", exitOK, ""},
		{"at expiry instant", []string{"--trust-dir", dir, "--at", exp.Format(time.RFC3339), hc1}, "", exitOK, ""},
		{"at expiry in +0700", []string{"--trust-dir", dir, "--at", exp.In(time.FixedZone("", 7*3600)).Format("2006-01-02T15:04:05-0700"), hc1}, "", exitOK, ""},
		{"after expiry", []string{"--trust-dir", dir, "--at", exp.Add(time.Second).Format(time.RFC3339), hc1}, "", exitInvalid, verifier.ReasonExpired},
		{"after expiry within skew", []string{"--trust-dir", dir, "--skew", "2h", "--at", exp.Add(time.Hour).Format(time.RFC3339), hc1}, "", exitOK, ""},
		{"before issuance", []string{"--trust-dir", dir, "--at", "2026-06-01T11:59:59Z", hc1}, "", exitInvalid, verifier.ReasonNotYetValid},
		{"tampered payload", []string{"--trust-dir", dir, tamper(t, hc1, "1990-04-12", "1990-04-13")}, "", exitInvalid, verifier.ReasonBadSignature},
		{"other keys only", []string{"--trust-dir", other, hc1}, "", exitInvalid, verifier.ReasonUnknownKID},
		{"other DSC as trust cert", []string{"--trust-cert", filepath.Join(other, "dsc.pem"), hc1}, "", exitInvalid, verifier.ReasonUnknownKID},
		{"no prefix", []string{"--trust-dir", dir, strings.TrimPrefix(hc1, "HC1:")}, "", exitInvalid, verifier.ReasonBadPrefix},
		{"bad base45", []string{"--trust-dir", dir, hc1 + "~"}, "", exitInvalid, verifier.ReasonBadBase45},
		{"oversized stdin", []string{"--trust-dir", dir}, "HC1:" + strings.Repeat("A", 2*limits.MaxQRText), exitInvalid, verifier.ReasonTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := verifyJSONOut(t, tc.wantCode, tc.stdin, append([]string{"verify", "--json"}, tc.args...)...)
			if res.Reason != string(tc.wantReason) {
				t.Errorf("reason = %q, want %q (errors %v)", res.Reason, tc.wantReason, res.Errors)
			}

			code, stdout, _ := runCLI(t, tc.stdin, append([]string{"verify"}, tc.args...)...)
			if code != tc.wantCode {
				t.Errorf("human output: exit status %d, want %d", code, tc.wantCode)
			}
			verdict := "\nVALID vaccination certificate\n"
			if tc.wantCode != exitOK {
				verdict = "\nINVALID: " + string(tc.wantReason) + "\n"
			}
			if !strings.Contains(stdout, verdict) {
				t.Errorf("human output lacks %q:\n%s", verdict, stdout)
			}
		})
	}
}

// TestVerifyValidOutput checks every member of a valid result, and the
// whole human output.
func TestVerifyValidOutput(t *testing.T) {
	dir := initKeys(t)
	hc1 := issue(t, dir, exampleRecord)
	certs, err := keys.ParseCertificates(readDSC(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	kid := keys.KIDString(keys.KID(certs[0].Raw))

	res := verifyJSONOut(t, exitOK, "", "verify", "--trust-dir", dir, "--json", hc1)
	want := verifyOut{Valid: true, Reason: "", Errors: map[string]string{}, KID: kid, Alg: "ES256", Issuer: "VN",
		IssuedAt: "2026-06-01T12:00:00Z", ExpiresAt: "2027-06-01T12:00:00Z", Type: "vaccination", Decision: "not_accepted"}
	got := *res
	got.Checks, got.Certificate = nil, nil
	if got.Errors == nil || len(got.Errors) != 0 {
		t.Errorf("errors = %v, want {}", got.Errors)
	}
	got.Errors = want.Errors
	if !jsonEqual(t, got, want) {
		t.Errorf("result = %+v\nwant     %+v", got, want)
	}
	d := res.dcc(t)
	wantName := schemas.Name{FN: "Nguyễn", FNT: "NGUYEN", GN: "Văn Đức", GNT: "VAN<DUC"}
	if d.Ver != "1.3.0" || d.Nam != wantName || d.Dob != "1990-04-12" || len(d.V) != 1 {
		t.Fatalf("certificate = %+v", d)
	}
	v := d.V[0]
	if v.TG != "840539006" || v.VP != "1119349007" || v.MP != "EU/1/20/1528" || v.MA != "ORG-100030215" ||
		v.DN != 2 || v.SD != 2 || v.DT != "2021-09-05" || v.CO != "VN" || v.IS != defaultIssuerName ||
		!strings.HasPrefix(v.CI, "URN:UVCI:01:VN:") {
		t.Errorf("v[0] = %+v", v)
	}

	code, stdout, stderr := runCLI(t, "", "verify", "--trust-dir", dir, hc1)
	if code != exitOK || stderr != "" {
		t.Fatalf("exit status %d, stderr %q", code, stderr)
	}
	wantHuman := `prefix      pass
base45      pass
decompress  pass
cose        pass
signature   pass
key_usage   pass
validity    pass
schema      pass
value_sets  pass

VALID vaccination certificate
  holder     Nguyễn Văn Đức (NGUYEN<<VAN<DUC)
  born       1990-04-12
  dose       2/2 on 2021-09-05 in VN
  vaccine    EU/1/20/1528 (Comirnaty)
  by         ORG-100030215 (Biontech Manufacturing GmbH)
  issuer     Ministry of Health of Viet Nam
  uvci       ` + v.CI + `
  signed by  VN, kid ` + kid + ` (ES256)
  issued     2026-06-01T12:00:00Z
  expires    2027-06-01T12:00:00Z
decision: not_accepted
`
	if stdout != wantHuman {
		t.Errorf("human output:\n%s\nwant:\n%s", stdout, wantHuman)
	}
}

func TestVerifyInvalidHumanOutput(t *testing.T) {
	dir := initKeys(t)
	hc1 := issue(t, dir, exampleRecord)
	code, stdout, stderr := runCLI(t, "", "verify", "--trust-dir", initKeys(t), hc1)
	want := `prefix      pass
base45      pass
decompress  pass
cose        pass
signature   fail (unknown_kid)
key_usage   skip
validity    skip
schema      skip
value_sets  skip

INVALID: unknown_kid
decision: invalid
`
	if code != exitInvalid || stdout != want {
		t.Errorf("exit status %d, stdout:\n%s\nwant 1 and:\n%s", code, stdout, want)
	}
	if !errorLines.MatchString(stderr) {
		t.Errorf("stderr is not error and hint lines:\n%s", stderr)
	}
	for _, pd := range personalData {
		if strings.Contains(stdout+stderr, pd) {
			t.Errorf("output for an invalid certificate shows personal data %q", pd)
		}
	}
}

func TestVerifyTrustErrors(t *testing.T) {
	dir := initKeys(t)
	hc1 := issue(t, dir, exampleRecord)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"CSCA as trust cert", []string{"--trust-cert", filepath.Join(dir, "csca.pem")}},
		{"missing file, not base64", []string{"--trust-cert", filepath.Join(dir, "missing.pem")}},
		{"file without certificate", []string{"--trust-cert", garbage}},
		{"folder as trust cert", []string{"--trust-cert", dir}},
		{"missing trust dir", []string{"--trust-dir", filepath.Join(dir, "missing")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"verify", "--json"}, tc.args...), hc1)
			code, stdout, stderr := runCLI(t, "", args...)
			wantError(t, code, stdout, stderr, exitError)
		})
	}
}

// jsonEqual compares two values by their JSON encoding.
func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}
