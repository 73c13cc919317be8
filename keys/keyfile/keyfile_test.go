package keyfile_test

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/issuing"
	"github.com/vaxcert/vaxcert/keys/keyfile"
)

// dirNames lists a directory, hidden files included.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

var keyDirFiles = []string{"csca.key", "csca.pem", "dsc.key", "dsc.pem", "uvci.key"}

func writePKI(t *testing.T, opts ...testkit.Option) (string, *testkit.PKI) {
	t.Helper()
	pki := testkit.NewPKI(t, opts...)
	dir := filepath.Join(t.TempDir(), "keys")
	if err := keyfile.WriteDir(dir, pki.CSCA, pki.DSC); err != nil {
		t.Fatal(err)
	}
	return dir, pki
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteDirRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []testkit.Option
	}{{"ES256", nil}, {"PS256", []testkit.Option{testkit.WithPS256()}}} {
		t.Run(tc.name, func(t *testing.T) {
			dir, pki := writePKI(t, tc.opts...)
			if got := dirNames(t, dir); !slices.Equal(got, keyDirFiles) {
				t.Fatalf("files = %v, want %v", got, keyDirFiles)
			}
			if runtime.GOOS != "windows" {
				modes := map[string]fs.FileMode{".": 0o700, "csca.key": 0o600, "dsc.key": 0o600, "uvci.key": 0o600, "csca.pem": 0o644, "dsc.pem": 0o644}
				for name, want := range modes {
					fi, err := os.Stat(filepath.Join(dir, name))
					if err != nil {
						t.Fatal(err)
					}
					if got := fi.Mode().Perm(); got != want {
						t.Errorf("%s: mode %04o, want %04o", name, got, want)
					}
				}
			}
			if block, _ := pem.Decode(readFile(t, filepath.Join(dir, "dsc.key"))); block == nil || block.Type != "PRIVATE KEY" {
				t.Errorf("dsc.key is not a PKCS#8 PEM block")
			}

			signer, cert, err := keyfile.LoadDSC(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(cert.Raw, pki.DSC.Cert.Raw) {
				t.Error("LoadDSC: certificate differs")
			}
			assertSigns(t, signer, cert)

			ca, err := keyfile.LoadCA(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ca.Cert.Raw, pki.CSCA.Cert.Raw) {
				t.Error("LoadCA: certificate differs")
			}

			secret, err := keyfile.LoadSecret(filepath.Join(dir, "uvci.key"))
			if err != nil || len(secret) != keyfile.SecretSize || bytes.Equal(secret, make([]byte, keyfile.SecretSize)) {
				t.Errorf("LoadSecret = %x, %v", secret, err)
			}

			// The key directory works as a trust folder, trusting the DSC only.
			certs, err := keyfile.ReadTrustDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != 1 || !bytes.Equal(certs[0].Raw, pki.DSC.Cert.Raw) {
				t.Fatalf("ReadTrustDir returned %d certificates, want the DSC", len(certs))
			}
			tl, err := keys.NewTrustList(certs...)
			if err != nil {
				t.Fatal(err)
			}
			if got := tl.Lookup(pki.DSC.KID()); len(got) != 1 {
				t.Errorf("trust list lookup found %d entries", len(got))
			}
		})
	}
}

// assertSigns checks that signer signs for cert's public key.
func assertSigns(t *testing.T, signer crypto.Signer, cert *x509.Certificate) {
	t.Helper()
	digest := sha256.Sum256([]byte("payload"))
	switch pub := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil || !ecdsa.VerifyASN1(pub, digest[:], sig) {
			t.Errorf("ECDSA signature does not verify (%v)", err)
		}
	case *rsa.PublicKey:
		opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
		sig, err := signer.Sign(rand.Reader, digest[:], opts)
		if err != nil || rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, opts) != nil {
			t.Errorf("PSS signature does not verify (%v)", err)
		}
	default:
		t.Fatalf("unexpected key type %T", pub)
	}
}

