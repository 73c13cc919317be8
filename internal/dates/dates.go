// Package dates is vaxcert's one date validator: the two JSON Schema
// formats the DCC schema uses, "date" (RFC 3339 full-date) and "date-time"
// (RFC 3339 date-time), and the DCC's partial dates (YYYY, YYYY-MM,
// YYYY-MM-DD in 1900-2099: the dob pattern, and dose-record dates). Both
// validators of package schemas, the value-set parser and the issuer's
// record checks use it, so they read dates the same way. Hand-written
// rather than time.Parse: time.Parse accepts forms RFC 3339 does not and
// allocates on errors, and the checks are on the verifier's hot path.
//
// Reference: https://www.rfc-editor.org/rfc/rfc3339#section-5.6
package dates

// IsDate reports whether s is an RFC 3339 full-date, YYYY-MM-DD, naming a day
// that exists in the proleptic Gregorian calendar.
func IsDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	year, ok1 := Digits(s[0:4])
	month, ok2 := Digits(s[5:7])
	day, ok3 := Digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 {
		return false
	}
	return day <= DaysIn(month, year)
}

// IsDateTime reports whether s is an RFC 3339 date-time:
// full-date "T" hh:mm:ss[.frac] ("Z" / ("+" / "-") hh:mm). "T" and "Z" may be
// lower case. Second 60 is accepted only where it is a leap second, that is
// at 23:59 UTC once the offset is applied.
func IsDateTime(s string) bool {
	// Shortest form: YYYY-MM-DDThh:mm:ssZ.
	if len(s) < 20 || (s[10] != 'T' && s[10] != 't') || !IsDate(s[:10]) {
		return false
	}
	t := s[11:]
	if t[2] != ':' || t[5] != ':' {
		return false
	}
	hour, ok1 := Digits(t[0:2])
	minute, ok2 := Digits(t[3:5])
	sec, ok3 := Digits(t[6:8])
	if !ok1 || !ok2 || !ok3 || hour > 23 || minute > 59 || sec > 60 {
		return false
	}
	t = t[8:]
	if len(t) > 0 && t[0] == '.' {
		n := 1
		for n < len(t) && t[n] >= '0' && t[n] <= '9' {
			n++
		}
		if n == 1 {
			return false
		}
		t = t[n:]
	}
	utc := hour*60 + minute
	switch {
	case t == "Z" || t == "z":
	case len(t) == 6 && (t[0] == '+' || t[0] == '-') && t[3] == ':':
		oh, ok1 := Digits(t[1:3])
		om, ok2 := Digits(t[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return false
		}
		off := oh*60 + om
		if t[0] == '+' {
			off = -off
		}
		utc = (utc + off + 24*60) % (24 * 60)
	default:
		return false
	}
	return sec < 60 || utc == 23*60+59
}

// Partial reports whether s is YYYY, YYYY-MM or YYYY-MM-DD with a year in
// 1900-2099: the DCC dob pattern ^(19|20)\d\d(-\d\d){0,2}$. With calendar,
// the month must be 01-12 and the day must exist in that month (the issuer
// requires it of records); without, month and day are any two digits, as
// the schema's pattern has it.
func Partial(s string, calendar bool) bool {
	switch len(s) {
	case 4, 7, 10:
	default:
		return false
	}
	year, ok := Digits(s[0:4])
	if !ok || year < 1900 || year > 2099 {
		return false
	}
	if len(s) == 4 {
		return true
	}
	month, ok := Digits(s[5:7])
	if s[4] != '-' || !ok || calendar && (month < 1 || month > 12) {
		return false
	}
	if len(s) == 7 {
		return true
	}
	day, ok := Digits(s[8:10])
	return s[7] == '-' && ok && (!calendar || day >= 1 && day <= DaysIn(month, year))
}

// Digits parses s, which must consist of ASCII digits only (at most 9 of
// them, so no overflow).
func Digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// DaysIn returns the number of days in a month (1-12) of a year, in the
// proleptic Gregorian calendar.
func DaysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
