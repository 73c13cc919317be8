package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/issuer"
	"github.com/vaxcert/vaxcert/keys/keyfile"
)

const issueUsage = `Usage:
    vaxcert issue --keys D --record FILE.json [--png OUT.png] [--validity 365d]
                  [--issuer-name NAME]

Sign the finalised doses of a dose record (JSON, see the README) as an EU
vaccination certificate and print its HC1 text. Draft doses are ignored.

Flags:
    --keys D           key folder written by "vaxcert keys init" (dsc.pem,
                       dsc.key, uvci.key)
    --record FILE      the dose record; "-" reads standard input
    --png OUT.png      also write the QR code as a PNG (atomically)
    --value-sets DIR   newer EU value-set files (*.json) over the embedded ones
    --validity DUR     certificate lifetime, capped at the DSC's expiry
                       (default 365d; units d, h, m)
    --issuer-name NAME the certificate issuer written in the certificate
                       (default "Ministry of Health of Viet Nam")

Example:
    $ vaxcert issue --keys keys --record examples/record.json --png qr.png
    HC1:6BF...
`

// defaultIssuerName is this deployment's certificate issuer (`is`), the
// default of --issuer-name. The issuer library has no default.
const defaultIssuerName = "Ministry of Health of Viet Nam"

// uvciKeyFile is the UVCI secret's file name in a key folder.
const uvciKeyFile = "uvci.key"

// errRecordJSON is returned for a record that is not one well-formed JSON
// document of the dose-record format.
var errRecordJSON = errors.New("malformed dose record")

func runIssue(e *env, args []string) error {
	flags := newFlagSet("issue")
	keyDir := flags.String("keys", "", "")
	recordFile := flags.String("record", "", "")
	pngFile := flags.String("png", "", "")
	vsDir := flags.String("value-sets", "", "")
	issuerName := flags.String("issuer-name", defaultIssuerName, "")
	validity := durationFlag{issuer.DefaultValidity}
	flags.Var(&validity, "validity", "")
	pos, err := parseFlags(flags, args)
	switch {
	case err != nil:
		return err
	case len(pos) > 0:
		return commandUsageError("issue", fmt.Errorf("unexpected argument %q", pos[0]))
	case *keyDir == "":
		return commandUsageError("issue", errors.New("--keys is required"))
	case *recordFile == "":
		return commandUsageError("issue", errors.New("--record is required"))
	}

	data, err := e.readInput(*recordFile, limits.MaxRecordFile)
	if err != nil {
		return withHint(err)
	}
	rec, err := decodeRecord(data)
	if err != nil {
		return withHint(fmt.Errorf("%s: %w", displayName(*recordFile), err),
			"the record format is described in the README (Dose-record format); see examples/record.json")
	}

	signer, dsc, err := keyfile.LoadDSC(*keyDir)
	if err != nil {
		return withHint(err, `create a key folder with "vaxcert keys init --dir `+*keyDir+`"`)
	}
	secret, err := keyfile.LoadSecret(filepath.Join(*keyDir, uvciKeyFile))
	if err != nil {
		return withHint(err)
	}
	vs, err := loadValueSets(*vsDir)
	if err != nil {
		return err
	}
	iss, err := issuer.New(signer, dsc, issuer.WithUVCISecret(secret), issuer.WithIssuerName(*issuerName),
		issuer.WithClock(now), issuer.WithValidity(validity.d), issuer.WithValueSets(vs))
	if err != nil {
		return withHint(err)
	}
	cert, err := iss.Issue(rec)
	if err != nil {
		var fe *issuer.FieldError
		if errors.As(err, &fe) {
			return withHint(err, fmt.Sprintf("fix %s in the record; no certificate was issued", fe.Field))
		}
		if errors.Is(err, issuer.ErrSignerNotValid) {
			return withHint(err, "the DSC has expired or is not valid yet: rotate the keys with \"vaxcert keys init --force\"")
		}
		return withHint(err)
	}
	if *pngFile != "" {
		png, err := cert.PNG()
		if err != nil {
			return withHint(err)
		}
		if err := writeFileAtomic(*pngFile, png, 0o644); err != nil {
			return withHint(err)
		}
	}
	_, err = fmt.Fprintln(e.stdout, cert.HC1)
	return err
}

// decodeRecord decodes one dose record strictly: one JSON value, no
// unknown fields, no trailing data. Errors wrap errRecordJSON and name
// byte offsets and fields, never values (json's own syntax errors quote
// the offending character, hence the rewording).
func decodeRecord(data []byte) (issuer.Record, error) {
	var rec issuer.Record
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return issuer.Record{}, fmt.Errorf("%w: invalid JSON at byte %d", errRecordJSON, se.Offset)
		case errors.As(err, &te):
			return issuer.Record{}, fmt.Errorf("%w: %s must be a JSON %s", errRecordJSON, te.Field, jsonKind(te.Type.Kind()))
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return issuer.Record{}, fmt.Errorf("%w: truncated JSON", errRecordJSON)
		default: // unknown field: json quotes the key, which is not a value
			return issuer.Record{}, fmt.Errorf("%w: %v", errRecordJSON, err)
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return issuer.Record{}, fmt.Errorf("%w: trailing data after the JSON value", errRecordJSON)
	}
	return rec, nil
}

// jsonKind names the JSON type of a Go kind in the dose-record types.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Int:
		return "integer"
	case reflect.Slice:
		return "array"
	default:
		return "object"
	}
}