func TestWriteDirOverwrite(t *testing.T) {
	dir, first := writePKI(t)
	secret := readFile(t, filepath.Join(dir, "uvci.key"))
	second := testkit.NewPKI(t)

	if err := keyfile.WriteDir(dir, second.CSCA, second.DSC); !errors.Is(err, keyfile.ErrExists) {
		t.Fatalf("WriteDir over existing keys = %v, want ErrExists", err)
	}
	if _, cert, err := keyfile.LoadDSC(dir); err != nil || !bytes.Equal(cert.Raw, first.DSC.Cert.Raw) {
		t.Fatalf("refused WriteDir changed the DSC (%v)", err)
	}
	if got := dirNames(t, dir); !slices.Equal(got, keyDirFiles) {
		t.Fatalf("files = %v, want %v", got, keyDirFiles)
	}

	if err := keyfile.WriteDir(dir, second.CSCA, second.DSC, keyfile.Overwrite()); err != nil {
		t.Fatal(err)
	}
	if _, cert, err := keyfile.LoadDSC(dir); err != nil || !bytes.Equal(cert.Raw, second.DSC.Cert.Raw) {
		t.Fatalf("Overwrite: DSC not replaced (%v)", err)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, "uvci.key")), secret) {
		t.Error("Overwrite replaced uvci.key")
	}
	if got := dirNames(t, dir); !slices.Equal(got, keyDirFiles) {
		t.Fatalf("files = %v, want %v", got, keyDirFiles)
	}
}

func TestWriteDirPartial(t *testing.T) {
	pki := testkit.NewPKI(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dsc.key"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := keyfile.WriteDir(dir, pki.CSCA, pki.DSC); !errors.Is(err, keyfile.ErrExists) {
		t.Fatalf("err = %v, want ErrExists", err)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"dsc.key"}) {
		t.Fatalf("refused WriteDir wrote files: %v", got)
	}
}

func TestIssueDSC(t *testing.T) {
	dir, pki := writePKI(t)
	opts := issuing.DSCOptions{NotBefore: testkit.Now, Validity: 180 * 24 * time.Hour, Usage: keys.UsageVaccination}
	if _, err := keyfile.IssueDSC(dir, opts); !errors.Is(err, keyfile.ErrExists) {
		t.Fatalf("IssueDSC without Overwrite = %v, want ErrExists", err)
	}
	dsc, err := keyfile.IssueDSC(dir, opts, keyfile.Overwrite())
	if err != nil {
		t.Fatal(err)
	}
	signer, cert, err := keyfile.LoadDSC(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cert.Raw, dsc.Cert.Raw) || bytes.Equal(cert.Raw, pki.DSC.Cert.Raw) {
		t.Fatal("dsc.pem is not the new DSC")
	}
	if err := cert.CheckSignatureFrom(pki.CSCA.Cert); err != nil {
		t.Errorf("new DSC not signed by the CSCA: %v", err)
	}
	assertSigns(t, signer, cert)
	if got := dirNames(t, dir); !slices.Equal(got, keyDirFiles) {
		t.Fatalf("files = %v, want %v", got, keyDirFiles)
	}
}

func TestLoadSignerPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permission bits do not apply on Windows")
	}
	dir, _ := writePKI(t)
	path := filepath.Join(dir, "dsc.key")
	for _, tc := range []struct {
		mode fs.FileMode
		ok   bool
	}{
		{0o600, true}, {0o400, true}, {0o700, true},
		{0o644, false}, {0o640, false}, {0o604, false}, {0o660, false}, {0o602, false}, {0o610, false}, {0o666, false},
	} {
		if err := os.Chmod(path, tc.mode); err != nil {
			t.Fatal(err)
		}
		signer, err := keyfile.LoadSigner(path)
		if tc.ok {
			if err != nil || signer == nil {
				t.Errorf("mode %04o: %v", tc.mode, err)
			}
			continue
		}
		var pe *keyfile.PermissionError
		if !errors.As(err, &pe) || !errors.Is(err, keyfile.ErrInsecurePermissions) || signer != nil {
			t.Errorf("mode %04o: err = %v, want *PermissionError", tc.mode, err)
			continue
		}
		if pe.Mode != tc.mode || pe.Path != path {
			t.Errorf("mode %04o: PermissionError{%q, %04o}", tc.mode, pe.Path, pe.Mode)
		}
	}
	// LoadDSC and LoadSecret apply the same check.
	if _, _, err := keyfile.LoadDSC(dir); !errors.Is(err, keyfile.ErrInsecurePermissions) {
		t.Errorf("LoadDSC with a 0666 key = %v", err)
	}
	secret := filepath.Join(dir, "uvci.key")
	if err := os.Chmod(secret, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := keyfile.LoadSecret(secret); !errors.Is(err, keyfile.ErrInsecurePermissions) {
		t.Errorf("LoadSecret with mode 0644 = %v", err)
	}
}

