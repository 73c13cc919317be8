// Package keyfile stores an issuer's key material on disk and reads trust
// certificates from a folder. It is the file edge of package
// [github.com/vaxcert/vaxcert/keys], which does no I/O itself.
//
// A key directory, as [WriteDir] writes it:
//
//	csca.pem   CSCA certificate                      0644
//	csca.key   CSCA private key, PKCS#8 PEM          0600
//	dsc.pem    DSC certificate                       0644
//	dsc.key    DSC private key, PKCS#8 PEM           0600
//	uvci.key   32-byte secret for UVCI derivation    0600
//
// The directory itself is created with mode 0700. The same folder serves as a
// trust folder for [ReadTrustDir], which trusts dsc.pem and skips csca.pem
// and the key files.
//
// # Security considerations
//
// Every file is written atomically: a temporary file in the same directory,
// fsync, then a rename (or a hard link when existing files must not be
// replaced), then an fsync of the directory. Existing keys are never
// overwritten unless [Overwrite] is given, and an existing uvci.key is never
// overwritten.
//
// [LoadSigner] and [LoadSecret] refuse, with a [*PermissionError], a file
// that group or others may access (mode & 0077 != 0), as ssh does. The check
// is skipped on Windows, where Unix permission bits do not apply. Error
// messages name files but never include key material.
//
// Keys held in an HSM or KMS do not go through this package: the issuer takes
// any [crypto.Signer].
package keyfile
