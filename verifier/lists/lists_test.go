package lists_test

import (
	"bytes"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/cert"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/vaxcert/vaxcert/internal/listsign"
	"github.com/vaxcert/vaxcert/internal/testkit"
	"github.com/vaxcert/vaxcert/keys"
	"github.com/vaxcert/vaxcert/keys/issuing"
	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier/lists"
)

var now = testkit.Now

// kit is a CSCA, a DSC and a list signer.
type kit struct {
	pki    *testkit.PKI
	signer *listsign.Signer
}

func newKit(tb testing.TB, opts ...testkit.Option) *kit {
	tb.Helper()
	pki := testkit.NewPKI(tb, opts...)
	ls, err := listsign.IssueSigner(pki.CSCA, now.AddDate(0, 0, -30))
	if err != nil {
		tb.Fatal(err)
	}
	s, err := listsign.NewSigner(ls.Signer(), ls.Cert, pki.CSCA.Cert)
	if err != nil {
		tb.Fatal(err)
	}
	return &kit{pki: pki, signer: s}
}

func claims(seq uint64, iat time.Time) lists.Claims {
	return lists.Claims{Issuer: "VN", Sequence: seq, IssuedAt: iat.Unix(), ExpiresAt: iat.Add(48 * time.Hour).Unix()}
}

