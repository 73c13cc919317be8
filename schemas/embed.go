package schemas

import (
	"embed"
	"strings"
)

// SchemaVersion is the version of the latest embedded DCC JSON schema, the
// one the typed validator implements and the issuer writes.
const SchemaVersion = "1.3.3"

// SchemaFile is the path of the latest embedded DCC JSON schema inside [FS].
const SchemaFile = "dcc/1.3/DCC.combined-schema.json"

// SchemaID is the "$id" of the latest embedded DCC JSON schema.
const SchemaID = "https://id.uvci.eu/DCC.combined-schema.json"

// Schema is one embedded release of the EU DCC JSON schema.
type Schema struct {
	Version string // the release, e.g. "1.2.1"
	File    string // its path inside [FS]
	ID      string // its "$id"
	// AssertFormat: "format" ("date", "date-time") is asserted. Only for
	// 1.3, whose descriptions require ISO 8601 complete dates; for 1.0 and
	// 1.2 it is an annotation, as JSON Schema 2020-12 has it by default,
	// and issuers of that time wrote date-times in dt.
	AssertFormat bool
}

// schemaReleases lists the embedded schema releases, oldest first: the last one of
// each line the EU published payloads for (1.0, 1.2, 1.3; 1.1.0 was
// replaced by 1.2.0 within weeks).
var schemaReleases = [...]Schema{
	{Version: "1.0.1", File: "dcc/1.0/DGC.combined-schema.json", ID: "https://id.uvci.eu/DGC.combined-schema.json"},
	{Version: "1.2.1", File: "dcc/1.2/DCC.combined-schema.json", ID: SchemaID},
	{Version: SchemaVersion, File: SchemaFile, ID: SchemaID, AssertFormat: true},
}

// Schemas returns the embedded schema releases, oldest first, as a fresh
// slice.
func Schemas() []Schema { return append([]Schema(nil), schemaReleases[:]...) }

// SchemaFor returns the embedded schema a payload declaring version ver
// ("ver") is validated against: 1.0.x → 1.0.1; 1.1.x and 1.2.x → 1.2.1;
// anything else (1.3.x, later, malformed or absent) → the latest, 1.3.3,
// whose own "ver" pattern then judges a malformed version.
func SchemaFor(ver string) Schema {
	switch {
	case strings.HasPrefix(ver, "1.0."):
		return schemaReleases[0]
	case strings.HasPrefix(ver, "1.1."), strings.HasPrefix(ver, "1.2."):
		return schemaReleases[1]
	}
	return schemaReleases[2]
}

// IsLatestSchema reports whether a payload declaring ver is judged by the
// latest schema, which [DCC.ValidateSchema] implements.
func IsLatestSchema(ver string) bool { return SchemaFor(ver).Version == SchemaVersion }

// ValueSetsRelease is the eu-dcc-valuesets release of the embedded value
// sets (see the package documentation and NOTICE for each file).
const ValueSetsRelease = "2.12.0"

// ValueSetsDir is the directory of the embedded value sets inside [FS].
const ValueSetsDir = "valuesets"

// FS holds the embedded third-party files: the DCC JSON schemas (see
// [Schemas]) and the value sets under [ValueSetsDir] (Apache-2.0; see
// NOTICE and LICENSE-eu-dcc in this package's directory).
//
//go:embed dcc valuesets
var FS embed.FS
