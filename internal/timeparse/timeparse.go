package timeparse

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vaxcert/vaxcert/internal/dates"
)

// Errors wrapped by [*Error].
var (
	// ErrSyntax: the text does not have the accepted shape.
	ErrSyntax = errors.New("timeparse: not an RFC 3339 timestamp")
	// ErrRange: a field is out of range (month 13, 30 February, hour 24,
	// offset +24:00, ...).
	ErrRange = errors.New("timeparse: field out of range")
)

// maxEcho bounds how much of the input an error message repeats.
const maxEcho = 64

// Error reports a timestamp Parse rejected. Input is the text as given; a
// timestamp is not personal data, so the message quotes it (cut to 64
// bytes).
type Error struct {
	Input string
	Err   error // ErrSyntax or ErrRange
}

func (e *Error) Error() string {
	in := e.Input
	if len(in) > maxEcho {
		in = in[:maxEcho] + "..."
	}
	return fmt.Sprintf("timeparse: %q: %s", in, strings.TrimPrefix(e.Err.Error(), "timeparse: "))
}

// Unwrap returns ErrSyntax or ErrRange.
func (e *Error) Unwrap() error { return e.Err }

// Parse parses s as described in the package documentation. The result
// is in UTC when the offset is zero or absent, and otherwise in a fixed
// zone of the written offset. Errors are [*Error], wrapping [ErrSyntax] or
// [ErrRange].
func Parse(s string) (time.Time, error) {
	t, err := parse(s)
	if err != nil {
		return time.Time{}, &Error{Input: s, Err: err}
	}
	return t, nil
}

func parse(s string) (time.Time, error) {
	// YYYY-MM-DDThh:mm:ss is 19 bytes.
	const base = len("2006-01-02T15:04:05")
	if len(s) < base || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, ErrSyntax
	}
	year, ok1 := dates.Digits(s[0:4])
	month, ok2 := dates.Digits(s[5:7])
	day, ok3 := dates.Digits(s[8:10])
	hour, ok4 := dates.Digits(s[11:13])
	minute, ok5 := dates.Digits(s[14:16])
	sec, ok6 := dates.Digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 {
		return time.Time{}, ErrSyntax
	}

	rest := s[base:]
	nsec := 0
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		frac := rest[1:n]
		if len(frac) == 0 || len(frac) > 9 {
			return time.Time{}, ErrSyntax
		}
		nsec, _ = dates.Digits(frac)
		for range 9 - len(frac) {
			nsec *= 10
		}
		rest = rest[n:]
	}

	loc, err := zone(rest)
	if err != nil {
		return time.Time{}, err
	}
	if month < 1 || month > 12 || day < 1 || day > dates.DaysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, ErrRange
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc), nil
}

// zone parses "", "Z", "±hh:mm" or "±hhmm".
func zone(z string) (*time.Location, error) {
	switch {
	case z == "" || z == "Z":
		return time.UTC, nil
	case z[0] != '+' && z[0] != '-':
		return nil, ErrSyntax
	}
	var hh, mm string
	switch {
	case len(z) == len("+hh:mm") && z[3] == ':':
		hh, mm = z[1:3], z[4:6]
	case len(z) == len("+hhmm"):
		hh, mm = z[1:3], z[3:5]
	default:
		return nil, ErrSyntax
	}
	h, ok1 := dates.Digits(hh)
	m, ok2 := dates.Digits(mm)
	if !ok1 || !ok2 {
		return nil, ErrSyntax
	}
	if h > 23 || m > 59 {
		return nil, ErrRange
	}
	off := (h*60 + m) * 60
	if z[0] == '-' {
		off = -off
	}
	if off == 0 {
		return time.UTC, nil
	}
	return time.FixedZone("", off), nil
}
