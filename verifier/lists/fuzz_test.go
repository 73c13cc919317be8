package lists_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/internal/listsign"
	"github.com/vaxcert/vaxcert/verifier/lists"
)

// FuzzOpen feeds arbitrary bytes to the list parsers: they must refuse
// with a *lists.Error and never accept anything the pinned root did not
// sign.
func FuzzOpen(f *testing.F) {
	k := newKit(f)
	f.Add(k.trustList(f, 1, now))
	f.Add(k.revocations(f, 2, 0, now, listsign.Revoked{Hashes: hashes("A1"), Expires: now.AddDate(1, 0, 0)}))
	f.Add(tamper(k.trustList(f, 3, now)))
	f.Add([]byte("eyJhbGciOiJFUzI1NiJ9.e30.AAAA"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if l, err := lists.ParseTrustList(data, k.pki.CSCA.Cert, now); err == nil {
			if l.Signed.Issuer != "VN" {
				t.Fatalf("accepted a list from %q", l.Signed.Issuer)
			}
		} else if _, ok := err.(*lists.Error); !ok {
			t.Fatalf("error %T is not *lists.Error", err)
		}
		if _, err := lists.ParseRevocations(data, k.pki.CSCA.Cert, now); err != nil {
			if _, ok := err.(*lists.Error); !ok {
				t.Fatalf("error %T is not *lists.Error", err)
			}
		}
	})
}

// FuzzParseGateway feeds arbitrary bytes to the EU gateway file parser.
func FuzzParseGateway(f *testing.F) {
	f.Add([]byte(`[{"kid":"AAAAAAAAAAA=","country":"VN","certificateType":"DSC","rawData":"AA=="}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := lists.ParseGateway(data); err != nil {
			if _, ok := err.(*lists.Error); !ok {
				t.Fatalf("error %T is not *lists.Error", err)
			}
		}
	})
}

// FuzzRevocationPayload signs arbitrary JSON payloads with the real list
// signer, so the revocation decoder behind the signature check (batches,
// chunked base64, expiries) sees them: it must refuse with a *lists.Error
// or accept, never panic.
func FuzzRevocationPayload(f *testing.F) {
	k := newKit(f)
	f.Add([]byte(`{"kind":"vaxcert-revocation-list","issuer":"VN","sequence":2,"since":0,"iat":1780315200,"exp":1780488000,` +
		`"batches":[{"type":"UCI","expires":1790000000,"hashes":"AAAAAAAAAAAAAAAAAAAAAA=="}]}`))
	f.Add([]byte(`{"kind":"vaxcert-revocation-list","issuer":"VN","sequence":1,"iat":1780315200,"exp":1780488000,"batches":[{"type":"SIGNATURE","expires":1790000000,"hashes":"` +
		strings.Repeat("QUFB", 2000) + `"}]}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		if !json.Valid(payload) {
			return
		}
		data, err := k.signer.Sign(json.RawMessage(payload))
		if err != nil {
			return
		}
		if _, err := lists.ParseRevocations(data, k.pki.CSCA.Cert, now); err != nil {
			if _, ok := err.(*lists.Error); !ok {
				t.Fatalf("error %T is not *lists.Error", err)
			}
		}
	})
}
