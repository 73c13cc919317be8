package certlogic

import (
	"errors"
	"time"
)

// JavaScript's Date range: ±8.64e15 ms around the epoch.
const maxJSDate = 8_640_000_000_000_000

var (
	errDateFormat = errors.New("not an allowed date or date-time format")
	errDateRange  = errors.New("date or date-time out of range")
	errDOBFormat  = errors.New("not an EU DCC date of birth (YYYY, YYYY-MM or YYYY-MM-DD)")
)

// Reference: certlogic-js internals.ts dateFromString: YYYY-MM-DD, or
//
//	^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+?)?(Z|(([+-])(\d{1,2}):?(\d{2})?))?$
//
// a missing offset meaning Z, decimals beyond the third ignored.
func parseDateTime(s string) (DateTime, error) {
	y, mo, d, ok := ymd(s)
	if !ok {
		return DateTime{}, errDateFormat
	}
	if len(s) == 10 {
		return civil(y, mo, d, 0, 0, 0, 0, 0)
	}
	r := s[10:]
	if len(r) < 9 || r[0] != 'T' || r[3] != ':' || r[6] != ':' {
		return DateTime{}, errDateFormat
	}
	h, ok1 := digits(r[1:3])
	mi, ok2 := digits(r[4:6])
	sec, ok3 := digits(r[7:9])
	if !ok1 || !ok2 || !ok3 {
		return DateTime{}, errDateFormat
	}
	r = r[9:]
	ms := 0
	if len(r) > 0 && r[0] == '.' {
		n := 1
		for n < len(r) && isDigit(r[n]) {
			n++
		}
		if n == 1 {
			return DateTime{}, errDateFormat
		}
		frac := r[1:n] + "00"
		ms, _ = digits(frac[:3])
		r = r[n:]
	}
	offset, err := zoneOffset(r)
	if err != nil {
		return DateTime{}, err
	}
	return civil(y, mo, d, h, mi, sec, ms, offset)
}

// zoneOffset reads "", "Z" or [+-]h{1,2}:?(mm)? as minutes east of UTC.
func zoneOffset(r string) (int, error) {
	if r == "" || r == "Z" {
		return 0, nil
	}
	sign := 1
	switch r[0] {
	case '+':
	case '-':
		sign = -1
	default:
		return 0, errDateFormat
	}
	r = r[1:]
	// as the regular expression does: hours greedy (two digits, then one)
	for hl := 2; hl >= 1; hl-- {
		if len(r) < hl {
			continue
		}
		h, ok := digits(r[:hl])
		if !ok {
			continue
		}
		rest := r[hl:]
		if len(rest) > 0 && rest[0] == ':' {
			rest = rest[1:]
		}
		m := 0
		switch len(rest) {
		case 0:
		case 2:
			var ok bool
			if m, ok = digits(rest); !ok {
				continue
			}
		default:
			continue
		}
		if h > 23 || m > 59 {
			return 0, errDateRange
		}
		return sign * (h*60 + m), nil
	}
	return 0, errDateFormat
}

// ymd reads the leading YYYY-MM-DD of s.
func ymd(s string) (y, m, d int, ok bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	y, ok1 := digits(s[:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	return y, m, d, ok1 && ok2 && ok3
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, len(s) > 0
}

func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// civil builds a DateTime from checked fields and an offset in minutes.
func civil(y, mo, d, h, mi, s, ms, offset int) (DateTime, error) {
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) || h > 23 || mi > 59 || s > 59 {
		return DateTime{}, errDateRange
	}
	t := time.Date(y, time.Month(mo), d, h, mi, s, ms*int(time.Millisecond), time.UTC)
	t = t.Add(-time.Duration(offset) * time.Minute)
	return DateTime{ms: t.UnixMilli()}, nil
}

// roundUpPartialDate reads YYYY as YYYY-12-31 and YYYY-MM as the last day
// of that month; ok is false for any other form.
func roundUpPartialDate(s string) (DateTime, bool, error) {
	switch {
	case len(s) == 4:
		y, ok := digits(s)
		if !ok {
			return DateTime{}, false, nil
		}
		dt, err := civil(y, 12, 31, 0, 0, 0, 0, 0)
		return dt, true, err
	case len(s) == 7 && s[4] == '-':
		y, ok1 := digits(s[:4])
		m, ok2 := digits(s[5:])
		if !ok1 || !ok2 {
			return DateTime{}, false, nil
		}
		if m < 1 || m > 12 {
			return DateTime{}, true, errDateRange
		}
		dt, err := civil(y, m, daysIn(m, y), 0, 0, 0, 0, 0)
		return dt, true, err
	}
	return DateTime{}, false, nil
}

// Reference: SPECIFICATION.md "DCC Date of birth (dccDateOfBirth)".
func dccDateOfBirth(s string) (DateTime, error) {
	if dt, ok, err := roundUpPartialDate(s); ok {
		return dt, err
	}
	if len(s) == 10 {
		if _, _, _, ok := ymd(s); ok {
			return parseDateTime(s)
		}
	}
	return DateTime{}, errDOBFormat
}

// maxAmount bounds plusTime's amount per unit: beyond it the result leaves
// JavaScript's Date range (±100,000,000 days around the epoch) whatever the
// start, and time.AddDate could overflow.
var maxAmount = map[string]float64{"year": 600_000, "month": 7_200_000, "day": 200_000_000, "hour": 4_800_000_000}

// Reference: SPECIFICATION.md "Offset date-time (plusTime)"; the offsets
// follow JavaScript's Date.setUTC… methods, which time.AddDate matches
// (overflowing days roll into the next month).
func plusTime(s string, amount float64, unit string) (DateTime, error) {
	dt, ok, err := roundUpPartialDate(s)
	if !ok {
		dt, err = parseDateTime(s)
	}
	if err != nil {
		return DateTime{}, err
	}
	if amount == 0 {
		return dt, nil
	}
	if max, ok := maxAmount[unit]; !ok || amount > max || amount < -max {
		return DateTime{}, errDateRange
	}
	n := int(amount)
	var ms int64
	switch unit {
	case "year":
		ms = dt.Time().AddDate(n, 0, 0).UnixMilli()
	case "month":
		ms = dt.Time().AddDate(0, n, 0).UnixMilli()
	case "day":
		ms = dt.Time().AddDate(0, 0, n).UnixMilli()
	case "hour":
		ms = dt.ms + int64(n)*3_600_000
	}
	if ms > maxJSDate || ms < -maxJSDate {
		return DateTime{}, errDateRange
	}
	return DateTime{ms: ms}, nil
}