func TestLoadSignerFormats(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	sec1, _ := x509.MarshalECPrivateKey(ec)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: testkit.NewPKI(t).DSC.Cert.Raw})

	tests := []struct {
		name    string
		data    []byte
		pub     crypto.PublicKey // want signer.Public() equal to it
		wantErr error
	}{
		{name: "PKCS#8 EC", data: pkcs8(ec), pub: ec.Public()},
		{name: "PKCS#8 RSA", data: pkcs8(rk), pub: rk.Public()},
		{name: "PKCS#8 Ed25519", data: pkcs8(ed), pub: ed.Public()},
		{name: "SEC1 EC", data: ecPEM, pub: ec.Public()},
		{name: "PKCS#1 RSA", data: rsaPEM, pub: rk.Public()},
		{name: "surrounding whitespace", data: append(append([]byte("\n\n"), pkcs8(ec)...), "\n  \n"...), pub: ec.Public()},

		{name: "empty", data: nil, wantErr: keyfile.ErrKey},
		{name: "garbage", data: []byte("not a key"), wantErr: keyfile.ErrKey},
		{name: "text before", data: append([]byte("comment\n"), pkcs8(ec)...), wantErr: keyfile.ErrKey},
		{name: "two keys", data: append(pkcs8(ec), pkcs8(ec)...), wantErr: keyfile.ErrKey},
		{name: "certificate", data: certPEM, wantErr: keyfile.ErrKey},
		{name: "encrypted PKCS#8", data: pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0}}), wantErr: keyfile.ErrKey},
		{name: "legacy encrypted", data: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: sec1}), wantErr: keyfile.ErrKey},
		{name: "PKCS#8 X25519 cannot sign", data: pkcs8(x), wantErr: keyfile.ErrKey},
		{name: "bad DER", data: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), wantErr: keyfile.ErrKey},
		{name: "too large", data: bytes.Repeat([]byte("\n"), limits.MaxKeyFile+1), wantErr: keyfile.ErrTooLarge},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "k.key")
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			signer, err := keyfile.LoadSigner(path)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || signer != nil {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.pub) {
				t.Error("loaded a different key")
			}
		})
	}
	if _, err := keyfile.LoadSigner(dir); !errors.Is(err, keyfile.ErrNotRegular) {
		t.Errorf("LoadSigner(directory) = %v, want ErrNotRegular", err)
	}
	if _, err := keyfile.LoadSigner(filepath.Join(dir, "missing.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadSigner(missing) = %v, want fs.ErrNotExist", err)
	}
}

