package keys_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/vaxcert/vaxcert/schemas"
)

// vectorDir holds the EU dgc-testdata subset, read in place.
const vectorDir = "../../shared/testdata/dgc"

// vector is the part of an EU test vector these tests use.
type vector struct {
	Name     string
	CertText string                     // TESTCTX.CERTIFICATE, base64 DER
	COSE     []byte                     // decoded COSE hex, nil if absent
	Type     schemas.CertType           // from the v/t/r key of JSON
	Expected map[string]json.RawMessage // EXPECTEDRESULTS
}

// expect returns an EXPECTED* flag and whether it is present as a boolean.
func (v vector) expect(flag string) (value, ok bool) {
	raw, found := v.Expected[flag]
	if !found {
		return false, false
	}
	return value, json.Unmarshal(raw, &value) == nil
}

// loadVectors reads every vector, or skips the test when the folder is absent.
func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	vs, err := readVectors()
	if err != nil {
		tb.Fatal(err)
	}
	if len(vs) == 0 {
		tb.Skipf("EU test vectors not found in %s", vectorDir)
	}
	return vs
}

// readVectors reads every vector; none if the folder is absent.
func readVectors() ([]vector, error) {
	files, err := filepath.Glob(filepath.Join(vectorDir, "*", "2DCode", "raw", "*.json"))
	if err != nil {
		return nil, err
	}
	var out []vector
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var raw struct {
			COSE    string
			CBOR    string
			JSON    map[string]json.RawMessage
			TESTCTX struct {
				CERTIFICATE string
			}
			EXPECTEDRESULTS map[string]json.RawMessage
		}
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		v := vector{
			Name:     strings.TrimPrefix(f, vectorDir+string(filepath.Separator)),
			CertText: raw.TESTCTX.CERTIFICATE,
			Expected: raw.EXPECTEDRESULTS,
		}
		if raw.COSE != "" {
			if v.COSE, err = hex.DecodeString(raw.COSE); err != nil {
				return nil, fmt.Errorf("%s: COSE: %v", f, err)
			}
		}
		keys := make(map[string]bool)
		for k := range raw.JSON {
			keys[k] = true
		}
		if raw.JSON == nil && raw.CBOR != "" {
			if keys, err = cborPayloadKeys(raw.CBOR); err != nil {
				return nil, fmt.Errorf("%s: CBOR: %v", f, err)
			}
		}
		n := 0
		for key, typ := range map[string]schemas.CertType{"v": schemas.TypeVaccination, "t": schemas.TypeTest, "r": schemas.TypeRecovery} {
			if keys[key] {
				v.Type, n = typ, n+1
			}
		}
		if n != 1 {
			v.Type = schemas.TypeUnknown
		}
		out = append(out, v)
	}
	return out, nil
}

// cborPayloadKeys returns the top-level keys of the DCC in a vector's CBOR
// field, which holds either the DCC or the whole CWT claims map.
func cborPayloadKeys(hexCBOR string) (map[string]bool, error) {
	data, err := hex.DecodeString(hexCBOR)
	if err != nil {
		return nil, err
	}
	var m map[any]any
	if err := cbor.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if hc, ok := m[int64(-260)].(map[any]any); ok {
		if dcc, ok := hc[uint64(1)].(map[any]any); ok {
			m = dcc
		}
	}
	out := make(map[string]bool)
	for k := range m {
		if s, ok := k.(string); ok {
			out[s] = true
		}
	}
	return out, nil
}

// vectorCertDER decodes a vector's certificate text independently of
// keys.ParseCertificates.
func vectorCertDER(tb testing.TB, v vector) []byte {
	tb.Helper()
	der, err := base64.StdEncoding.DecodeString(v.CertText)
	if err != nil {
		tb.Fatalf("%s: certificate: %v", v.Name, err)
	}
	return der
}

// coseKID extracts the kid of a COSE_Sign1 as the spec says a verifier
// finds it: from the protected header, else from the unprotected one. It
// handles the shapes the vectors use (optional tags 61 and 18, headers whose
// labels are small integers and whose values are small integers or short byte
// strings) and returns nil for any other shape.
func coseKID(msg []byte) []byte {
	p := msg
	if len(p) >= 2 && p[0] == 0xd8 && p[1] == 0x3d {
		p = p[2:]
	}
	if len(p) >= 1 && p[0] == 0xd2 {
		p = p[1:]
	}
	if len(p) < 2 || p[0] != 0x84 {
		return nil
	}
	p = p[1:]
	var prot []byte
	switch {
	case p[0] >= 0x40 && p[0] <= 0x57 && len(p) >= 1+int(p[0]-0x40):
		prot, p = p[1:1+int(p[0]-0x40)], p[1+int(p[0]-0x40):]
	case p[0] == 0x58 && len(p) >= 2 && len(p) >= 2+int(p[1]):
		prot, p = p[2:2+int(p[1])], p[2+int(p[1]):]
	default:
		return nil
	}
	if len(prot) > 0 {
		kid, rest, ok := headerKID(prot)
		if !ok || len(rest) != 0 {
			return nil
		}
		if kid != nil {
			return kid
		}
	}
	kid, _, ok := headerKID(p)
	if !ok {
		return nil
	}
	return kid
}

// headerKID reads one small header map and returns its kid (label 4), if any,
// and the bytes after the map.
func headerKID(h []byte) (kid, rest []byte, ok bool) {
	if len(h) == 0 || h[0] < 0xa0 || h[0] > 0xa7 {
		return nil, nil, false
	}
	pairs := int(h[0] - 0xa0)
	h = h[1:]
	for range pairs {
		if len(h) < 2 || h[0] > 0x17 {
			return nil, nil, false
		}
		label := h[0]
		h = h[1:]
		switch {
		case h[0] <= 0x17 || (h[0] >= 0x20 && h[0] <= 0x37): // small int
			h = h[1:]
		case (h[0] == 0x18 || h[0] == 0x38) && len(h) >= 2: // one-byte int
			h = h[2:]
		case h[0] >= 0x40 && h[0] <= 0x57 && len(h) >= 1+int(h[0]-0x40): // short bstr
			n := int(h[0] - 0x40)
			if label == 0x04 {
				kid = h[1 : 1+n]
			}
			h = h[1+n:]
		default:
			return nil, nil, false
		}
	}
	return kid, h, true
}
