package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/keys/keyfile"
)

const trustUsage = `Usage:
    vaxcert trust export --keys D --out FILE [--validity 48h]

Write the signed trust list of key folder D to FILE (atomically): the same
JWS the issuer serves at GET /v1/trust-list, for venues without a network
("vaxcert verify --trust-list FILE --root D/csca.pem"). It lists dsc.pem and
the rotated-out DSCs in D/previous/, signed by the list-signing key
(D/lists.pem, created from D/csca.key on first use), and expires after
--validity: export again before then.

Example:
    $ vaxcert trust export --keys data/keys --out trust-list.jws
`

func runTrust(e *env, args []string) error {
	if len(args) == 0 || args[0] != "export" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			return flag.ErrHelp
		}
		return commandUsageError("trust", errors.New("want: trust export"))
	}
	flags := newFlagSet("trust")
	dir := flags.String("keys", "", "")
	out := flags.String("out", "", "")
	var validity durationFlag
	validity.d = trustpub.DefaultValidity
	flags.Var(&validity, "validity", "")
	pos, err := parseFlags(flags, args[1:])
	switch {
	case err != nil:
		return err
	case len(pos) > 0:
		return commandUsageError("trust", fmt.Errorf("unexpected argument %q", pos[0]))
	case *dir == "" || *out == "":
		return commandUsageError("trust", errors.New("--keys and --out are required"))
	}
	pub, err := trustpub.New(trustpub.Config{KeyDir: *dir, Validity: validity.d, Clock: now})
	if err != nil {
		return withHint(err, `create the key folder with "vaxcert keys init --dir `+*dir+`"`,
			`tạo thư mục khoá bằng "vaxcert keys init --dir `+*dir+`"`)
	}
	data, _, err := pub.TrustList()
	if err != nil {
		return withHint(err)
	}
	if err := keyfile.WriteFile(*out, data, 0o644, keyfile.Overwrite()); err != nil {
		return withHint(err)
	}
	fmt.Fprintf(e.stdout, "wrote %s (valid until %s)\n", *out, now().Add(validity.d).UTC().Format("2006-01-02T15:04:05Z"))
	return nil
}