func TestLoadDSCErrors(t *testing.T) {
	t.Run("key of another DSC", func(t *testing.T) {
		dir, _ := writePKI(t)
		other, _ := writePKI(t)
		if err := os.WriteFile(filepath.Join(dir, "dsc.key"), readFile(t, filepath.Join(other, "dsc.key")), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := keyfile.LoadDSC(dir); !errors.Is(err, issuing.ErrKeyMismatch) {
			t.Fatalf("err = %v, want ErrKeyMismatch", err)
		}
	})
	t.Run("two certificates", func(t *testing.T) {
		dir, _ := writePKI(t)
		path := filepath.Join(dir, "dsc.pem")
		data := readFile(t, path)
		if err := os.WriteFile(path, append(data, data...), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := keyfile.LoadDSC(dir); !errors.Is(err, keyfile.ErrCertificateCount) {
			t.Fatalf("err = %v, want ErrCertificateCount", err)
		}
	})
	t.Run("CSCA key and certificate as DSC", func(t *testing.T) {
		dir, _ := writePKI(t)
		for _, f := range [][2]string{{"csca.pem", "dsc.pem"}, {"csca.key", "dsc.key"}} {
			if err := os.Rename(filepath.Join(dir, f[0]), filepath.Join(dir, f[1])); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := keyfile.LoadDSC(dir); !errors.Is(err, issuing.ErrNotSigner) {
			t.Fatalf("err = %v, want ErrNotSigner", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, _, err := keyfile.LoadDSC(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("err = %v, want fs.ErrNotExist", err)
		}
	})
}

func TestReadTrustDir(t *testing.T) {
	a, b, c, d := testkit.NewPKI(t), testkit.NewPKI(t), testkit.NewPKI(t), testkit.NewPKI(t)
	pemOf := func(der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}) }
	dir := t.TempDir()
	files := map[string][]byte{
		"a.PEM":       append(pemOf(a.DSC.Cert.Raw), pemOf(a.CSCA.Cert.Raw)...), // CSCA left out
		"b.crt":       b.DSC.Cert.Raw,
		"c.cer":       []byte(base64.StdEncoding.EncodeToString(c.DSC.Cert.Raw)),
		"d.der":       d.DSC.Cert.Raw,
		"e.pem":       pemOf(b.DSC.Cert.Raw), // duplicate, kept: TrustList dedupes
		"z.key":       pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not read")}),
		"notes.txt":   []byte("garbage"),
		".hidden.pem": []byte("garbage"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.pem"), 0o700); err != nil {
		t.Fatal(err)
	}
	certs, err := keyfile.ReadTrustDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{a.DSC.Cert.Raw, b.DSC.Cert.Raw, c.DSC.Cert.Raw, d.DSC.Cert.Raw, b.DSC.Cert.Raw}
	if len(certs) != len(want) {
		t.Fatalf("got %d certificates, want %d", len(certs), len(want))
	}
	for i := range want {
		if !bytes.Equal(certs[i].Raw, want[i]) {
			t.Errorf("certificate %d differs", i)
		}
	}

	t.Run("empty", func(t *testing.T) {
		if _, err := keyfile.ReadTrustDir(t.TempDir()); !errors.Is(err, keys.ErrNoCertificate) {
			t.Fatalf("err = %v, want ErrNoCertificate", err)
		}
	})
	t.Run("CSCA only", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "csca.pem"), pemOf(a.CSCA.Cert.Raw), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := keyfile.ReadTrustDir(dir); !errors.Is(err, keys.ErrNoCertificate) {
			t.Fatalf("err = %v, want ErrNoCertificate", err)
		}
	})
	t.Run("private key in a pem file", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "oops.pem"), files["z.key"], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := keyfile.ReadTrustDir(dir); !errors.Is(err, keys.ErrPEMBlockType) {
			t.Fatalf("err = %v, want ErrPEMBlockType", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, err := keyfile.ReadTrustDir(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("err = %v, want fs.ErrNotExist", err)
		}
	})
}

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.key")
	secret := bytes.Repeat([]byte{0xA5}, keyfile.SecretSize)
	if err := keyfile.WriteSecret(path, secret); err != nil {
		t.Fatal(err)
	}
	if got := string(readFile(t, path)); got != base64.StdEncoding.EncodeToString(secret)+"\n" {
		t.Errorf("file = %q", got)
	}
	got, err := keyfile.LoadSecret(path)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("LoadSecret = %x, %v", got, err)
	}
	if err := keyfile.WriteSecret(path, secret); !errors.Is(err, keyfile.ErrExists) {
		t.Errorf("WriteSecret over a file = %v, want ErrExists", err)
	}
	if err := keyfile.WriteSecret(filepath.Join(dir, "short"), secret[:31]); !errors.Is(err, keyfile.ErrSecret) {
		t.Errorf("WriteSecret(31 bytes) = %v, want ErrSecret", err)
	}
	for name, content := range map[string]string{
		"short":     base64.StdEncoding.EncodeToString(secret[:31]),
		"long":      base64.StdEncoding.EncodeToString(append(secret, 1)),
		"not b64":   "!!!!",
		"raw bytes": string(secret),
		"empty":     "",
	} {
		p := filepath.Join(dir, "bad")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := keyfile.LoadSecret(p); !errors.Is(err, keyfile.ErrSecret) {
			t.Errorf("%s: LoadSecret = %v, want ErrSecret", name, err)
		}
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"bad", "s.key"}) {
		t.Errorf("files = %v (temporary files left?)", got)
	}
}
