package trustpub

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/issuing"
	"github.com/vaxcert/vaxcert/keys/keyfile"
)

// ErrUnknownKID is returned by Retire for a kid that is not a rotated-out
// DSC of the key folder.
var ErrUnknownKID = errors.New("trustpub: no rotated-out DSC has this kid")

// Rotate replaces the key folder's signing DSC with a new one the CSCA
// issues (same algorithm), without a gap: the old certificate moves to
// previous/ first, so it stays on the trust list and the certificates it
// signed keep verifying; then the new pair replaces dsc.pem and dsc.key,
// and the new DSC is on the trust list from its next signing. The old
// private key is overwritten by the new one: nothing signs with it again.
// A running issuer keeps signing with the key it loaded until it restarts.
func Rotate(dir string, notBefore time.Time) (old, cur *x509.Certificate, err error) {
	_, old, err = keyfile.LoadDSC(dir)
	if err != nil {
		return nil, nil, err
	}
	if err := keyfile.WriteCert(filepath.Join(dir, PreviousDir, KIDFile(old)), old, keyfile.Overwrite()); err != nil {
		return nil, nil, err
	}
	dsc, err := keyfile.IssueDSC(dir, issuing.DSCOptions{Algorithm: keys.AlgorithmFor(old.PublicKey), NotBefore: notBefore,
		Country: countryOf(old)}, keyfile.Overwrite())
	if err != nil {
		return nil, nil, err
	}
	return old, dsc.Cert, nil
}

func countryOf(c *x509.Certificate) string {
	if len(c.Subject.Country) > 0 {
		return c.Subject.Country[0]
	}
	return ""
}

// Retire takes a rotated-out DSC off the trust list: previous/KID.pem
// moves to retired/. From the next sync on, venue verifiers no longer
// trust it and the certificates it signed stop verifying. kid is the
// DCC kid (base64, as `keys rotate` prints it) or its hex file name.
func Retire(dir, kid string) (*x509.Certificate, error) {
	prev, err := filepath.Glob(filepath.Join(dir, PreviousDir, "*.pem"))
	if err != nil {
		return nil, err
	}
	for _, f := range prev {
		certs, err := keyfile.ReadCertFile(f)
		if err != nil {
			return nil, err
		}
		c := certs[0]
		if keys.KIDString(keys.KID(c.Raw)) != kid && strings.TrimSuffix(filepath.Base(f), ".pem") != strings.ToLower(kid) {
			continue
		}
		if err := keyfile.WriteCert(filepath.Join(dir, RetiredDir, filepath.Base(f)), c, keyfile.Overwrite()); err != nil {
			return nil, err
		}
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("trustpub: %w", err)
		}
		return c, nil
	}
	return nil, ErrUnknownKID
}
