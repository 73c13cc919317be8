package dates

import (
	"regexp"
	"testing"
	"time"
)

func TestIsDate(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"2021-02-18", true},
		{"2020-02-29", true},
		{"2000-02-29", true},
		{"0000-01-01", true},
		{"2021-02-29", false},
		{"1900-02-29", false},
		{"2021-04-31", false},
		{"2021-13-01", false},
		{"2021-00-10", false},
		{"2021-01-00", false},
		{"2021-1-01", false},
		{"21-01-01", false},
		{"2021/01/01", false},
		{"2021-01-01T00:00:00Z", false},
		{"+021-01-01", false},
		{"２０２１-01-01", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := IsDate(tc.in); got != tc.want {
			t.Errorf("IsDate(%q) = %v, want %v", tc.in, got, tc.want)
		}
		// Cross-check valid inputs against the standard library.
		_, err := time.Parse(time.DateOnly, tc.in)
		if tc.want != (err == nil) {
			t.Errorf("IsDate(%q) = %v disagrees with time.Parse error %v", tc.in, tc.want, err)
		}
	}
}

func TestIsDateTime(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"2021-02-20T12:34:56Z", true},
		{"2021-02-20t12:34:56z", true},
		{"2021-06-27T23:59:59+02:00", true},
		{"2021-05-03T14:20:00+00:00", true},
		{"2021-05-03T14:20:00.123456789-05:30", true},
		{"2016-12-31T23:59:60Z", true},
		{"2017-01-01T00:59:60+01:00", true},
		{"2016-12-31T18:59:60-05:00", true},
		{"2021-02-20T12:34:60Z", false},
		{"2021-02-20T12:34:56", false},
		{"2021-02-20 12:34:56Z", false},
		{"2021-02-20T12:34:56.Z", false},
		{"2021-02-20T24:00:00Z", false},
		{"2021-02-20T12:60:00Z", false},
		{"2021-02-20T12:34:56+24:00", false},
		{"2021-02-20T12:34:56+02:60", false},
		{"2021-02-20T12:34:56+0200", false},
		{"2021-02-20T12:34:56+2:000", false},
		{"2021-02-20T+1:34:56Z", false},
		{"2021-02-20T12:34:56++1:00", false},
		{"2021-02-30T12:34:56Z", false},
		{"2021-02-20T12:34:56ZZ", false},
		{"2021-02-20", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := IsDateTime(tc.in); got != tc.want {
			t.Errorf("IsDateTime(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func FuzzIsDateTime(f *testing.F) {
	f.Add("2021-02-20T12:34:56Z")
	f.Add("2021-06-27T23:59:59.5+02:00")
	f.Fuzz(func(t *testing.T, s string) {
		if !IsDateTime(s) {
			return
		}
		// Every accepted string without a leap second must parse with the
		// standard library's RFC 3339 layout (which takes upper-case T/Z).
		if s[17:19] == "60" {
			return
		}
		up := []byte(s)
		up[10] = 'T'
		if up[len(up)-1] == 'z' {
			up[len(up)-1] = 'Z'
		}
		if _, err := time.Parse(time.RFC3339Nano, string(up)); err != nil {
			t.Fatalf("IsDateTime(%q) = true, but time.Parse fails: %v", s, err)
		}
	})
}

func TestPartial(t *testing.T) {
	for _, tc := range []struct {
		s              string
		pattern, exact bool
	}{
		{"1990", true, true},
		{"1990-04", true, true},
		{"1990-04-12", true, true},
		{"2000-02-29", true, true},
		{"1900-02-29", true, false}, // not a leap year
		{"1990-13", true, false},
		{"1990-04-31", true, false},
		{"1990-00-00", true, false},
		{"1899-01-01", false, false},
		{"2100", false, false},
		{"", false, false},
		{"1990-4-12", false, false},
		{"1990/04/12", false, false},
		{"199a", false, false},
		{"1990-04-12T00:00:00Z", false, false},
	} {
		if got := Partial(tc.s, false); got != tc.pattern {
			t.Errorf("Partial(%q, false) = %v", tc.s, got)
		}
		if got := Partial(tc.s, true); got != tc.exact {
			t.Errorf("Partial(%q, true) = %v", tc.s, got)
		}
	}
}

// FuzzPartial holds Partial to the DCC dob pattern (without calendar) and,
// with calendar, to the pattern plus time.Parse of the same layout.
func FuzzPartial(f *testing.F) {
	for _, s := range []string{"1990", "1990-04", "1990-04-12", "2000-02-29", "1900-02-29", "1990-13-01", "", "2100-01-01"} {
		f.Add(s)
	}
	pattern := regexp.MustCompile(`^(19|20)\d\d(-\d\d){0,2}$`)
	f.Fuzz(func(t *testing.T, s string) {
		match := pattern.MatchString(s)
		if got := Partial(s, false); got != match {
			t.Fatalf("Partial(%q, false) = %v, pattern %v", s, got, match)
		}
		layout := map[int]string{4: "2006", 7: "2006-01", 10: "2006-01-02"}[len(s)]
		_, err := time.Parse(layout, s)
		want := match && err == nil
		if got := Partial(s, true); got != want {
			t.Fatalf("Partial(%q, true) = %v, want %v", s, got, want)
		}
	})
}
