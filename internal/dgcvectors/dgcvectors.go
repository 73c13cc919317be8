// Package dgcvectors loads the EU DCC public test vectors (dgc-testdata
// format) for tests. The vectors are read in place from the shared folder
// (../shared/testdata/dgc next to the repository, or $VAXCERT_DGC_TESTDATA);
// they are never copied into the repository.
package dgcvectors

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// EnvDir names the environment variable that overrides the vector folder.
// EnvRequired, when set to 1, turns a missing folder into a test failure
// (CI sets it so the conformance run can never be skipped silently).
const (
	EnvDir      = "VAXCERT_DGC_TESTDATA"
	EnvRequired = "VAXCERT_REQUIRE_VECTORS"
)

// Vector is one test vector file. Hex and base64 fields are decoded;
// absent fields are nil. Expected holds the EXPECTED* flags that are
// present (absent = not tested).
type Vector struct {
	Name        string          // path relative to the vector folder, e.g. "common/2DCode/raw/CO1.json"
	JSON        json.RawMessage // the DCC payload
	CBOR        []byte
	COSE        []byte
	Compressed  []byte
	Base45      string
	Prefix      string
	Picture     string // 2DCODE: base64 PNG of the QR code
	Certificate []byte // DER of the DSC
	Clock       string // TESTCTX.VALIDATIONCLOCK as written
	Description string
	Expected    map[string]bool // e.g. "EXPECTEDVERIFY" → true
}

type rawVector struct {
	JSON       json.RawMessage `json:"JSON"`
	CBOR       string          `json:"CBOR"`
	COSE       string          `json:"COSE"`
	Compressed string          `json:"COMPRESSED"`
	Base45     string          `json:"BASE45"`
	Prefix     string          `json:"PREFIX"`
	Picture    string          `json:"2DCODE"`
	PictureLV  string          `json:"_2DCODE"` // misnamed in some upstream files
	TestCtx    struct {
		Certificate string `json:"CERTIFICATE"`
		Clock       string `json:"VALIDATIONCLOCK"`
		Description string `json:"DESCRIPTION"`
	} `json:"TESTCTX"`
	Expected map[string]json.RawMessage `json:"EXPECTEDRESULTS"`
}

// Dir returns the vector folder, or "" when it does not exist.
func Dir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			cand := filepath.Join(filepath.Dir(d), "shared", "testdata", "dgc")
			if fi, err := os.Stat(cand); err == nil && fi.IsDir() {
				return cand
			}
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// Load returns every vector, sorted by name. When the folder is absent it
// skips the test with a message, or fails it when $VAXCERT_REQUIRE_VECTORS=1.
func Load(tb testing.TB) []*Vector {
	tb.Helper()
	dir := Dir()
	if dir == "" {
		if os.Getenv(EnvRequired) == "1" {
			tb.Fatalf("EU DCC test vectors not found (set %s or place them at ../shared/testdata/dgc)", EnvDir)
		}
		tb.Skipf("EU DCC test vectors not found at ../shared/testdata/dgc (set %s); skipping", EnvDir)
	}
	vs, err := LoadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	if len(vs) == 0 {
		tb.Fatalf("no vectors in %s", dir)
	}
	return vs
}

// LoadDir reads every *.json vector under dir.
func LoadDir(dir string) ([]*Vector, error) {
	var out []*Vector
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		v, err := parse(filepath.ToSlash(rel), b)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		out = append(out, v)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

func parse(name string, b []byte) (*Vector, error) {
	var r rawVector
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	if r.Picture == "" {
		r.Picture = r.PictureLV
	}
	v := &Vector{Name: name, JSON: r.JSON, Base45: r.Base45, Prefix: r.Prefix, Picture: r.Picture,
		Clock: r.TestCtx.Clock, Description: r.TestCtx.Description, Expected: map[string]bool{}}
	var err error
	for _, f := range []struct {
		dst *[]byte
		src string
	}{{&v.CBOR, r.CBOR}, {&v.COSE, r.COSE}, {&v.Compressed, r.Compressed}} {
		if f.src == "" {
			continue
		}
		if *f.dst, err = hex.DecodeString(f.src); err != nil {
			return nil, err
		}
	}
	if c := r.TestCtx.Certificate; c != "" {
		if v.Certificate, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c), "")); err != nil {
			return nil, err
		}
	}
	for k, raw := range r.Expected {
		var flag bool
		if json.Unmarshal(raw, &flag) != nil {
			continue // e.g. a stray nested EXPECTEDRESULTS object
		}
		v.Expected[k] = flag
	}
	return v, nil
}

// Has reports whether the vector tests flag, and its expected value.
func (v *Vector) Has(flag string) (want, ok bool) {
	want, ok = v.Expected[flag]
	return want, ok
}

// LoadIfPresent returns every vector, or nil when the folder is absent or
// unreadable. It is for fuzz seeds, where vectors are welcome but optional.
func LoadIfPresent() []*Vector {
	dir := Dir()
	if dir == "" {
		return nil
	}
	vs, _ := LoadDir(dir)
	return vs
}

// DSCKey returns the public key of the vector's DSC, or nil when it has
// none or it does not parse.
func (v *Vector) DSCKey() crypto.PublicKey {
	if v.Certificate == nil {
		return nil
	}
	cert, err := x509.ParseCertificate(v.Certificate)
	if err != nil {
		return nil
	}
	return cert.PublicKey
}
