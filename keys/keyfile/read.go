package keyfile

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/issuing"
)

// LoadSigner reads a PEM private key: PKCS#8 ("PRIVATE KEY"), or for
// interoperability SEC1 ("EC PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY"). It
// fails with a [*PermissionError] if group or others may access the file
// (not checked on Windows), and with [ErrKey] for anything but exactly one
// unencrypted key block of a signing key type.
func LoadSigner(path string) (crypto.Signer, error) {
	data, err := readPrivate(path)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	block, rest := pem.Decode(data)
	if block == nil || !bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("-----BEGIN ")) {
		return nil, fmt.Errorf("%w: %s: no pem block at the start", ErrKey, path)
	}
	defer clear(block.Bytes)
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: %s: data after the key", ErrKey, path)
	}
	if len(block.Headers) != 0 {
		return nil, fmt.Errorf("%w: %s: encrypted or annotated pem is not supported", ErrKey, path)
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, fmt.Errorf("%w: %s: encrypted keys are not supported", ErrKey, path)
	default:
		return nil, fmt.Errorf("%w: %s: not a private key", ErrKey, path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKey, path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %s: key type %T cannot sign", ErrKey, path, key)
	}
	return signer, nil
}

// LoadDSC reads dsc.pem and dsc.key from a key directory and checks that the
// key belongs to the certificate ([issuing.ErrKeyMismatch] otherwise) and that
// the certificate may sign ([issuing.ErrNotSigner] otherwise).
func LoadDSC(dir string) (crypto.Signer, *x509.Certificate, error) {
	cert, signer, err := loadPair(filepath.Join(dir, DSCCertFile), filepath.Join(dir, DSCKeyFile))
	if err != nil {
		return nil, nil, err
	}
	if _, err := issuing.NewDSC(cert, signer); err != nil {
		return nil, nil, fmt.Errorf("keyfile: %s: %w", dir, err)
	}
	return signer, cert, nil
}

// LoadCA reads csca.pem and csca.key from a key directory. It fails with
// [issuing.ErrKeyMismatch] or [issuing.ErrNotCA] as [issuing.NewCA] does.
func LoadCA(dir string) (*issuing.CA, error) {
	cert, signer, err := loadPair(filepath.Join(dir, CSCACertFile), filepath.Join(dir, CSCAKeyFile))
	if err != nil {
		return nil, err
	}
	ca, err := issuing.NewCA(cert, signer)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %s: %w", dir, err)
	}
	return ca, nil
}

func loadPair(certPath, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	certs, err := readCertFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	if len(certs) != 1 {
		return nil, nil, fmt.Errorf("%w: %s holds %d", ErrCertificateCount, certPath, len(certs))
	}
	signer, err := LoadSigner(keyPath)
	if err != nil {
		return nil, nil, err
	}
	return certs[0], signer, nil
}

// certExts are the extensions ReadTrustDir reads, compared in lower case.
var certExts = map[string]bool{".pem": true, ".crt": true, ".cer": true, ".der": true}

// ReadTrustDir reads the DSCs of a trust folder: every regular file named
// *.pem, *.crt, *.cer or *.der (in any case; hidden files excepted), each in
// any form [keys.ParseCertificates] accepts, in file-name order. Other files,
// such as *.key, are not opened. CSCAs ([keys.IsCSCA]), which cannot be
// trust entries, are left out, so the directory [WriteDir] writes yields
// its DSC. It fails with
// [keys.ErrNoCertificate] when no DSC is found, and with
// [keys.ErrTooManyEntries] beyond limits.MaxTrustEntries.
func ReadTrustDir(dir string) ([]*x509.Certificate, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("keyfile: failed to read trust folder: %w", err)
	}
	var out []*x509.Certificate
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || e.IsDir() || !certExts[strings.ToLower(filepath.Ext(name))] {
			continue
		}
		certs, err := readCertFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		for _, c := range certs {
			if !keys.IsCSCA(c) {
				out = append(out, c)
			}
		}
		if len(out) > limits.MaxTrustEntries {
			return nil, fmt.Errorf("keyfile: %s: %w", dir, keys.ErrTooManyEntries)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("keyfile: %s: %w", dir, keys.ErrNoCertificate)
	}
	return out, nil
}

// readCertFile reads and parses one certificate file.
func readCertFile(path string) ([]*x509.Certificate, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readLimited(f, path, limits.MaxTrustList)
	if err != nil {
		return nil, err
	}
	certs, err := keys.ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %s: %w", path, err)
	}
	return certs, nil
}

// readPrivate reads a key or secret file after checking its permissions on
// the open descriptor.
func readPrivate(path string) ([]byte, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if runtime.GOOS != "windows" {
		fi, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("keyfile: failed to stat %s: %w", path, err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, &PermissionError{Path: path, Mode: fi.Mode().Perm()}
		}
	}
	return readLimited(f, path, limits.MaxKeyFile)
}

func openRegular(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keyfile: failed to open file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("keyfile: failed to stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s", ErrNotRegular, path)
	}
	return f, nil
}

func readLimited(r io.Reader, path string, limit int) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("keyfile: failed to read %s: %w", path, err)
	}
	if len(data) > limit {
		return nil, fmt.Errorf("%w: %s exceeds %d bytes", ErrTooLarge, path, limit)
	}
	return data, nil
}

// LoadPair reads a certificate file holding one certificate and its
// private key, and checks that the key belongs to the certificate
// ([issuing.ErrKeyMismatch] otherwise).
func LoadPair(certPath, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	cert, signer, err := loadPair(certPath, keyPath)
	if err != nil {
		return nil, nil, err
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("keyfile: %s: %w", keyPath, issuing.ErrKeyMismatch)
	}
	return cert, signer, nil
}

// ReadCertFile reads one certificate file (PEM, DER or base64; bounded).
func ReadCertFile(path string) ([]*x509.Certificate, error) { return readCertFile(path) }