func (k *kit) trustList(tb testing.TB, seq uint64, iat time.Time, dscs ...listsign.DSC) []byte {
	tb.Helper()
	if dscs == nil {
		dscs = []listsign.DSC{{Cert: k.pki.DSC.Cert}}
	}
	b, err := k.signer.TrustList(claims(seq, iat), dscs)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func (k *kit) revocations(tb testing.TB, seq, since uint64, iat time.Time, rs ...listsign.Revoked) []byte {
	tb.Helper()
	b, err := k.signer.RevocationList(claims(seq, iat), since, rs)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func wantReason(t *testing.T, err error, sentinel error, reason lists.Reason) {
	t.Helper()
	var e *lists.Error
	if !errors.As(err, &e) || e.Reason != reason || !errors.Is(err, sentinel) {
		t.Fatalf("err = %v, want reason %s", err, reason)
	}
}

func TestTrustListRoundTrip(t *testing.T) {
	k := newKit(t)
	l, err := lists.ParseTrustList(k.trustList(t, 3, now), k.pki.CSCA.Cert, now)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 1 || l.Signed.Sequence != 3 || l.Signed.Issuer != "VN" || !l.Signed.IssuedAt.Equal(now) {
		t.Fatalf("got %d keys, seq %d, issuer %q, iat %v", l.Len(), l.Signed.Sequence, l.Signed.Issuer, l.Signed.IssuedAt)
	}
	es := l.Lookup(k.pki.DSC.KID())
	if len(es) != 1 || !es[0].Cert.Equal(k.pki.DSC.Cert) || es[0].Usage != keys.UsageAll {
		t.Fatalf("Lookup = %v", es)
	}
}

func TestTrustListCertTypesNarrowUsage(t *testing.T) {
	k := newKit(t)
	data := k.trustList(t, 1, now, listsign.DSC{Cert: k.pki.DSC.Cert, Types: []schemas.CertType{schemas.TypeTest}})
	l, err := lists.ParseTrustList(data, k.pki.CSCA.Cert, now)
	if err != nil {
		t.Fatal(err)
	}
	e := l.Lookup(k.pki.DSC.KID())[0]
	if e.Permits(schemas.TypeVaccination) || !e.Permits(schemas.TypeTest) {
		t.Fatalf("usage %v, want test only", e.Usage)
	}
}

func TestTrustListPS256(t *testing.T) {
	csca, err := issuing.NewCSCA(issuing.CSCAOptions{Country: "VN", Algorithm: keys.AlgPS256, NotBefore: now.AddDate(-1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := listsign.IssueSigner(csca, now.AddDate(0, 0, -1))
	if err != nil {
		t.Fatal(err)
	}
	s, err := listsign.NewSigner(ls.Signer(), ls.Cert, csca.Cert)
	if err != nil {
		t.Fatal(err)
	}
	dsc, err := csca.IssueDSC(issuing.DSCOptions{Algorithm: keys.AlgPS256, NotBefore: now.AddDate(0, 0, -1)})
	if err != nil {
		t.Fatal(err)
	}
	data, err := s.TrustList(claims(1, now), []listsign.DSC{{Cert: dsc.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lists.ParseTrustList(data, csca.Cert, now); err != nil {
		t.Fatal(err)
	}
}

// tamper changes one byte of the payload part of a compact JWS.
func tamper(data []byte) []byte {
	parts := bytes.Split(data, []byte{'.'})
	p, _ := base64.RawURLEncoding.DecodeString(string(parts[1]))
	p = bytes.Replace(p, []byte(`"sequence":3`), []byte(`"sequence":9`), 1)
	parts[1] = []byte(base64.RawURLEncoding.EncodeToString(p))
	return bytes.Join(parts, []byte{'.'})
}

func TestOpenRefusals(t *testing.T) {
	k := newKit(t)
	other := newKit(t)
	good := k.trustList(t, 3, now)
	dscSigned := func() []byte { // a DSC (no list-signing EKU) signs a list
		if _, err := listsign.NewSigner(k.pki.DSC.Signer(), k.pki.DSC.Cert, k.pki.CSCA.Cert); err == nil {
			t.Fatal("NewSigner accepted a DSC")
		}
		parts := bytes.Split(good, []byte{'.'})
		payload, _ := base64.RawURLEncoding.DecodeString(string(parts[1]))
		var chain cert.Chain
		for _, c := range []*x509.Certificate{k.pki.DSC.Cert, k.pki.CSCA.Cert} {
			_ = chain.AddString(base64.StdEncoding.EncodeToString(c.Raw))
		}
		hdr := jws.NewHeaders()
		_ = hdr.Set(jws.X509CertChainKey, &chain)
		out, err := jws.Sign(payload, jws.WithKey(jwa.ES256, k.pki.DSC.Signer(), jws.WithProtectedHeaders(hdr)))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	tests := []struct {
		name     string
		data     []byte
		at       time.Time
		kind     lists.Kind
		sentinel error
		reason   lists.Reason
	}{
		{"tampered", tamper(good), now, lists.KindTrustList, lists.ErrBadSig, lists.ReasonBadSig},
		{"wrong root", other.trustList(t, 3, now), now, lists.KindTrustList, lists.ErrWrongRoot, lists.ReasonWrongRoot},
		{"foreign signer", dscSigned(), now, lists.KindTrustList, lists.ErrWrongRoot, lists.ReasonWrongRoot},
		{"frozen (expired)", good, now.Add(48 * time.Hour), lists.KindTrustList, lists.ErrExpired, lists.ReasonExpired},
		{"from the future", good, now.Add(-time.Hour), lists.KindTrustList, lists.ErrNotYetValid, lists.ReasonNotYetValid},
		{"wrong kind", good, now, lists.KindRevocations, lists.ErrWrongKind, lists.ReasonWrongKind},
		{"not a JWS", []byte("a.b"), now, lists.KindTrustList, lists.ErrMalformed, lists.ReasonMalformed},
		{"too large", bytes.Repeat([]byte("a"), 9<<20), now, lists.KindTrustList, lists.ErrTooLarge, lists.ReasonTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := lists.Open(tc.data, k.pki.CSCA.Cert, tc.kind, tc.at, 0)
			wantReason(t, err, tc.sentinel, tc.reason)
		})
	}
}

func TestOpenRefusesAlgNoneAndUnknownHeader(t *testing.T) {
	k := newKit(t)
	parts := bytes.Split(k.trustList(t, 1, now), []byte{'.'})
	hdr, _ := base64.RawURLEncoding.DecodeString(string(parts[0]))
	for _, h := range []string{
		strings.Replace(string(hdr), `"ES256"`, `"none"`, 1),
		strings.Replace(string(hdr), `"ES256"`, `"PS256"`, 1),
		strings.Replace(string(hdr), `{`, `{"crit":["exp"],`, 1),
		strings.Replace(string(hdr), `{`, `{"jku":"https://evil.example/keys",`, 1),
	} {
		parts[0] = []byte(base64.RawURLEncoding.EncodeToString([]byte(h)))
		_, err := lists.Open(bytes.Join(parts, []byte{'.'}), k.pki.CSCA.Cert, lists.KindTrustList, now, 0)
		if err == nil {
			t.Fatalf("header %s accepted", h)
		}
	}
}

func TestStateRollbackAndMixing(t *testing.T) {
	k := newKit(t)
	st, err := lists.NewState(k.pki.CSCA.Cert)
	if err != nil {
		t.Fatal(err)
	}
	st, err = st.WithTrustList(k.trustList(t, 5, now), now)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.WithTrustList(k.trustList(t, 4, now.Add(time.Minute)), now.Add(time.Minute))
	wantReason(t, err, lists.ErrRollback, lists.ReasonRollback)
	_, err = st.WithTrustList(k.trustList(t, 5, now.Add(-time.Minute)), now)
	wantReason(t, err, lists.ErrRollback, lists.ReasonRollback)
	if _, err := st.WithTrustList(k.trustList(t, 5, now.Add(time.Minute)), now.Add(time.Minute)); err != nil {
		t.Fatalf("re-issued list refused: %v", err)
	}

	// A revocation list from another issuer under the same root.
	c := claims(1, now)
	c.Issuer = "XX"
	mixed, err := k.signer.RevocationList(c, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.WithRevocations(mixed, now)
	wantReason(t, err, lists.ErrMixed, lists.ReasonMixed)

	if err := st.Usable(now); err == nil {
		t.Fatal("usable without a revocation list")
	}
	st, err = st.WithRevocations(k.revocations(t, 1, 0, now.Add(-time.Hour)), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Usable(now); err != nil {
		t.Fatal(err)
	}
	if got := st.Age(now.Add(time.Hour)); got != 2*time.Hour {
		t.Fatalf("Age = %v, want 2h (from the older list)", got)
	}
	wantReason(t, st.Usable(now.Add(47*time.Hour)), lists.ErrExpired, lists.ReasonExpired)
}

func hashes(uvci string) lists.Hashes {
	return lists.CertificateHashes("VN", uvci, keys.AlgES256, bytes.Repeat([]byte(uvci[:1]), 64))
}

func TestRevocationsFullDeltaExpiry(t *testing.T) {
	k := newKit(t)
	a, b, c := hashes("A1"), hashes("B2"), hashes("C3")
	soon, later := now.Add(24*time.Hour), now.AddDate(1, 0, 0)
	full := k.revocations(t, 10, 0, now, listsign.Revoked{Hashes: a, Expires: soon}, listsign.Revoked{Hashes: b, Expires: later})
	st, _ := lists.NewState(k.pki.CSCA.Cert)
	st, err := st.WithRevocations(full, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []lists.Hashes{a, b} {
		if _, ok := st.Revocations.Contains(&h); !ok {
			t.Fatal("revoked hash not found")
		}
	}
	if _, ok := st.Revocations.Contains(&c); ok {
		t.Fatal("unrevoked hash found")
	}

	// A delta that skips a sequence is refused; one that follows is merged,
	// and the entry whose certificate expired is purged.
	_, err = st.WithRevocations(k.revocations(t, 12, 11, now.Add(time.Hour), listsign.Revoked{Hashes: c, Expires: later}), now.Add(time.Hour))
	wantReason(t, err, lists.ErrBadDelta, lists.ReasonBadDelta)
	at := now.Add(25 * time.Hour)
	st, err = st.WithRevocations(k.revocations(t, 12, 10, at, listsign.Revoked{Hashes: c, Expires: later}), at)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Revocations.Contains(&c); !ok {
		t.Fatal("delta entry not found")
	}
	if _, ok := st.Revocations.Contains(&a); ok {
		t.Fatal("expired entry not purged")
	}
	if st.Revocations.Len() != 6 || st.Revocations.Signed.Sequence != 12 || st.Revocations.Since != 10 {
		t.Fatalf("Len %d seq %d, want 6 hashes at sequence 12", st.Revocations.Len(), st.Revocations.Signed.Sequence)
	}
	// Rolling back to the full list of sequence 10 is refused.
	_, err = st.WithRevocations(full, at)
	wantReason(t, err, lists.ErrRollback, lists.ReasonRollback)
}

func TestContainsByEachHashType(t *testing.T) {
	k := newKit(t)
	h := hashes("Z9")
	for i, typ := range lists.HashTypes {
		only := lists.Hashes{}
		only[i] = h[i]
		data := k.revocations(t, 1, 0, now, listsign.Revoked{Hashes: only, Expires: now.AddDate(1, 0, 0)})
		r, err := lists.ParseRevocations(data, k.pki.CSCA.Cert, now)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := r.Contains(&h); !ok || got != typ {
			t.Fatalf("listed by %s: Contains = %s, %v", typ, got, ok)
		}
	}
}

func TestSignatureHashIgnoresS(t *testing.T) {
	// ECDSA (r, s) and (r, n−s) both verify: the SIGNATURE hash must be
	// the same for both.
	n := elliptic.P256().Params().N
	r, s := big.NewInt(12345), big.NewInt(67890)
	enc := func(r, s *big.Int) []byte {
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
	h1 := lists.CertificateHashes("VN", "U", keys.AlgES256, enc(r, s))
	h2 := lists.CertificateHashes("VN", "U", keys.AlgES256, enc(r, new(big.Int).Sub(n, s)))
	if h1[2] != h2[2] {
		t.Fatal("SIGNATURE hash depends on s")
	}
	want := sha256.Sum256([]byte("VNU"))
	if !bytes.Equal(h1[1][:], want[:16]) {
		t.Fatal("COUNTRYCODEUCI is not SHA-256(iss ‖ UVCI) truncated to 16 bytes")
	}
}

func TestGateway(t *testing.T) {
	k := newKit(t)
	data, err := lists.MarshalGateway([]*x509.Certificate{k.pki.DSC.Cert})
	if err != nil {
		t.Fatal(err)
	}
	l, err := lists.ParseGateway(data)
	if err != nil {
		t.Fatal(err)
	}
	if es := l.Lookup(k.pki.DSC.KID()); len(es) != 1 || es[0].Country != "VN" {
		t.Fatalf("Lookup = %v", es)
	}
	bad := bytes.Replace(data, []byte(`"country": "VN"`), []byte(`"country": "DE"`), 1)
	_, err = lists.ParseGateway(bad)
	wantReason(t, err, lists.ErrMalformed, lists.ReasonMalformed)
	bad = bytes.Replace(data, []byte(`"kid": "`), []byte(`"kid": "AA`), 1)
	_, err = lists.ParseGateway(bad)
	wantReason(t, err, lists.ErrMalformed, lists.ReasonMalformed)
}

// TestRevocationsChunks: batches longer than one decoding chunk (255
// hashes), of every length around the boundary, are read whole.
func TestRevocationsChunks(t *testing.T) {
	k := newKit(t)
	for _, n := range []int{254, 255, 256, 511, 1000} {
		rs := make([]listsign.Revoked, n)
		for i := range rs {
			u := fmt.Sprintf("U%d", i)
			sig := sha256.Sum256([]byte(u))
			rs[i] = listsign.Revoked{Hashes: lists.CertificateHashes("VN", u, keys.AlgPS256, sig[:]), Expires: now.AddDate(1, 0, 0)}
		}
		r, err := lists.ParseRevocations(k.revocations(t, 1, 0, now, rs...), k.pki.CSCA.Cert, now)
		if err != nil {
			t.Fatal(err)
		}
		if r.Len() != 3*n {
			t.Fatalf("%d certificates: %d hashes", n, r.Len())
		}
		for i := range rs {
			if _, ok := r.Contains(&rs[i].Hashes); !ok {
				t.Fatalf("%d certificates: #%d not found", n, i)
			}
		}
	}
}
