package schemas

import "embed"

// SchemaVersion is the version of the embedded DCC JSON schema.
const SchemaVersion = "1.3.3"

// SchemaFile is the path of the embedded DCC JSON schema inside [FS].
const SchemaFile = "dcc/1.3/DCC.combined-schema.json"

// SchemaID is the "$id" of the embedded DCC JSON schema.
const SchemaID = "https://id.uvci.eu/DCC.combined-schema.json"

// ValueSetsDir is the directory of the embedded value sets inside [FS].
const ValueSetsDir = "valuesets"

// FS holds the embedded third-party files: the DCC JSON schema at
// [SchemaFile] and the value sets under [ValueSetsDir] (Apache-2.0; see
// NOTICE and LICENSE-eu-dcc in this package's directory).
//
//go:embed dcc valuesets
var FS embed.FS
