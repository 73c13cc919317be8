package issuing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/vaxcert/vaxcert/keys"
)

// Default validities, from the EU certificate governance (§3.2).
const (
	DefaultCSCAValidity = 4 * 365 * 24 * time.Hour
	DefaultDSCValidity  = 2 * 365 * 24 * time.Hour
)

// maxCommonName is the X.520 upper bound of a common name.
const maxCommonName = 64

// CSCAOptions configures [NewCSCA].
type CSCAOptions struct {
	// Country is the ISO 3166-1 alpha-2 code of the issuing country, for
	// example "VN". Required.
	Country string
	// CommonName is the subject CN; default "<Country> CSCA".
	CommonName string
	// Algorithm selects the key: [keys.AlgES256] (ECDSA P-256, the default) or
	// [keys.AlgPS256] (RSA).
	Algorithm keys.Algorithm
	// RSABits is the RSA modulus size for [keys.AlgPS256]: default and minimum
	// 2048.
	RSABits int
	// NotBefore starts the validity; zero means time.Now(). It is truncated
	// to the second.
	NotBefore time.Time
	// Validity is the lifetime; zero means DefaultCSCAValidity (4 years).
	Validity time.Duration
	// Rand is the source for the serial number and is passed to key
	// generation and signing; nil means crypto/rand.Reader. Since Go 1.26
	// the crypto packages ignore a custom reader for keys and signatures
	// (see GODEBUG cryptocustomrand); for reproducible keys in tests use
	// testing/cryptotest.SetGlobalRandom.
	Rand io.Reader
}

// DSCOptions configures [CA.IssueDSC].
type DSCOptions struct {
	// Country is the subject C; default (and the only value allowed) the
	// CSCA's country.
	Country string
	// CommonName is the subject CN; default "<Country> DSC".
	CommonName string
	// Algorithm selects the key: [keys.AlgES256] (ECDSA P-256, the default) or
	// [keys.AlgPS256] (RSA).
	Algorithm keys.Algorithm
	// RSABits is the RSA modulus size for [keys.AlgPS256]: default and minimum
	// 2048.
	RSABits int
	// Usage is the set of DCC types the DSC may sign, written as the
	// current EKU OIDs; zero means [keys.UsageAll].
	Usage keys.Usage
	// EKUs, when not empty, are written verbatim instead of the OIDs of a
	// Usage: legacy or foreign OIDs, for interoperability tests. It
	// excludes Usage.
	EKUs []asn1.ObjectIdentifier
	// OmitEKU leaves out the EKU extension, so the DSC may sign any type.
	// It excludes Usage and EKUs.
	OmitEKU bool
	// NotBefore starts the validity; zero means time.Now(). It is truncated
	// to the second.
	NotBefore time.Time
	// Validity is the lifetime; zero means DefaultDSCValidity (2 years). The
	// DSC's validity must lie inside the CSCA's.
	Validity time.Duration
	// Rand is as in CSCAOptions.
	Rand io.Reader
}

// CA is a Country Signing CA: its certificate and its private key, held as a
// [crypto.Signer]. It is safe for concurrent use if its signer is.
type CA struct {
	// Cert is the self-signed CSCA certificate.
	Cert   *x509.Certificate
	signer crypto.Signer
}

// DSC is a Document Signer Certificate and its private key, held as a
// [crypto.Signer]. The issuer signs DCCs through [DSC.Signer] with the
// algorithm [keys.AlgorithmFor] gives for Cert.PublicKey, and puts [DSC.KID] in
// the COSE protected header.
type DSC struct {
	// Cert is the DSC certificate, signed by a CSCA.
	Cert   *x509.Certificate
	signer crypto.Signer
}

// NewCA pairs a CSCA certificate with its private key, for example one loaded
// from a file or an HSM. It fails with [ErrNotCA] if cert is not a CA with
// the keyCertSign usage, and with [ErrKeyMismatch] if signer does not hold
// the certificate's key.
func NewCA(cert *x509.Certificate, signer crypto.Signer) (*CA, error) {
	if cert == nil || !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, ErrNotCA
	}
	if err := checkPair(cert, signer); err != nil {
		return nil, err
	}
	return &CA{Cert: cert, signer: signer}, nil
}

