// Package venue builds the answer a venue's verifier gives at the door:
// one decision, a reason, a message in Vietnamese and English, only what
// the door needs to compare with an ID card (name and birth date), how
// long the decision holds, and how old the verifier's data is. The
// standalone verifier service, the issuer's /v1/verify and /scan, the CLI,
// the wasm page and the mobile facade all answer with [Answer], built by
// [Decide], so they cannot disagree.
//
// It is part of the verifier library: pure, no I/O.
//
// # Decisions
//
// Decision is one of the vaccination policy's decisions (full, partial,
// booster, recovered, tested, not_accepted) for a certificate that passed
// every check; "invalid" for one that failed a technical check (Reason is
// the verifier's reason code); "revoked" for one on the revocation list;
// "unavailable" when the verifier holds no usable (present, unexpired)
// trust and revocation lists, so it cannot judge at all.
//
// Stale data: when the data is older than the configured limit, Stale is
// true, Valid is false and Reason is "stale_data", while Decision still
// shows what the data held would say. A venue must not admit on a stale
// answer alone: a certificate revoked since the last sync would pass.
//
// Valid is true only for a decision the policy accepts (full, booster,
// recovered, tested) on fresh data.
package venue

import (
	"encoding/json"
	"time"

	"github.com/vaxcert/vaxcert/schemas"
	"github.com/vaxcert/vaxcert/verifier/policy"
)

// Decisions beyond the policy's.
const (
	DecisionInvalid     = "invalid"
	DecisionRevoked     = "revoked"
	DecisionUnavailable = "unavailable"
)

// Reasons set by this package (the others are the verifier's and the
// policy's reason codes).
const (
	ReasonRevoked     = "revoked"
	ReasonStale       = "stale_data"
	ReasonUnavailable = "lists_unavailable"
)

// Message is a text for the person at the door.
type Message struct {
	VI string `json:"vi"`
	EN string `json:"en"`
}

// Holder is what the door compares with an ID card.
type Holder struct {
	Name      string `json:"name"`
	BirthDate string `json:"birth_date"`
}

// Answer is the venue answer, in the JSON form the issue fixes:
//
//	{"decision", "valid", "reason", "message": {"vi", "en"},
//	 "holder": {"name", "birth_date"}, "valid_until", "data_age_seconds", "stale"}
//
// Certificate (the full payload) is set only for a privileged client.
type Answer struct {
	Decision       string          `json:"decision"`
	Valid          bool            `json:"valid"`
	Reason         string          `json:"reason"`
	Message        Message         `json:"message"`
	Holder         *Holder         `json:"holder"`
	ValidUntil     *time.Time      `json:"valid_until"`
	DataAgeSeconds int64           `json:"data_age_seconds"`
	Stale          bool            `json:"stale"`
	Certificate    json.RawMessage `json:"certificate,omitempty"`
}

// Facts is what Decide judges: the verifier's verdict, the revocation
// lookup, the policy outcome, and the state of the lists.
type Facts struct {
	// Usable is false when no present, unexpired trust and revocation
	// lists are held; UnusableWhy then says why, for the log.
	Usable bool
	// Valid and Reason are the verifier's verdict (Reason is its code for
	// the first failed check).
	Valid  bool
	Reason string
	// Revoked is true when a revocation hash of the certificate is listed.
	Revoked bool
	// DCC and ExpiresAt come from a valid certificate.
	DCC       *schemas.DCC
	ExpiresAt time.Time
	// Policy is the vaccination policy's outcome for a valid, unrevoked
	// certificate.
	Policy policy.Outcome
	// DataAge is the age of the lists; Stale is true past the limit.
	DataAge time.Duration
	Stale   bool
}

// Decide builds the answer from the facts (see the package documentation
// for the rules).
func Decide(f Facts) Answer {
	a := Answer{DataAgeSeconds: int64(f.DataAge / time.Second), Stale: f.Stale}
	switch {
	case !f.Usable:
		a.Decision, a.Reason = DecisionUnavailable, ReasonUnavailable
		a.Message = Message{"Thiết bị chưa có danh sách tin cậy còn hạn; kết nối mạng để đồng bộ rồi quét lại.",
			"This device holds no current trust list; connect it to sync, then scan again."}
		return a
	case !f.Valid:
		a.Decision, a.Reason = DecisionInvalid, f.Reason
		a.Message = Message{"Chứng nhận không hợp lệ (" + f.Reason + "); không chấp nhận.",
			"The certificate is not valid (" + f.Reason + "); do not accept it."}
		return a
	case f.Revoked:
		a.Decision, a.Reason = DecisionRevoked, ReasonRevoked
		a.Message = Message{"Chứng nhận đã bị thu hồi; đề nghị người dân dùng chứng nhận mới nhất.",
			"The certificate has been revoked; ask the holder for their latest certificate."}
		return a
	}
	m := f.Policy.Reason.Message()
	a.Decision, a.Reason, a.Message = string(f.Policy.Decision), string(f.Policy.Reason), Message{VI: m.VI, EN: m.EN}
	a.Valid = f.Policy.Decision.Accepted()
	if f.DCC != nil {
		a.Holder = &Holder{Name: holderName(f.DCC.Nam), BirthDate: f.DCC.Dob}
	}
	until := f.ExpiresAt
	if u := f.Policy.ValidUntil; !u.IsZero() && u.Before(until) {
		until = u
	}
	if a.Valid && !until.IsZero() {
		u := until.UTC()
		a.ValidUntil = &u
	}
	if f.Stale {
		a.Valid, a.Reason = false, ReasonStale
		a.Message = Message{"Dữ liệu kiểm tra đã cũ; kết nối mạng để đồng bộ, chưa chấp nhận chỉ dựa trên kết quả này.",
			"The verification data is out of date; sync this device, and do not admit on this answer alone."}
	}
	return a
}

// holderName is the name as written, family name first as on a Vietnamese
// ID card; the transliterated name when none is written.
func holderName(n schemas.Name) string {
	fn, gn := n.FN, n.GN
	if fn == "" && gn == "" {
		fn, gn = n.FNT, n.GNT
	}
	switch {
	case fn == "":
		return gn
	case gn == "":
		return fn
	}
	return fn + " " + gn
}
