package keys

import (
	"crypto/x509"
	"encoding/asn1"
	"strings"

	"github.com/vaxcert/vaxcert/schemas"
)

// Usage is a set of DCC types a DSC may sign, as named by its Extended Key
// Usage OIDs. The zero value permits nothing.
type Usage uint8

// The DCC types, one bit each.
const (
	UsageTest Usage = 1 << iota
	UsageVaccination
	UsageRecovery

	// UsageAll permits every type.
	UsageAll = UsageTest | UsageVaccination | UsageRecovery
)

// EKU OID arcs: current (spec v1.0.6+) 1.3.6.1.4.1.1847.2021.1.{1,2,3} and
// legacy (spec <= v1.0.5) 1.3.6.1.4.1.0.1847.2021.1.{1,2,3}, where the last
// arc is 1 test, 2 vaccination, 3 recovery.
var (
	oidCurrentPrefix = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 1847, 2021, 1}
	oidLegacyPrefix  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1}
)

// usageBits lists the single-type bits in OID order (last arc 1, 2, 3).
var usageBits = [...]Usage{UsageTest, UsageVaccination, UsageRecovery}

// OIDs returns the current EKU OIDs of the types in u, in the order test,
// vaccination, recovery. The result is a fresh slice.
//
// Reference: https://github.com/ehn-dcc-development/hcert-spec/blob/main/hcert_spec.md, Annex A.4
func (u Usage) OIDs() []asn1.ObjectIdentifier { return u.oids(oidCurrentPrefix) }

// LegacyOIDs returns the legacy EKU OIDs (1.3.6.1.4.1.0.1847.2021.1.x, spec
// v1.0.5 and earlier, still widely deployed) of the types in u. Verifiers
// accept both forms; issuers should write [Usage.OIDs].
func (u Usage) LegacyOIDs() []asn1.ObjectIdentifier { return u.oids(oidLegacyPrefix) }

func (u Usage) oids(prefix asn1.ObjectIdentifier) []asn1.ObjectIdentifier {
	var out []asn1.ObjectIdentifier
	for i, bit := range usageBits {
		if u&bit != 0 {
			oid := make(asn1.ObjectIdentifier, len(prefix), len(prefix)+1)
			copy(oid, prefix)
			out = append(out, append(oid, i+1))
		}
	}
	return out
}

// Permits reports whether u includes the type t. TypeUnknown is never
// permitted.
func (u Usage) Permits(t schemas.CertType) bool {
	switch t {
	case schemas.TypeTest:
		return u&UsageTest != 0
	case schemas.TypeVaccination:
		return u&UsageVaccination != 0
	case schemas.TypeRecovery:
		return u&UsageRecovery != 0
	}
	return false
}

// String returns the types in u joined by "|", for example
// "test|vaccination", or "none".
func (u Usage) String() string {
	var names []string
	for i, bit := range usageBits {
		if u&bit != 0 {
			names = append(names, [...]string{"test", "vaccination", "recovery"}[i])
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "|")
}

// certUsage applies the key-usage rule (see the package documentation) to
// cert: without EKU OIDs every type; otherwise only the types whose current or
// legacy OID is present.
func certUsage(cert *x509.Certificate) Usage {
	if len(cert.ExtKeyUsage) == 0 && len(cert.UnknownExtKeyUsage) == 0 {
		return UsageAll
	}
	var u Usage
	for _, oid := range cert.UnknownExtKeyUsage {
		u |= usageOfOID(oid)
	}
	return u
}

// usageOfOID maps one current or legacy DCC OID to its bit, anything else to 0.
func usageOfOID(oid asn1.ObjectIdentifier) Usage {
	for _, prefix := range []asn1.ObjectIdentifier{oidCurrentPrefix, oidLegacyPrefix} {
		if len(oid) == len(prefix)+1 && oid[:len(prefix)].Equal(prefix) {
			if last := oid[len(prefix)]; last >= 1 && last <= len(usageBits) {
				return usageBits[last-1]
			}
		}
	}
	return 0
}
