package keys

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"

	"github.com/vaxcert/vaxcert/internal/limits"
)

var pemBegin = []byte("-----BEGIN ")

// ParseCertificates parses untrusted certificate text in one of three forms:
//
//   - one or more PEM blocks of type CERTIFICATE, separated by whitespace
//     only (no headers, no other block types, no text around them);
//   - one DER certificate;
//   - one DER certificate as standard base64, with or without padding, with
//     any whitespace (the form of TESTCTX.CERTIFICATE in the EU test vectors
//     and of rawData in the EU gateway trust list).
//
// The input is bounded by limits.MaxTrustList, each certificate's DER by
// limits.MaxCertificate, and the count by limits.MaxTrustEntries. Every error
// wraps [ErrCertificate]; the reason is one of [ErrTooLarge],
// [ErrNoCertificate], [ErrPEMBlockType], [ErrTrailingData] or
// [ErrMalformed].
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	if len(data) > limits.MaxTrustList {
		return nil, ErrTooLarge
	}
	data = bytes.TrimLeft(data, whitespace)
	switch {
	case len(data) == 0:
		return nil, ErrNoCertificate
	case bytes.HasPrefix(data, pemBegin):
		return parsePEM(data)
	case data[0] == 0x30: // DER SEQUENCE; base64 text never starts with '0' here
		c, err := parseDER(data, 0)
		if err != nil {
			return nil, err
		}
		return []*x509.Certificate{c}, nil
	default:
		c, err := parseBase64(data)
		if err != nil {
			return nil, err
		}
		return []*x509.Certificate{c}, nil
	}
}

const whitespace = " \t\r\n"

func parsePEM(rest []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for i := 0; ; i++ {
		rest = bytes.TrimLeft(rest, whitespace)
		if len(rest) == 0 {
			return certs, nil
		}
		// pem.Decode skips any text before a BEGIN line; refuse it instead.
		if !bytes.HasPrefix(rest, pemBegin) {
			return nil, fmt.Errorf("%w after pem block %d", ErrTrailingData, i-1)
		}
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("%w: pem block %d", ErrMalformed, i)
		}
		if block.Type != "CERTIFICATE" {
			// The type is untrusted text: it is not echoed.
			return nil, fmt.Errorf("%w: pem block %d", ErrPEMBlockType, i)
		}
		if len(block.Headers) != 0 {
			return nil, fmt.Errorf("%w: pem block %d has headers", ErrMalformed, i)
		}
		if len(certs) >= limits.MaxTrustEntries {
			return nil, fmt.Errorf("%w: more than %d certificates", ErrTooLarge, limits.MaxTrustEntries)
		}
		c, err := parseDER(block.Bytes, i)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
}

func parseBase64(text []byte) (*x509.Certificate, error) {
	if len(text) > limits.MaxCertificate*2 {
		return nil, ErrTooLarge
	}
	compact := make([]byte, 0, len(text))
	for _, b := range text {
		if bytes.IndexByte([]byte(whitespace), b) < 0 {
			compact = append(compact, b)
		}
	}
	// Accept padded and unpadded text: drop up to two '=' and decode strictly
	// (no stray padding, no non-zero trailing bits).
	for range 2 {
		compact = bytes.TrimSuffix(compact, []byte("="))
	}
	der := make([]byte, base64.RawStdEncoding.DecodedLen(len(compact)))
	n, err := base64.RawStdEncoding.Strict().Decode(der, compact)
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %v", ErrMalformed, err)
	}
	return parseDER(der[:n], 0)
}

// parseDER parses one certificate; index names it in errors.
func parseDER(der []byte, index int) (*x509.Certificate, error) {
	if len(der) > limits.MaxCertificate {
		return nil, fmt.Errorf("%w: certificate %d", ErrTooLarge, index)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate %d: %v", ErrMalformed, index, err)
	}
	return c, nil
}
