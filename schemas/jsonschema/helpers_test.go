package jsonschema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	sjs "github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/schemas/jsonschema"
)

// vectorDir is the EU test-vector folder (dgc-testdata), read in place.
const vectorDir = "../../../shared/testdata/dgc"

type vector struct {
	path     string // relative to vectorDir
	payload  []byte // the JSON key
	expected *bool  // EXPECTEDRESULTS.EXPECTEDSCHEMAVALIDATION, if present
}

var errNoVectors = errors.New("EU test vectors not available")

// readVectors returns the vectors that carry a JSON payload.
func readVectors() ([]vector, error) {
	if _, err := os.Stat(vectorDir); err != nil {
		return nil, fmt.Errorf("%w at %s: %v", errNoVectors, vectorDir, err)
	}
	var out []vector
	err := filepath.WalkDir(vectorDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".json" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var f struct {
			JSON     json.RawMessage `json:"JSON"`
			Expected struct {
				Schema *bool `json:"EXPECTEDSCHEMAVALIDATION"`
			} `json:"EXPECTEDRESULTS"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if len(f.JSON) == 0 || string(f.JSON) == "null" {
			return nil
		}
		rel, _ := filepath.Rel(vectorDir, p)
		out = append(out, vector{path: filepath.ToSlash(rel), payload: f.JSON, expected: f.Expected.Schema})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, err
}

// loadVectors is readVectors for a test, which it skips when the folder is
// absent.
func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	vs, err := readVectors()
	if errors.Is(err, errNoVectors) {
		tb.Skipf("skipping: %v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return vs
}

// decodeDCC decodes one JSON value into the Go type, as a verifier's strict
// decoder would: no trailing data and exact types (a float for an int member
// fails). Unknown members are dropped; the schema allows them.
func decodeDCC(data []byte) (*schemas.DCC, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var d schemas.DCC
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return &d, nil
}

// verdicts runs both validators on a JSON payload. A decode failure makes
// the typed verdict invalid.
func verdicts(data []byte) (typed, oracle error, decodeErr error) {
	typed = errors.New("decode failed")
	d, err := decodeDCC(data)
	if err != nil {
		decodeErr = err
	} else {
		typed = d.ValidateSchema()
	}
	doc, err := sjs.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return typed, err, decodeErr
	}
	oracle = jsonschema.ValidateSchema(doc)
	if d != nil && !schemas.IsLatestSchema(d.Ver) {
		// The typed validator implements 1.3 only; older payloads are the
		// oracle's alone (the verifier sends them to it).
		typed = oracle
	}
	return typed, oracle, decodeErr
}

// known lists the members the Go types hold, per object.
var known = map[string]map[string]bool{
	"":    set("ver", "nam", "dob", "v", "t", "r"),
	"nam": set("fn", "fnt", "gn", "gnt"),
	"v":   set("tg", "vp", "mp", "ma", "dn", "sd", "dt", "co", "is", "ci"),
	"t":   set("tg", "tt", "nm", "ma", "sc", "tr", "tc", "co", "is", "ci"),
	"r":   set("tg", "fr", "co", "is", "df", "du", "ci"),
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// lossless reports whether decoding doc into d lost nothing the schema can
// see: the known members of doc equal the JSON that d encodes to. Decoding
// loses presence (a missing or null string becomes "", an empty fnt or an
// empty v array is omitted when encoding); on such inputs the typed
// validator judges the decoded value, not the original bytes.
func lossless(doc any, d *schemas.DCC) bool {
	enc, err := json.Marshal(d)
	if err != nil {
		return false
	}
	back, err := sjs.UnmarshalJSON(bytes.NewReader(enc))
	if err != nil {
		return false
	}
	return reflect.DeepEqual(prune(doc, ""), back)
}

// prune drops the members the Go types do not hold.
func prune(v any, kind string) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(obj))
	for k, val := range obj {
		if !known[kind][k] {
			continue
		}
		switch {
		case kind == "" && k == "nam":
			val = prune(val, "nam")
		case kind == "" && (k == "v" || k == "t" || k == "r"):
			if items, ok := val.([]any); ok {
				pruned := make([]any, len(items))
				for i, it := range items {
					pruned[i] = prune(it, k)
				}
				val = pruned
			}
		}
		out[k] = val
	}
	return out
}
