package hcert

import (
	"fmt"

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
// the CWT tag 61. Header and structure checks are go-cose's (duplicate
// labels, header types, trailing bytes); the signature is not checked here.
// Errors match [ErrCOSE].
//
// Reference: RFC 9052 §4.2; RFC 8392 §6 (tag 61); HCERT.md §2.
func ParseSign1(b []byte) (*cose.Sign1Message, error) {
	if len(b) >= tag61Length && b[0] == headTag61a && b[1] == headTag61b {
		b = b[tag61Length:]
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrCOSE)
	}
	msg := new(cose.Sign1Message)
	switch b[0] {
	case headTag18:
		if err := msg.UnmarshalCBOR(b); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCOSE, err)
		}
	case headArray4:
		if err := (*cose.UntaggedSign1Message)(msg).UnmarshalCBOR(b); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCOSE, err)
		}
	default:
		return nil, fmt.Errorf("%w: not a COSE_Sign1 structure", ErrCOSE)
	}
	if len(msg.Payload) == 0 {
		return nil, fmt.Errorf("%w: detached or empty payload", ErrCOSE)
	}
	return msg, nil
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
