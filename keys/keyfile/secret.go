package keyfile

import (
	"bytes"
	"encoding/base64"
	"fmt"
)

// SecretSize is the size of a secret file's value in bytes.
const SecretSize = 32

// WriteSecret writes a 32-byte secret (such as the key the issuer derives
// UVCIs with) to path as one line of standard base64, mode 0600, atomically.
// It never overwrites: an existing file gives [ErrExists]. A secret of
// another size gives [ErrSecret].
func WriteSecret(path string, secret []byte) error {
	if len(secret) != SecretSize {
		return fmt.Errorf("%w: want %d bytes", ErrSecret, SecretSize)
	}
	line := make([]byte, base64.StdEncoding.EncodedLen(SecretSize)+1)
	base64.StdEncoding.Encode(line, secret)
	line[len(line)-1] = '\n'
	defer clear(line)
	return writeAtomic(path, line, keyMode, false)
}

// LoadSecret reads a secret file written by [WriteSecret]. It fails with a
// [*PermissionError] if group or others may access the file (not checked on
// Windows), and with [ErrSecret] unless the file holds exactly 32 bytes in
// standard base64.
func LoadSecret(path string) ([]byte, error) {
	data, err := readPrivate(path)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	text := bytes.TrimSpace(data)
	secret := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Strict().Decode(secret, text)
	if err != nil || n != SecretSize {
		clear(secret)
		return nil, fmt.Errorf("%w: %s: want %d bytes in base64", ErrSecret, path, SecretSize)
	}
	return secret[:n], nil
}
