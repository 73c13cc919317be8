package offline

import (
	"strings"
	"time"

	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier"
)

// Decisions of the venue answer (COORD.md "Decision values").
const (
	DecisionFull        = "full"
	DecisionPartial     = "partial"
	DecisionBooster     = "booster"
	DecisionRecovered   = "recovered"
	DecisionTested      = "tested"
	DecisionNotAccepted = "not_accepted"
	DecisionInvalid     = "invalid"
	DecisionRevoked     = "revoked"
)

// Answer is the venue answer, in the JSON form of the verifier service's
// POST /v1/verify (issue 6, item 5). Holder is set only for a certificate
// whose every check passed.
//
// Interim: the trust helper owns this type; until it lands this copy has
// the same JSON members, and the decision of a valid certificate is the
// dose count (dn < sd partial, dn = sd full, dn > sd booster), not yet the
// configurable vaccination policy.
type Answer struct {
	Decision       string  `json:"decision"`
	Valid          bool    `json:"valid"`
	Reason         string  `json:"reason"`
	Message        Message `json:"message"`
	Holder         *Holder `json:"holder,omitempty"`
	ValidUntil     string  `json:"valid_until,omitempty"`
	DataAgeSeconds int64   `json:"data_age_seconds"`
	Stale          bool    `json:"stale"`
}

// Message is a sentence for the person at the door, in Vietnamese and
// English.
type Message struct {
	VI string `json:"vi"`
	EN string `json:"en"`
}

// Holder is what a venue compares with an ID card.
type Holder struct {
	Name      string `json:"name"`
	BirthDate string `json:"birth_date"`
}

var messages = map[string]Message{
	DecisionFull:        {"Đã tiêm đủ liều", "Fully vaccinated"},
	DecisionPartial:     {"Chưa tiêm đủ liều", "Not fully vaccinated"},
	DecisionBooster:     {"Đã tiêm mũi nhắc lại", "Booster dose received"},
	DecisionRecovered:   {"Đã khỏi bệnh", "Recovered"},
	DecisionTested:      {"Đã xét nghiệm", "Tested"},
	DecisionNotAccepted: {"Chứng nhận không được chấp nhận", "Certificate not accepted"},
	DecisionRevoked:     {"Chứng nhận đã bị thu hồi", "Certificate revoked"},
}

var invalidMessages = map[verifier.Reason]Message{
	verifier.ReasonExpired:      {"Chứng nhận đã hết hạn", "Certificate expired"},
	verifier.ReasonNotYetValid:  {"Chứng nhận chưa có hiệu lực", "Certificate not yet valid"},
	verifier.ReasonUnknownKID:   {"Không rõ cơ quan ký", "Unknown signer"},
	verifier.ReasonBadSignature: {"Chữ ký không hợp lệ: mã có thể đã bị sửa", "Invalid signature: the code may have been altered"},
	verifier.ReasonBadPrefix:    {"Không phải mã chứng nhận", "Not a certificate code"},
	verifier.ReasonSchema:       {"Nội dung chứng nhận không hợp lệ", "Certificate content is invalid"},
}

var defaultInvalid = Message{"Chứng nhận không hợp lệ", "Certificate invalid"}

func answerFor(res *verifier.Result) *Answer {
	if !res.Valid() {
		reason := res.Reason()
		m, ok := invalidMessages[reason]
		if !ok {
			m = defaultInvalid
		}
		return &Answer{Decision: DecisionInvalid, Reason: string(reason), Message: m}
	}
	c := res.Certificate()
	a := &Answer{Valid: true, Decision: decide(c.DCC), ValidUntil: c.ExpiresAt.UTC().Format(time.RFC3339)}
	a.Message = messages[a.Decision]
	if d := c.DCC; d != nil {
		a.Holder = &Holder{Name: strings.TrimSpace(d.Nam.FN + " " + d.Nam.GN), BirthDate: d.Dob}
	}
	return a
}

// decide is the interim decision of a valid certificate (see Answer).
func decide(d *schemas.DCC) string {
	switch {
	case d == nil:
		return DecisionNotAccepted
	case len(d.V) == 1:
		switch v := d.V[0]; {
		case v.DN < v.SD:
			return DecisionPartial
		case v.DN > v.SD:
			return DecisionBooster
		}
		return DecisionFull
	case len(d.T) == 1:
		return DecisionTested
	case len(d.R) == 1:
		return DecisionRecovered
	}
	return DecisionNotAccepted
}
