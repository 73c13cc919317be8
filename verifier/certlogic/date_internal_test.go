package certlogic

import (
	"errors"
	"regexp"
	"testing"
	"time"
)

func TestParseDateTime(t *testing.T) {
	ms := func(y, mo, d, h, mi, s, milli int) int64 {
		return time.Date(y, time.Month(mo), d, h, mi, s, milli*1e6, time.UTC).UnixMilli()
	}
	tests := []struct {
		in   string
		want int64
		err  error
	}{
		{"2021-06-01", ms(2021, 6, 1, 0, 0, 0, 0), nil},
		{"2021-06-01T12:34:56", ms(2021, 6, 1, 12, 34, 56, 0), nil},
		{"2021-06-01T12:34:56Z", ms(2021, 6, 1, 12, 34, 56, 0), nil},
		{"2021-06-01T12:34:56+1", ms(2021, 6, 1, 11, 34, 56, 0), nil},
		{"2021-06-01T12:34:56+01", ms(2021, 6, 1, 11, 34, 56, 0), nil},
		{"2021-06-01T12:34:56-130", ms(2021, 6, 1, 14, 4, 56, 0), nil},
		{"2021-06-01T12:34:56+0130", ms(2021, 6, 1, 11, 4, 56, 0), nil},
		{"2021-06-01T12:34:56+1:30", ms(2021, 6, 1, 11, 4, 56, 0), nil},
		{"2021-06-01T12:34:56+01:30", ms(2021, 6, 1, 11, 4, 56, 0), nil},
		{"2021-06-01T12:34:56.1Z", ms(2021, 6, 1, 12, 34, 56, 100), nil},
		{"2021-06-01T12:34:56.123456789+02:00", ms(2021, 6, 1, 10, 34, 56, 123), nil},
		{"2021-06-01T12:34:56.9999", ms(2021, 6, 1, 12, 34, 56, 999), nil},
		{"2021-06-01T12:34:56.", 0, errDateFormat},
		{"2021-06-01T12:34", 0, errDateFormat},
		{"2021-06-01 12:34:56", 0, errDateFormat},
		{"2021-06-01T12:34:56+13:0", 0, errDateFormat},
		{"2021-06-01T12:34:56+123:00", 0, errDateFormat},
		{"2021-06-01T12:34:56z", 0, errDateFormat},
		{"21-06-01", 0, errDateFormat},
		{"2021-6-01", 0, errDateFormat},
		{"２021-06-01", 0, errDateFormat},
		{"2021-09-99", 0, errDateRange},
		{"2021-02-29", 0, errDateRange},
		{"2020-02-29", ms(2020, 2, 29, 0, 0, 0, 0), nil},
		{"2021-13-01", 0, errDateRange},
		{"2021-06-01T24:00:00Z", 0, errDateRange},
		{"2021-06-01T12:34:56+24:00", 0, errDateRange},
	}
	for _, tc := range tests {
		got, err := parseDateTime(tc.in)
		if !errors.Is(err, tc.err) || (err == nil && got.ms != tc.want) {
			t.Errorf("parseDateTime(%q) = %v, %v; want %v, %v", tc.in, got, err, time.UnixMilli(tc.want).UTC(), tc.err)
		}
	}
}

func TestPlusTime(t *testing.T) {
	tests := []struct {
		in     string
		amount float64
		unit   string
		want   string
		err    error
	}{
		// the specification's leap-day table
		{"2020-02-29", 1, "day", "2020-03-01T00:00:00.000Z", nil},
		{"2020-02-29", 1, "month", "2020-03-29T00:00:00.000Z", nil},
		{"2020-02-29", 1, "year", "2021-03-01T00:00:00.000Z", nil},
		{"2021-01-31", 1, "month", "2021-03-03T00:00:00.000Z", nil},
		{"2021-03-28T01:30:00+01:00", 24, "hour", "2021-03-29T00:30:00.000Z", nil},
		{"2021", 0, "day", "2021-12-31T00:00:00.000Z", nil},
		{"2020-02", 0, "day", "2020-02-29T00:00:00.000Z", nil},
		{"2021-02", 1, "day", "2021-03-01T00:00:00.000Z", nil},
		{"2021-00", 0, "day", "", errDateRange},
		{"2021-06-01", -18, "year", "2003-06-01T00:00:00.000Z", nil},
		{"2021-06-01", 1e9, "year", "", errDateRange},
		{"2021-06-01", 300000, "year", "", errDateRange},
		{"2021-06-01", 4e9, "hour", "", errDateRange},
		{"2021-06-01", -2e8, "day", "", errDateRange},
	}
	for _, tc := range tests {
		got, err := plusTime(tc.in, tc.amount, tc.unit)
		if !errors.Is(err, tc.err) || (err == nil && got.String() != tc.want) {
			t.Errorf("plusTime(%q, %v, %s) = %v, %v; want %s, %v", tc.in, tc.amount, tc.unit, got, err, tc.want, tc.err)
		}
	}
}

func TestDCCDateOfBirth(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1990", "1990-12-31T00:00:00.000Z"},
		{"1990-02", "1990-02-28T00:00:00.000Z"},
		{"2000-02", "2000-02-29T00:00:00.000Z"},
		{"1990-04-12", "1990-04-12T00:00:00.000Z"},
		{"1990-04-12T00:00:00Z", ""},
		{"", ""},
		{"1990-4", ""},
		{"abcd", ""},
	}
	for _, tc := range tests {
		got, err := dccDateOfBirth(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("dccDateOfBirth(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("dccDateOfBirth(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

// jsDateRE is certlogic-js's dateFromString pattern.
var jsDateRE = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+?)?(Z|(([+-])(\d{1,2}):?(\d{2})?))?$`)
var jsDateOnlyRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// FuzzParseDateTime: the hand-written parser accepts the shape exactly
// when certlogic-js's regular expression does (a shape error iff no
// match), and never panics.
func FuzzParseDateTime(f *testing.F) {
	for _, s := range []string{"2021-06-01", "2021-06-01T12:34:56.123+01:30", "2021-06-01T12:34:56-130", "2021-06-01T12:34:56+1:", "2021-02-30T00:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := parseDateTime(s)
		match := jsDateRE.MatchString(s) || jsDateOnlyRE.MatchString(s)
		if match == errors.Is(err, errDateFormat) {
			// a matching string may still be out of range, never a shape error
			t.Errorf("parseDateTime(%q): err %v, regexp match %v", s, err, match)
		}
		_, _ = dccDateOfBirth(s)
		_, _ = plusTime(s, 1, "month")
	})
}
