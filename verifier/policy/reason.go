package policy

// Reason says why a certificate is partial or not accepted. The values are
// a public contract (venue answers and JSON output switch on them).
type Reason string

// Reasons.
const (
	ReasonNone            Reason = ""
	ReasonMalformed       Reason = "malformed"         // not exactly one readable v, t or r entry
	ReasonDisease         Reason = "disease"           // the entry is not for COVID-19
	ReasonProduct         Reason = "product"           // vaccine product not accepted
	ReasonFuture          Reason = "date_in_future"    // dose, sample or first positive test after now
	ReasonIncomplete      Reason = "incomplete_series" // dn < sd
	ReasonTooRecent       Reason = "too_recent"        // complete series or booster still inside its wait
	ReasonPrimaryExpired  Reason = "primary_expired"   // primary series older than its maximum age
	ReasonBoosterExpired  Reason = "booster_expired"   // booster older than its maximum age
	ReasonTestType        Reason = "test_type"         // test type not accepted
	ReasonTestPositive    Reason = "test_positive"     // test result is not "not detected"
	ReasonTestExpired     Reason = "test_expired"      // sample too old
	ReasonRecoveryNotYet  Reason = "recovery_not_yet_valid"
	ReasonRecoveryExpired Reason = "recovery_expired"

	// The venue's business rules (verifier/rules) refused the certificate;
	// the values are the rules check's reason codes.
	ReasonRulesFailed  Reason = "rules_failed"  // a rule of the venue's country failed
	ReasonNoRules      Reason = "no_rules"      // no rule of the venue's country applies: configuration
	ReasonRulesExpired Reason = "rules_expired" // the venue's signed rule set expired: sync
)

// Message is a text for the person at the door, in Vietnamese and English.
type Message struct {
	VI string `json:"vi"`
	EN string `json:"en"`
}

var messages = map[Reason]Message{
	ReasonNone: {"Chứng nhận được chấp nhận.", "The certificate is accepted."},
	ReasonMalformed: {"Không đọc được nội dung chứng nhận; đề nghị người dân xin cấp lại chứng nhận.",
		"The certificate content cannot be read; ask the holder to have it reissued."},
	ReasonDisease: {"Chứng nhận không dành cho COVID-19; đề nghị xuất trình chứng nhận COVID-19.",
		"The certificate is not for COVID-19; ask for a COVID-19 certificate."},
	ReasonProduct: {"Loại vắc xin này không được chấp nhận tại đây; đề nghị xuất trình chứng nhận khác.",
		"This vaccine is not accepted here; ask for another certificate."},
	ReasonFuture: {"Ngày trên chứng nhận ở tương lai; kiểm tra đồng hồ của thiết bị.",
		"A date on the certificate is in the future; check this device's clock."},
	ReasonIncomplete: {"Chưa tiêm đủ liều cơ bản; đề nghị xuất trình chứng nhận tiêm đủ liều, khỏi bệnh hoặc xét nghiệm âm tính.",
		"The primary series is not complete; ask for a full vaccination, recovery or negative test certificate."},
	ReasonTooRecent: {"Liều tiêm gần nhất chưa đủ thời gian để có hiệu lực; xem ngày có hiệu lực.",
		"The last dose is too recent to count yet; see the date it becomes valid."},
	ReasonPrimaryExpired: {"Liều cơ bản đã quá thời hạn được chấp nhận; đề nghị xuất trình chứng nhận tiêm nhắc lại.",
		"The primary series is older than accepted; ask for a booster certificate."},
	ReasonBoosterExpired: {"Liều nhắc lại đã quá thời hạn được chấp nhận; đề nghị xuất trình chứng nhận mới hơn.",
		"The booster is older than accepted; ask for a newer certificate."},
	ReasonTestType: {"Loại xét nghiệm này không được chấp nhận; đề nghị xuất trình chứng nhận khác.",
		"This type of test is not accepted; ask for another certificate."},
	ReasonTestPositive: {"Kết quả xét nghiệm không phải âm tính; không chấp nhận.",
		"The test result is not negative; not accepted."},
	ReasonTestExpired: {"Kết quả xét nghiệm đã quá thời hạn; đề nghị xét nghiệm lại.",
		"The test is too old; ask for a new test."},
	ReasonRecoveryNotYet: {"Chứng nhận khỏi bệnh chưa đến ngày có hiệu lực; xem ngày có hiệu lực.",
		"The recovery certificate is not valid yet; see the date it becomes valid."},
	ReasonRecoveryExpired: {"Chứng nhận khỏi bệnh đã hết hạn; đề nghị xuất trình chứng nhận khác.",
		"The recovery certificate has expired; ask for another certificate."},
	ReasonRulesFailed: {"Chứng nhận không đáp ứng quy định của địa điểm này; đề nghị xuất trình chứng nhận khác.",
		"The certificate does not meet this venue's rules; ask for another certificate."},
	ReasonNoRules: {"Thiết bị chưa có quy định áp dụng cho loại chứng nhận này; kiểm tra cấu hình quốc gia và bộ quy tắc.",
		"This device has no rule for this type of certificate; check its country and rule set."},
	ReasonRulesExpired: {"Bộ quy tắc của thiết bị đã hết hạn; kết nối mạng để đồng bộ rồi quét lại.",
		"This device's rule set has expired; connect it to sync, then scan again."},
}

// Message returns the text for r; an unknown reason gets a generic text.
func (r Reason) Message() Message {
	if m, ok := messages[r]; ok {
		return m
	}
	return Message{"Chứng nhận không được chấp nhận.", "The certificate is not accepted."}
}
