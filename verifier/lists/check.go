package lists

import (
	"github.com/vaxcert/vaxcert/verifier"
)

// ReasonRevoked is the reason code of the revocation check when a
// certificate is listed.
const ReasonRevoked verifier.Reason = "revoked"

// RevocationCheck is the verifier's "revocation" check
// ([verifier.CheckRevocation]): a certificate fails it when any of its
// three DCC revocation hashes is on the list. Configure it with
// verifier.WithCheck. A nil list passes every certificate, so callers
// that require a list check [State.Usable] first.
type RevocationCheck struct{ List *Revocations }

// Name returns verifier.CheckRevocation.
func (RevocationCheck) Name() verifier.Check { return verifier.CheckRevocation }

// Check looks the certificate's hashes up.
func (rc RevocationCheck) Check(c *verifier.Certificate) error {
	hs := CertificateHashes(c.Issuer, UVCI(c), c.Alg, c.Signature)
	if t, ok := rc.List.Contains(&hs); ok {
		return &verifier.Error{Reason: ReasonRevoked, Detail: "the certificate is on the revocation list (hash type " + string(t) + ")"}
	}
	return nil
}

// UVCI returns the UVCI of a certificate's one entry, or "".
func UVCI(c *verifier.Certificate) string {
	switch d := c.DCC; {
	case d == nil:
		return ""
	case len(d.V) > 0:
		return d.V[0].CI
	case len(d.T) > 0:
		return d.T[0].CI
	case len(d.R) > 0:
		return d.R[0].CI
	}
	return ""
}
