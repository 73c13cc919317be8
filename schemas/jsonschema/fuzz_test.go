package jsonschema_test

import (
	"bytes"
	"encoding/json"
	"testing"

	sjs "github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vaxcert/vaxcert/schemas"
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
		if !schemas.IsLatestSchema(d.Ver) {
			return // the typed validator implements 1.3 only
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

// fieldTargets are the string members FuzzFieldAgreement sets: a base
// document and a path of at most two steps (an entry is its group's first
// item).
var fieldTargets = []struct {
	base        string
	group, name string // group "" is the payload, "nam" the name object
}{
	{vacDoc, "", "ver"}, {vacDoc, "", "dob"},
	{vacDoc, "nam", "fn"}, {vacDoc, "nam", "fnt"}, {vacDoc, "nam", "gn"}, {vacDoc, "nam", "gnt"},
	{vacDoc, "v", "tg"}, {vacDoc, "v", "vp"}, {vacDoc, "v", "mp"}, {vacDoc, "v", "ma"},
	{vacDoc, "v", "dt"}, {vacDoc, "v", "co"}, {vacDoc, "v", "is"}, {vacDoc, "v", "ci"},
	{testDoc, "t", "tt"}, {testDoc, "t", "nm"}, {testDoc, "t", "ma"}, {testDoc, "t", "sc"},
	{testDoc, "t", "tr"}, {testDoc, "t", "tc"}, {testDoc, "t", "co"},
	{recDoc, "r", "fr"}, {recDoc, "r", "df"}, {recDoc, "r", "du"}, {recDoc, "r", "co"},
}

// FuzzFieldAgreement sets one string member of a valid base document to an
// arbitrary value and checks that both validators agree. Unlike
// FuzzValidateAgreement, nearly every input reaches both validators, so it
// exercises the patterns, formats, lengths and value sets directly.
func FuzzFieldAgreement(f *testing.F) {
	for i, v := range []string{
		"1.3.0", "1985-07-14", "Nguyễn", "NGUYEN<VAN", "Văn", "VAN", "840539006", "J07BX03",
		"EU/1/20/1528", "ORG-100030215", "2021-02-29", "vn", "", "URN:UVCI:01:VN:1#Q",
		"LP6464-4", "PCR", "1232", "2016-12-31T23:59:60Z", "260373001", "Bach Mai", "XK",
		"2021-08-01", "2021-08-12T00:00:00Z", "2022-01-28", "1\n3.0",
	} {
		f.Add(uint8(i), v)
	}
	f.Fuzz(func(t *testing.T, target uint8, value string) {
		ft := fieldTargets[int(target)%len(fieldTargets)]
		doc := parse(t, ft.base)
		switch ft.group {
		case "":
			doc[ft.name] = value
		case "nam":
			doc["nam"].(map[string]any)[ft.name] = value
		default:
			entry(doc, ft.group)[ft.name] = value
		}
		oracle := jsonschema.Validate(doc)
		data, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		d, err := decodeDCC(data)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !schemas.IsLatestSchema(d.Ver) {
			return // the typed validator implements 1.3 only
		}
		typed := d.Validate(nil)
		if !lossless(doc, d) {
			return // an empty optional member, which the Go type omits
		}
		if (typed == nil) != (oracle == nil) {
			t.Fatalf("%s.%s = %q: typed: %v, oracle: %v", ft.group, ft.name, value, typed, oracle)
		}
	})
}
