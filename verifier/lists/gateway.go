package lists

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/vaxcert/vaxcert/internal/limits"
	"github.com/vaxcert/vaxcert/keys"
)

// GatewayEntry is one element of an EU-gateway-style trust list file (the
// DGCG /trustList shape). Thumbprint, signature and timestamp are accepted
// and not used: the file is trusted as a whole by whoever installs it, as
// a folder of DSC certificates is.
type GatewayEntry struct {
	KID             string `json:"kid"`
	Country         string `json:"country"`
	CertificateType string `json:"certificateType"`
	RawData         string `json:"rawData"`
	Thumbprint      string `json:"thumbprint,omitempty"`
	Signature       string `json:"signature,omitempty"`
	Timestamp       string `json:"timestamp,omitempty"`
}

// ParseGateway reads an EU-gateway-style trust list file: a JSON array of
// {kid, country, certificateType, rawData}. Entries of type "DSC" become
// trust entries; other types (CSCA, UPLOAD, AUTHENTICATION) are skipped.
// Each DSC's kid must be the DCC kid of rawData and its country the
// certificate's subject C; a bad entry refuses the whole file.
func ParseGateway(data []byte) (*TrustList, error) {
	if len(data) > limits.MaxGatewayFile {
		return nil, fail(ReasonTooLarge, fmt.Sprintf("%d bytes, limit %d", len(data), limits.MaxGatewayFile), nil)
	}
	var es []GatewayEntry
	if err := strictJSON(data, &es); err != nil {
		return nil, fail(ReasonMalformed, "gateway trust list", err)
	}
	if len(es) > limits.MaxTrustEntries {
		return nil, fail(ReasonTooLarge, fmt.Sprintf("%d entries, limit %d", len(es), limits.MaxTrustEntries), nil)
	}
	l := &TrustList{byKID: make(map[string][]*keys.TrustEntry, len(es))}
	for i, g := range es {
		if g.CertificateType != "DSC" {
			continue
		}
		e, err := gatewayEntry(&g)
		if err != nil {
			return nil, fail(ReasonMalformed, fmt.Sprintf("entry %d", i), err)
		}
		l.add(e)
	}
	return l, nil
}

func gatewayEntry(g *GatewayEntry) (*keys.TrustEntry, error) {
	cert, err := parseCert(g.RawData, g.KID)
	if err != nil {
		return nil, err
	}
	e, err := keys.NewTrustEntry(cert)
	if err != nil {
		return nil, err
	}
	if e.Country != g.Country {
		return nil, fmt.Errorf("country %q is not the certificate's (%q)", g.Country, e.Country)
	}
	return e, nil
}

// MarshalGateway writes DSCs as an EU-gateway-style trust list file.
func MarshalGateway(certs []*x509.Certificate) ([]byte, error) {
	out := make([]GatewayEntry, 0, len(certs))
	for _, c := range certs {
		e := GatewayEntry{KID: keys.KIDString(keys.KID(c.Raw)), CertificateType: "DSC",
			RawData: base64.StdEncoding.EncodeToString(c.Raw)}
		if len(c.Subject.Country) > 0 {
			e.Country = c.Subject.Country[0]
		}
		out = append(out, e)
	}
	return json.MarshalIndent(out, "", "  ")
}
