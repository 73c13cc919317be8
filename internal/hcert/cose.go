package hcert

import (
	"fmt"
	"math"

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
// authority on what is well formed. The fast path's result aliases b; the
// other copies. Either way the result keeps the received protected-header
// bytes, so [cose.Sign1Message.Verify] checks
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

// parseSign1Fast reads an untagged COSE_Sign1 in the shape HCERT issuers
// write: [bstr .cbor {? 1: int, ? 4: bstr}, {? 1: int, ? 4: bstr}, bstr,
// bstr], definite lengths, nothing after it. It reports false for anything
// else, leaving the verdict to go-cose. The result aliases b.
func parseSign1Fast(b []byte) (*cose.Sign1Message, bool) {
	if len(b) == 0 || b[0] != headArray4 {
		return nil, false
	}
	p := 1
	protStart := p
	prot, p, ok := readBstr(b, p)
	if !ok {
		return nil, false
	}
	rawProt := b[protStart:p]
	unprotStart := p
	unprot, p, ok := readHeaderMap(b, p)
	if !ok {
		return nil, false
	}
	rawUnprot := b[unprotStart:p]
	payload, p, ok := readBstr(b, p)
	if !ok || len(payload) == 0 {
		return nil, false
	}
	sig, p, ok := readBstr(b, p)
	if !ok || len(sig) == 0 || p != len(b) {
		return nil, false
	}
	var protMap map[any]any
	if len(prot) > 0 {
		m, end, ok := readHeaderMap(prot, 0)
		if !ok || end != len(prot) {
			return nil, false
		}
		protMap = m
	}
	return &cose.Sign1Message{
		Headers: cose.Headers{RawProtected: rawProt, Protected: protMap, RawUnprotected: rawUnprot, Unprotected: unprot},
		Payload: payload, Signature: sig,
	}, true
}

// readArg reads the head at b[p]: major type, argument, and the position
// after the head. Indefinite lengths and reserved values fail.
func readArg(b []byte, p int) (major byte, arg uint64, next int, ok bool) {
	if p >= len(b) {
		return 0, 0, 0, false
	}
	major, info := b[p]>>5, b[p]&0x1f
	switch {
	case info < 24:
		return major, uint64(info), p + 1, true
	case info <= 27:
		n := 1 << (info - 24)
		if p+1+n > len(b) {
			return 0, 0, 0, false
		}
		for _, x := range b[p+1 : p+1+n] {
			arg = arg<<8 | uint64(x)
		}
		// Preferred (shortest) encoding only, as go-cose's decoder does not
		// care but deterministic encoders write it; others go to go-cose.
		if (info == 24 && arg < 24) || (info > 24 && arg < 1<<(8<<(info-25))) {
			return 0, 0, 0, false
		}
		return major, arg, p + 1 + n, true
	}
	return 0, 0, 0, false
}

// readBstr reads a definite-length byte string at b[p].
func readBstr(b []byte, p int) (content []byte, next int, ok bool) {
	major, n, p, ok := readArg(b, p)
	if !ok || major != 2 || n > uint64(len(b)-p) {
		return nil, 0, false
	}
	return b[p : p+int(n)], p + int(n), true
}

// readHeaderMap reads a header map holding at most alg (1, an integer) and
// kid (4, a byte string), each at most once. A nil map means an empty one.
func readHeaderMap(b []byte, p int) (map[any]any, int, bool) {
	major, n, p, ok := readArg(b, p)
	if !ok || major != 5 || n > 2 {
		return nil, 0, false
	}
	var m map[any]any
	for range n {
		if p >= len(b) {
			return nil, 0, false
		}
		label := b[p]
		p++
		if m == nil {
			m = make(map[any]any, 2)
		}
		switch label {
		case 0x01: // alg
			if _, dup := m[cose.HeaderLabelAlgorithm]; dup {
				return nil, 0, false
			}
			var major byte
			var v uint64
			if major, v, p, ok = readArg(b, p); !ok || major > 1 || v > math.MaxInt64 {
				return nil, 0, false
			}
			alg := int64(v)
			if major == 1 {
				alg = -1 - alg
			}
			m[cose.HeaderLabelAlgorithm] = cose.Algorithm(alg)
		case 0x04: // kid
			if _, dup := m[cose.HeaderLabelKeyID]; dup {
				return nil, 0, false
			}
			var kid []byte
			if kid, p, ok = readBstr(b, p); !ok {
				return nil, 0, false
			}
			m[cose.HeaderLabelKeyID] = kid
		default:
			return nil, 0, false
		}
	}
	return m, p, true
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