// NewDSC pairs a DSC certificate with its private key. It fails with
// [ErrNotSigner] if cert's KeyUsage excludes digitalSignature, and with
// [ErrKeyMismatch] if signer does not hold the certificate's key.
func NewDSC(cert *x509.Certificate, signer crypto.Signer) (*DSC, error) {
	if cert == nil || !keys.CanSign(cert) {
		return nil, ErrNotSigner
	}
	if err := checkPair(cert, signer); err != nil {
		return nil, err
	}
	return &DSC{Cert: cert, signer: signer}, nil
}

func checkPair(cert *x509.Certificate, signer crypto.Signer) error {
	if signer == nil {
		return ErrKeyMismatch
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return ErrKeyMismatch
	}
	return nil
}

// KID returns the CSCA certificate's key identifier.
func (c *CA) KID() []byte { return keys.KID(c.Cert.Raw) }

// Signer returns the CSCA's private key as a crypto.Signer.
func (c *CA) Signer() crypto.Signer { return c.signer }

// KID returns the DSC's key identifier, the kid of the COSE header.
func (d *DSC) KID() []byte { return keys.KID(d.Cert.Raw) }

// Signer returns the DSC's private key as a crypto.Signer.
func (d *DSC) Signer() crypto.Signer { return d.signer }

