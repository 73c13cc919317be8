package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/vaxcert/vaxcert/internal/trustpub"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/issuing"
	"github.com/vaxcert/vaxcert/keys/keyfile"
)

const keysUsage = `Usage:
    vaxcert keys init --dir D [--country VN] [--alg ES256|PS256] [--force]
    vaxcert keys rotate --dir D
    vaxcert keys retire --dir D --kid KID

"keys rotate" has the CSCA issue a new DSC for D/dsc.pem and dsc.key; the
old DSC moves to D/previous/, so it stays on the signed trust list and the
certificates it signed keep verifying (no gap). Restart the issuer to sign
with the new key; venue verifiers get the new DSC at their next sync.
"keys retire" takes a rotated-out DSC off the trust list (to D/retired/):
after the next sync the certificates it signed stop verifying.

Create a key folder: a self-signed CSCA (csca.pem, csca.key), a document
signer certificate it issued (dsc.pem, dsc.key) and the UVCI secret
(uvci.key). Private keys and the secret are written with mode 0600, the
folder with 0700. Print the DSC's kid and the files written.

Flags:
    --dir D          the key folder (created if missing)
    --country CC     ISO 3166-1 alpha-2 country of the CSCA and DSC (default VN)
    --alg ALG        ES256 (ECDSA P-256, default) or PS256 (RSA-2048)
    --force          replace existing certificates and keys; an existing
                     uvci.key is kept, so UVCIs stay stable

Example:
    $ vaxcert keys init --dir keys --country VN
    kid: 2mrh1QUjIvc=
    wrote keys/csca.key
    ...
`

// errKeysExist is returned by keys init when the folder already holds keys.
var errKeysExist = errors.New("the key folder already holds keys")

func runKeys(e *env, args []string) error {
	if len(args) == 0 {
		return commandUsageError("keys", errors.New("missing subcommand (want: keys init, rotate or retire)"))
	}
	switch args[0] {
	case "init":
		return keysInit(e, args[1:])
	case "rotate":
		return keysRotate(e, args[1:])
	case "retire":
		return keysRetire(e, args[1:])
	case "-h", "-help", "--help":
		return flag.ErrHelp
	}
	return commandUsageError("keys", fmt.Errorf("unknown subcommand %q (want: keys init, rotate or retire)", args[0]))
}

func keysInit(e *env, args []string) error {
	flags := newFlagSet("keys")
	dir := flags.String("dir", "", "")
	country := flags.String("country", "VN", "")
	algName := flags.String("alg", "ES256", "")
	force := flags.Bool("force", false, "")
	pos, err := parseFlags(flags, args)
	switch {
	case err != nil:
		return err
	case len(pos) > 0:
		return commandUsageError("keys", fmt.Errorf("unexpected argument %q", pos[0]))
	case *dir == "":
		return commandUsageError("keys", errors.New("--dir is required"))
	case !isCountryCode(*country):
		return commandUsageError("keys", errors.New("--country must be an ISO 3166-1 alpha-2 code in upper case, e.g. VN"))
	}
	var alg keys.Algorithm
	switch strings.ToUpper(*algName) {
	case "ES256":
		alg = keys.AlgES256
	case "PS256":
		alg = keys.AlgPS256
	default:
		return commandUsageError("keys", fmt.Errorf("--alg %q: want ES256 or PS256", *algName))
	}

	var opts []keyfile.Option
	if *force {
		opts = append(opts, keyfile.Overwrite())
	}
	secretPath := filepath.Join(*dir, keyfile.UVCISecretFile)
	_, err = os.Lstat(secretPath)
	newSecret := errors.Is(err, fs.ErrNotExist)

	t := now()
	csca, err := issuing.NewCSCA(issuing.CSCAOptions{Country: *country, Algorithm: alg, NotBefore: t})
	if err != nil {
		return withHint(err)
	}
	dsc, err := csca.IssueDSC(issuing.DSCOptions{Algorithm: alg, NotBefore: t})
	if err != nil {
		return withHint(err)
	}
	if err := keyfile.WriteDir(*dir, csca, dsc, opts...); err != nil {
		if errors.Is(err, keyfile.ErrExists) {
			return withHint(fmt.Errorf("%w: %w", errKeysExist, err),
				"use --force to replace them; certificates signed by the old DSC then verify only while it stays trusted")
		}
		return withHint(err)
	}

	fmt.Fprintf(e.stdout, "kid: %s\n", keys.KIDString(dsc.KID()))
	written := []string{keyfile.CSCAKeyFile, keyfile.CSCACertFile, keyfile.DSCKeyFile, keyfile.DSCCertFile}
	if newSecret {
		written = append(written, keyfile.UVCISecretFile)
	}
	for _, name := range written {
		fmt.Fprintf(e.stdout, "wrote %s\n", filepath.Join(*dir, name))
	}
	if !newSecret {
		fmt.Fprintf(e.stdout, "kept %s\n", secretPath)
	}
	return nil
}

// isCountryCode reports whether s is two upper-case ASCII letters.
func isCountryCode(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

func keysRotate(e *env, args []string) error {
	flags := newFlagSet("keys")
	dir := flags.String("dir", "", "")
	pos, err := parseFlags(flags, args)
	switch {
	case err != nil:
		return err
	case len(pos) > 0 || *dir == "":
		return commandUsageError("keys", errors.New("keys rotate takes --dir D only"))
	}
	old, cur, err := trustpub.Rotate(*dir, now())
	if err != nil {
		return withHint(err, "the key folder needs csca.pem, csca.key, dsc.pem and dsc.key (\"vaxcert keys init\")",
			"thư mục khoá cần csca.pem, csca.key, dsc.pem và dsc.key (\"vaxcert keys init\")")
	}
	fmt.Fprintf(e.stdout, "new kid: %s\nold kid: %s (still trusted; \"vaxcert keys retire --dir %s --kid %s\" takes it off the list)\n",
		keys.KIDString(keys.KID(cur.Raw)), keys.KIDString(keys.KID(old.Raw)), *dir, keys.KIDString(keys.KID(old.Raw)))
	fmt.Fprintln(e.stdout, "restart the issuer to sign with the new DSC")
	return nil
}

func keysRetire(e *env, args []string) error {
	flags := newFlagSet("keys")
	dir := flags.String("dir", "", "")
	kid := flags.String("kid", "", "")
	pos, err := parseFlags(flags, args)
	switch {
	case err != nil:
		return err
	case len(pos) > 0 || *dir == "" || *kid == "":
		return commandUsageError("keys", errors.New("keys retire takes --dir D --kid KID"))
	}
	c, err := trustpub.Retire(*dir, *kid)
	if err != nil {
		return withHint(err, "the kid must be one \"vaxcert keys rotate\" printed as old (see "+*dir+"/previous/)",
			"kid phải là kid cũ mà \"vaxcert keys rotate\" đã in (xem "+*dir+"/previous/)")
	}
	fmt.Fprintf(e.stdout, "retired %s: off the trust list from the next sync; certificates it signed stop verifying\n",
		keys.KIDString(keys.KID(c.Raw)))
	return nil
}
