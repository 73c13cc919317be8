package hcert

import (
	"fmt"
	"math"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"
)

// CBOR heads of the accepted COSE envelopes.
const (
	headTag18   = 0xd2 // tag 18, COSE_Sign1_Tagged
	headArray4  = 0x84 // untagged COSE_Sign1 (array of 4)
	headTag61a  = 0xd8 // tag 61 (CWT) is encoded as d8 3d
	headTag61b  = 0x3d
	tag61Length = 2
)

// ParseSign1 parses a COSE_Sign1 message in any of the forms verifiers must
// accept: tagged with 18 (the form issuers write), untagged, or wrapped in
// the CWT tag 61. The signature is not checked here. Errors match
// [ErrCOSE].
//
// Messages in the shape HCERT issuers write (header parameters alg and kid
// only) are decoded in one strict pass, a few times faster than the
// general parser; anything else goes to go-cose's own parser, which is the
// authority on what is well formed. Either way the result keeps the
// received protected-header bytes, so [cose.Sign1Message.Verify] checks
// exactly what was signed. The crit parameter (2) is refused: vaxcert
// implements no critical header parameters (RFC 9052 §3.1). A differential
// fuzz test holds the fast path to go-cose's parser.
//
// Reference: RFC 9052 §4.2; RFC 8392 §6 (tag 61); HCERT.md §2.
func ParseSign1(b []byte) (*cose.Sign1Message, error) {
	if len(b) >= tag61Length && b[0] == headTag61a && b[1] == headTag61b {
		b = b[tag61Length:]
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrCOSE)
	}
	untagged := b
	switch b[0] {
	case headTag18:
		untagged = b[1:]
	case headArray4:
	default:
		return nil, fmt.Errorf("%w: not a COSE_Sign1 structure", ErrCOSE)
	}
	msg, ok := parseSign1Fast(untagged)
	if !ok {
		msg = new(cose.Sign1Message)
		var err error
		if b[0] == headTag18 {
			err = msg.UnmarshalCBOR(b)
		} else {
			err = (*cose.UntaggedSign1Message)(msg).UnmarshalCBOR(b)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCOSE, err)
		}
	}
	if len(msg.Payload) == 0 {
		return nil, fmt.Errorf("%w: detached or empty payload", ErrCOSE)
	}
	_, critP := msg.Headers.Protected[cose.HeaderLabelCritical]
	_, critU := msg.Headers.Unprotected[cose.HeaderLabelCritical]
	if critP || critU {
		return nil, fmt.Errorf("%w: critical header parameters are not supported", ErrCOSE)
	}
	return msg, nil
}

// sign1Wire is COSE_Sign1 = [protected: bstr, unprotected: map,
// payload: bstr / nil, signature: bstr].
type sign1Wire struct {
	_           struct{} `cbor:",toarray"`
	Protected   cbor.RawMessage
	Unprotected cbor.RawMessage
	Payload     []byte
	Signature   []byte
}

// headerWire holds the header parameters HCERT uses.
type headerWire struct {
	Alg *coseInt `cbor:"1,keyasint,omitempty"`
	KID []byte   `cbor:"4,keyasint,omitempty"`
}

// parseSign1Fast decodes an untagged COSE_Sign1 whose headers hold only
// alg (an integer) and kid (a byte string). It reports false for anything
// else, leaving the verdict to go-cose.
func parseSign1Fast(b []byte) (*cose.Sign1Message, bool) {
	var w sign1Wire
	if len(b) == 0 || b[0] != headArray4 || decModeCOSE.Unmarshal(b, &w) != nil ||
		len(w.Payload) == 0 || len(w.Signature) == 0 {
		return nil, false
	}
	var prot, unprot headerWire
	pm, ok := bstrContent(w.Protected)
	if !ok {
		return nil, false
	}
	if len(pm) > 0 && !prot.decode(pm) {
		return nil, false
	}
	if !(len(w.Unprotected) == 1 && w.Unprotected[0] == 0xa0) && !unprot.decode(w.Unprotected) {
		return nil, false
	}
	msg := &cose.Sign1Message{
		Headers: cose.Headers{
			RawProtected:   w.Protected,
			Protected:      cose.ProtectedHeader(prot.toMap()),
			RawUnprotected: w.Unprotected,
			Unprotected:    cose.UnprotectedHeader(unprot.toMap()),
		},
		Payload:   w.Payload,
		Signature: w.Signature,
	}
	return msg, true
}

// coseInt is a COSE integer label value: CBOR major type 0 or 1 only.
type coseInt int64

// UnmarshalCBOR implements cbor.Unmarshaler.
func (v *coseInt) UnmarshalCBOR(b []byte) error {
	major, _, arg, ok := head(b)
	if !ok || major > 1 || arg > math.MaxInt64 {
		return fmt.Errorf("%w: not an integer", ErrCOSE)
	}
	*v = coseInt(arg)
	if major == 1 {
		*v = coseInt(-1 - int64(arg))
	}
	return nil
}

// bstrContent returns the content of a definite-length CBOR byte string
// that was already checked well formed by the decoder.
func bstrContent(b []byte) ([]byte, bool) {
	if len(b) == 0 || b[0]>>5 != 2 {
		return nil, false
	}
	info := b[0] & 0x1f
	switch {
	case info < 24:
		return b[1:], len(b) == 1+int(info)
	case info == 24 && len(b) >= 2:
		return b[2:], len(b) == 2+int(b[1])
	case info == 25 && len(b) >= 3:
		return b[3:], len(b) == 3+(int(b[1])<<8|int(b[2]))
	}
	return nil, false // longer than any protected header vaxcert accepts on this path
}

// decode decodes a header map holding nothing but alg and kid: the number
// of pairs in the map's head must equal the number of fields found.
func (h *headerWire) decode(m []byte) bool {
	if len(m) == 0 || m[0]>>5 != 5 || m[0]&0x1f > 2 { // a map of at most 2 pairs
		return false
	}
	if decModeCOSE.Unmarshal(m, h) != nil {
		return false
	}
	n := 0
	if h.Alg != nil {
		n++
	}
	if h.KID != nil {
		n++
	}
	return n == int(m[0]&0x1f)
}

// toMap returns the decoded parameters as a go-cose header map, nil when
// there are none (go-cose only reads the maps of a parsed message).
func (h *headerWire) toMap() map[any]any {
	if h.Alg == nil && h.KID == nil {
		return nil
	}
	m := make(map[any]any, 2)
	if h.Alg != nil {
		m[cose.HeaderLabelAlgorithm] = cose.Algorithm(*h.Alg)
	}
	if h.KID != nil {
		m[cose.HeaderLabelKeyID] = h.KID
	}
	return m
}

// KID returns the key identifier of msg: the protected kid when present,
// otherwise the unprotected one. It never falls back to the unprotected kid
// when a protected kid is present, even if that one turns out to be wrong.
//
// Reference: hcert_spec.md §3.3.3: "If both options are present, the Key
// Identifier in the protected header MUST be used."
func KID(msg *cose.Sign1Message) []byte {
	if v, ok := msg.Headers.Protected[cose.HeaderLabelKeyID]; ok {
		kid, _ := v.([]byte)
		return kid
	}
	kid, _ := msg.Headers.Unprotected[cose.HeaderLabelKeyID].([]byte)
	return kid
}