// NewCSCA creates a self-signed CSCA: subject C=<Country>, CN=<CommonName>;
// KeyUsage keyCertSign and cRLSign; BasicConstraints CA with pathLen 0; a
// Subject Key Identifier derived from the key (RFC 7093 method 1); a random
// 127-bit serial number.
//
// Reference: https://github.com/ehn-dcc-development/hcert-spec/blob/main/hcert_spec.md, §5 and Annex A.2
func NewCSCA(opts CSCAOptions) (*CA, error) {
	if !isCountryCode(opts.Country) {
		return nil, fmt.Errorf("%w: country must be two letters A-Z", ErrOptions)
	}
	cn := opts.CommonName
	if cn == "" {
		cn = opts.Country + " CSCA"
	}
	notBefore, notAfter, err := validity(opts.NotBefore, opts.Validity, DefaultCSCAValidity)
	if err != nil {
		return nil, err
	}
	r := randOrDefault(opts.Rand)
	signer, err := generateKey(r, opts.Algorithm, opts.RSABits)
	if err != nil {
		return nil, err
	}
	tmpl, err := template(r, signer.Public(), opts.Country, cn, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	tmpl.BasicConstraintsValid = true
	tmpl.IsCA = true
	tmpl.MaxPathLenZero = true
	cert, err := create(r, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, signer: signer}, nil
}

// IssueDSC creates a DSC signed by c: subject C and CN; KeyUsage
// digitalSignature; the EKU OIDs of opts (by default the current OIDs of all
// three types); an Authority Key Identifier equal to the CSCA's SKI, a Subject
// Key Identifier derived from the key and a random 127-bit serial number.
//
// Reference: https://github.com/ehn-dcc-development/hcert-spec/blob/main/hcert_spec.md, §5 and Annex A.4
func (c *CA) IssueDSC(opts DSCOptions) (*DSC, error) {
	country := opts.Country
	if country == "" && len(c.Cert.Subject.Country) > 0 {
		country = c.Cert.Subject.Country[0]
	}
	if !isCountryCode(country) {
		return nil, fmt.Errorf("%w: country must be two letters A-Z", ErrOptions)
	}
	if len(c.Cert.Subject.Country) == 0 || c.Cert.Subject.Country[0] != country {
		return nil, fmt.Errorf("%w: dsc country differs from the csca's", ErrOptions)
	}
	if opts.OmitEKU && (opts.Usage != 0 || len(opts.EKUs) > 0) {
		return nil, fmt.Errorf("%w: OmitEKU excludes Usage and EKUs", ErrOptions)
	}
	if opts.Usage != 0 && len(opts.EKUs) > 0 {
		return nil, fmt.Errorf("%w: Usage and EKUs exclude each other", ErrOptions)
	}
	if opts.Usage&^keys.UsageAll != 0 {
		return nil, fmt.Errorf("%w: unknown usage bits", ErrOptions)
	}
	cn := opts.CommonName
	if cn == "" {
		cn = country + " DSC"
	}
	notBefore, notAfter, err := validity(opts.NotBefore, opts.Validity, DefaultDSCValidity)
	if err != nil {
		return nil, err
	}
	if notBefore.Before(c.Cert.NotBefore) || notAfter.After(c.Cert.NotAfter) {
		return nil, fmt.Errorf("%w: dsc validity exceeds the csca's", ErrOptions)
	}
	r := randOrDefault(opts.Rand)
	signer, err := generateKey(r, opts.Algorithm, opts.RSABits)
	if err != nil {
		return nil, err
	}
	tmpl, err := template(r, signer.Public(), country, cn, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid = true
	switch {
	case opts.OmitEKU:
	case len(opts.EKUs) > 0:
		tmpl.UnknownExtKeyUsage = opts.EKUs
	case opts.Usage != 0:
		tmpl.UnknownExtKeyUsage = opts.Usage.OIDs()
	default:
		tmpl.UnknownExtKeyUsage = keys.UsageAll.OIDs()
	}
	cert, err := create(r, tmpl, c.Cert, signer.Public(), c.signer)
	if err != nil {
		return nil, err
	}
	return &DSC{Cert: cert, signer: signer}, nil
}

func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

func validity(notBefore time.Time, d, def time.Duration) (time.Time, time.Time, error) {
	if notBefore.IsZero() {
		notBefore = time.Now()
	}
	notBefore = notBefore.UTC().Truncate(time.Second)
	if d == 0 {
		d = def
	}
	if d < time.Second {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: validity must be at least one second", ErrOptions)
	}
	return notBefore, notBefore.Add(d), nil
}

func randOrDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

func generateKey(r io.Reader, alg keys.Algorithm, rsaBits int) (crypto.Signer, error) {
	switch alg {
	case keys.AlgES256, keys.AlgNone:
		if rsaBits != 0 {
			return nil, fmt.Errorf("%w: RSABits needs AlgPS256", ErrOptions)
		}
		k, err := ecdsa.GenerateKey(elliptic.P256(), r)
		if err != nil {
			return nil, fmt.Errorf("issuing: failed to generate key: %w", err)
		}
		return k, nil
	case keys.AlgPS256:
		if rsaBits == 0 {
			rsaBits = keys.MinRSABits
		}
		if rsaBits < keys.MinRSABits {
			return nil, fmt.Errorf("%w: RSA keys need at least %d bits", ErrOptions, keys.MinRSABits)
		}
		k, err := rsa.GenerateKey(r, rsaBits)
		if err != nil {
			return nil, fmt.Errorf("issuing: failed to generate key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("%w: unsupported algorithm %v", ErrOptions, alg)
}

// template fills the fields common to CSCAs and DSCs.
func template(r io.Reader, pub crypto.PublicKey, country, cn string, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	if len(cn) > maxCommonName {
		return nil, fmt.Errorf("%w: common name longer than %d bytes", ErrOptions, maxCommonName)
	}
	serial, err := randomSerial(r)
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(pub)
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Country: []string{country}, CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		SubjectKeyId: ski,
	}, nil
}

// randomSerial returns a positive 127-bit serial number (at least 64 bits of
// entropy, as the CA/Browser Forum requires, and at most 20 bytes).
func randomSerial(r io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("issuing: failed to read random serial: %w", err)
	}
	b[0] = b[0]&0x3f | 0x40 // positive, exactly 127 bits
	return new(big.Int).SetBytes(b), nil
}

// subjectKeyID is RFC 7093 method 1: the leftmost 160 bits of the SHA-256
// of the subjectPublicKey BIT STRING value.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("issuing: failed to marshal public key: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("issuing: failed to parse public key: %w", err)
	}
	sum := sha256.Sum256(spki.PublicKey.Bytes)
	return sum[:20], nil
}

func create(r io.Reader, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(r, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("issuing: failed to create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issuing: failed to parse created certificate: %w", err)
	}
	return cert, nil
}
