package keyfile

import (
	"errors"
	"fmt"
	"io/fs"
)

var (
	// ErrInsecurePermissions is matched by a [*PermissionError].
	ErrInsecurePermissions = errors.New("keyfile: key file is accessible by group or others")
	// ErrExists is returned when a file to be written already exists.
	ErrExists = errors.New("keyfile: file already exists")
	// ErrKey is returned for a private-key file that cannot be used:
	// malformed, encrypted, or of an unsupported type.
	ErrKey = errors.New("keyfile: invalid private key file")
	// ErrSecret is returned for a secret of the wrong size or encoding.
	ErrSecret = errors.New("keyfile: invalid secret")
	// ErrTooLarge is returned for a file over its size limit.
	ErrTooLarge = errors.New("keyfile: file too large")
	// ErrNotRegular is returned when a path is not a regular file.
	ErrNotRegular = errors.New("keyfile: not a regular file")
	// ErrCertificateCount is returned when a certificate file that must
	// hold one certificate holds several.
	ErrCertificateCount = errors.New("keyfile: want exactly one certificate")
)

// PermissionError reports a key or secret file that group or others may
// access. It matches [ErrInsecurePermissions] with errors.Is.
type PermissionError struct {
	Path string      // the file
	Mode fs.FileMode // its permission bits
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("keyfile: %s has mode %04o and is accessible by group or others; run: chmod 600 %s",
		e.Path, uint32(e.Mode.Perm()), e.Path)
}

// Is reports whether target is ErrInsecurePermissions.
func (e *PermissionError) Is(target error) bool { return target == ErrInsecurePermissions }
