package keyfile

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vaxcert/vaxcert/keys/issuing"
)

// The file names of a key directory.
const (
	CSCACertFile   = "csca.pem"
	CSCAKeyFile    = "csca.key"
	DSCCertFile    = "dsc.pem"
	DSCKeyFile     = "dsc.key"
	UVCISecretFile = "uvci.key"
)

// File modes.
const (
	dirMode  fs.FileMode = 0o700
	keyMode  fs.FileMode = 0o600
	certMode fs.FileMode = 0o644
)

// Option changes how files are written.
type Option func(*options)

type options struct{ overwrite bool }

// Overwrite lets [WriteDir] and [IssueDSC] replace existing certificates and
// keys. It never replaces an existing uvci.key.
func Overwrite() Option { return func(o *options) { o.overwrite = true } }

func applyOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// WriteDir writes a key directory (see the package documentation): the CSCA
// and DSC certificates and PKCS#8 private keys, and a fresh random uvci.key
// if none exists. It creates dir with mode 0700 if needed. Unless
// [Overwrite] is given, it fails with [ErrExists] before writing anything if
// any of the four certificate and key files exists.
//
// With Overwrite, each file is replaced atomically but the set is not: after
// a crash a certificate may sit beside the old key, which [LoadDSC] detects.
func WriteDir(dir string, csca *issuing.CA, dsc *issuing.DSC, opts ...Option) error {
	if csca == nil || dsc == nil {
		return errors.New("keyfile: nil csca or dsc")
	}
	o := applyOptions(opts)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("keyfile: failed to create key directory: %w", err)
	}
	files := []struct {
		name string
		cert *x509.Certificate
		key  crypto.Signer
	}{
		{CSCAKeyFile, nil, csca.Signer()},
		{CSCACertFile, csca.Cert, nil},
		{DSCKeyFile, nil, dsc.Signer()},
		{DSCCertFile, dsc.Cert, nil},
	}
	if !o.overwrite {
		for _, f := range files {
			if err := checkAbsent(filepath.Join(dir, f.name)); err != nil {
				return err
			}
		}
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		var err error
		if f.cert != nil {
			err = writeCert(path, f.cert, o.overwrite)
		} else {
			err = writeKey(path, f.key, o.overwrite)
		}
		if err != nil {
			return err
		}
	}
	secretPath := filepath.Join(dir, UVCISecretFile)
	if _, err := os.Lstat(secretPath); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("keyfile: failed to check %s: %w", secretPath, err)
	}
	secret := make([]byte, SecretSize)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("keyfile: failed to generate secret: %w", err)
	}
	return WriteSecret(secretPath, secret)
}

// IssueDSC loads the CSCA of the key directory dir, issues a DSC with opts
// ([issuing.CA.IssueDSC]) and writes it as dsc.pem and dsc.key. Unless
// [Overwrite] is given it fails with [ErrExists] if either file exists. The
// replaced DSC must stay in verifiers' trust lists as long as DCCs it signed
// are valid.
func IssueDSC(dir string, opts issuing.DSCOptions, wopts ...Option) (*issuing.DSC, error) {
	o := applyOptions(wopts)
	ca, err := LoadCA(dir)
	if err != nil {
		return nil, err
	}
	certPath, keyPath := filepath.Join(dir, DSCCertFile), filepath.Join(dir, DSCKeyFile)
	if !o.overwrite {
		for _, p := range []string{certPath, keyPath} {
			if err := checkAbsent(p); err != nil {
				return nil, err
			}
		}
	}
	dsc, err := ca.IssueDSC(opts)
	if err != nil {
		return nil, err
	}
	if err := writeKey(keyPath, dsc.Signer(), o.overwrite); err != nil {
		return nil, err
	}
	if err := writeCert(certPath, dsc.Cert, o.overwrite); err != nil {
		return nil, err
	}
	return dsc, nil
}

func checkAbsent(path string) error {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return fmt.Errorf("%w: %s", ErrExists, path)
	case errors.Is(err, fs.ErrNotExist):
		return nil
	default:
		return fmt.Errorf("keyfile: failed to check %s: %w", path, err)
	}
}

func writeCert(path string, cert *x509.Certificate, overwrite bool) error {
	return writeAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), certMode, overwrite)
}

func writeKey(path string, key crypto.Signer, overwrite bool) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("keyfile: failed to encode private key for %s: %v", path, err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	clear(der)
	defer clear(data)
	return writeAtomic(path, data, keyMode, overwrite)
}

// writeAtomic writes data to a temporary file in path's directory, syncs it,
// and moves it to path: by rename when overwrite is set, otherwise by a hard
// link, which fails if path exists. It then syncs the directory. The
// temporary file is removed on every path.
func writeAtomic(path string, data []byte, perm fs.FileMode, overwrite bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("keyfile: failed to create temporary file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			f.Close()
		}
		if rmErr := os.Remove(tmp); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) && err == nil {
			err = fmt.Errorf("keyfile: failed to remove temporary file: %w", rmErr)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("keyfile: failed to set mode of %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("keyfile: failed to write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("keyfile: failed to sync %s: %w", path, err)
	}
	closeErr := f.Close()
	f = nil
	if closeErr != nil {
		return fmt.Errorf("keyfile: failed to close %s: %w", path, closeErr)
	}
	if overwrite {
		err = os.Rename(tmp, path)
	} else {
		err = os.Link(tmp, path)
	}
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s", ErrExists, path)
	}
	if err != nil {
		return fmt.Errorf("keyfile: failed to move %s into place: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable. Windows cannot sync a directory.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("keyfile: failed to open directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("keyfile: failed to sync directory: %w", err)
	}
	return nil
}

// WritePair writes a certificate and its private key (PKCS#8, mode 0600)
// atomically, the key first. Unless [Overwrite] is given it fails with
// [ErrExists] before writing anything if either file exists. The
// directory is created with mode 0700 if needed.
func WritePair(certPath, keyPath string, cert *x509.Certificate, key crypto.Signer, opts ...Option) error {
	o := applyOptions(opts)
	if err := os.MkdirAll(filepath.Dir(keyPath), dirMode); err != nil {
		return fmt.Errorf("keyfile: failed to create key directory: %w", err)
	}
	if !o.overwrite {
		for _, p := range []string{certPath, keyPath} {
			if err := checkAbsent(p); err != nil {
				return err
			}
		}
	}
	if err := writeKey(keyPath, key, o.overwrite); err != nil {
		return err
	}
	return writeCert(certPath, cert, o.overwrite)
}

// WriteCert writes a certificate file (PEM, mode 0644) atomically, in a
// directory created with mode 0700 if needed.
func WriteCert(path string, cert *x509.Certificate, opts ...Option) error {
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return fmt.Errorf("keyfile: failed to create directory: %w", err)
	}
	return writeCert(path, cert, applyOptions(opts).overwrite)
}

// WriteFile replaces (with [Overwrite]) or creates path with data
// atomically: a temporary file in the same folder, fsync, rename (or link),
// fsync of the folder. Readers see the old content or the new, never part.
func WriteFile(path string, data []byte, perm fs.FileMode, opts ...Option) error {
	return writeAtomic(path, data, perm, applyOptions(opts).overwrite)
}
