package jsonschema_test

import (
	"bytes"
	"testing"

	sjs "github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vaxcert/vaxcert/schemas/jsonschema"
)

// FuzzValidateAgreement mutates JSON payloads and checks that the typed and
// the oracle validators agree on every input that decodes into the Go type
// without loss (see lossless).
func FuzzValidateAgreement(f *testing.F) {
	for _, s := range seedDocs {
		f.Add([]byte(s))
	}
	// Seed from the EU vectors when present; the seeds above run anyway.
	vectors, _ := readVectors()
	for _, v := range vectors {
		f.Add(v.payload)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 16<<10 {
			return
		}
		doc, err := sjs.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return
		}
		oracle := jsonschema.Validate(doc)
		d, err := decodeDCC(data)
		if err != nil {
			return
		}
		typed := d.Validate(nil)
		if !lossless(doc, d) {
			return
		}
		if (typed == nil) != (oracle == nil) {
			t.Fatalf("typed: %v, oracle: %v, input: %s", typed, oracle, data)
		}
	})
}
