package timeparse

import (
	"errors"
	"testing"
	"time"

	"github.com/vaxcert/vaxcert/internal/dgcvectors"
)

// vectorClocks is every distinct TESTCTX.VALIDATIONCLOCK value in the EU test
// vectors of ../shared/testdata/dgc, with its instant (computed independently
// with Python's datetime), and one file that uses it.
var vectorClocks = []struct {
	in   string
	want time.Time
}{
	{"2021-05-03T18:00:00Z", time.Date(2021, 5, 3, 18, 0, 0, 0, time.UTC)},                     // common/2DCode/raw/B1.json
	{"2021-05-06T18:00:00Z", time.Date(2021, 5, 6, 18, 0, 0, 0, time.UTC)},                     // AT/2DCode/raw/1.json
	{"2021-05-10T12:30:00.000Z", time.Date(2021, 5, 10, 12, 30, 0, 0, time.UTC)},               // ES/2DCode/raw/201.json
	{"2021-05-17T09:10:47.327Z", time.Date(2021, 5, 17, 9, 10, 47, 327000000, time.UTC)},       // ES/2DCode/raw/1102.json
	{"2021-05-17T09:11:47.777Z", time.Date(2021, 5, 17, 9, 11, 47, 777000000, time.UTC)},       // ES/2DCode/raw/1101.json
	{"2021-05-17T12:57:21.108+01:00", time.Date(2021, 5, 17, 11, 57, 21, 108000000, time.UTC)}, // ES/2DCode/raw/503.json
	{"2021-05-17T12:58:05.296+01:00", time.Date(2021, 5, 17, 11, 58, 5, 296000000, time.UTC)},  // ES/2DCode/raw/502.json
	{"2021-05-17T13:46:12.651+01:00", time.Date(2021, 5, 17, 12, 46, 12, 651000000, time.UTC)}, // ES/2DCode/raw/501.json
	{"2021-05-17T16:41:00.806Z", time.Date(2021, 5, 17, 16, 41, 0, 806000000, time.UTC)},       // ES/2DCode/raw/1001.json
	{"2021-05-17T16:41:00.984Z", time.Date(2021, 5, 17, 16, 41, 0, 984000000, time.UTC)},       // ES/2DCode/raw/1003.json
	{"2021-05-18T12:43:06.520Z", time.Date(2021, 5, 18, 12, 43, 6, 520000000, time.UTC)},       // ES/2DCode/raw/1002.json
	{"2021-05-19T20:14:51Z", time.Date(2021, 5, 19, 20, 14, 51, 0, time.UTC)},                  // DK/2DCode/raw/2.json
	{"2021-05-19T20:28:43Z", time.Date(2021, 5, 19, 20, 28, 43, 0, time.UTC)},                  // DK/2DCode/raw/4.json
	{"2021-05-20T20:32:02Z", time.Date(2021, 5, 20, 20, 32, 2, 0, time.UTC)},                   // DK/2DCode/raw/1.json
	{"2021-05-20T20:32:03Z", time.Date(2021, 5, 20, 20, 32, 3, 0, time.UTC)},                   // DK/2DCode/raw/3.json
	{"2021-05-21T09:53:55+02:00", time.Date(2021, 5, 21, 7, 53, 55, 0, time.UTC)},              // ES/2DCode/raw/702.json
	{"2021-05-21T12:11:42+02:00", time.Date(2021, 5, 21, 10, 11, 42, 0, time.UTC)},             // ES/2DCode/raw/701.json
	{"2021-05-21T12:26:07.390079Z", time.Date(2021, 5, 21, 12, 26, 7, 390079000, time.UTC)},    // common/2DCode/raw/CO28.json
	{"2021-05-21T15:17:15+02:00", time.Date(2021, 5, 21, 13, 17, 15, 0, time.UTC)},             // ES/2DCode/raw/703.json
	{"2021-05-25T12:00:00.085231Z", time.Date(2021, 5, 25, 12, 0, 0, 85231000, time.UTC)},      // ES/2DCode/raw/101.json
	{"2021-05-25T18:54:33+02:00", time.Date(2021, 5, 25, 16, 54, 33, 0, time.UTC)},             // ES/2DCode/raw/2101.json
	{"2021-05-31T14:12:35Z", time.Date(2021, 5, 31, 14, 12, 35, 0, time.UTC)},                  // DK/2DCode/raw/5.json
	{"2021-05-31T14:12:37Z", time.Date(2021, 5, 31, 14, 12, 37, 0, time.UTC)},                  // DK/2DCode/raw/7.json
	{"2021-06-01T20:00:00+02:00", time.Date(2021, 6, 1, 18, 0, 0, 0, time.UTC)},                // DE/2DCode/raw/1.json
	{"2021-06-08T00:00:00Z", time.Date(2021, 6, 8, 0, 0, 0, 0, time.UTC)},                      // CZ/2DCode/raw/1.json
	{"2021-06-18T23:59:59+03:00", time.Date(2021, 6, 18, 20, 59, 59, 0, time.UTC)},             // FI/2DCode/raw/1.json
	{"2021-06-29T00:00:00Z", time.Date(2021, 6, 29, 0, 0, 0, 0, time.UTC)},                     // CZ/2DCode/raw/11.json
	{"2021-06-30T11:48:20Z", time.Date(2021, 6, 30, 11, 48, 20, 0, time.UTC)},                  // DK/2DCode/raw/11.json
	{"2021-06-30T11:53:20Z", time.Date(2021, 6, 30, 11, 53, 20, 0, time.UTC)},                  // DK/2DCode/raw/10.json
	{"2021-06-30T11:53:21Z", time.Date(2021, 6, 30, 11, 53, 21, 0, time.UTC)},                  // DK/2DCode/raw/12.json
	{"2021-07-02T07:38:27+0000", time.Date(2021, 7, 2, 7, 38, 27, 0, time.UTC)},                // FI/2DCode/raw/6.json
	{"2021-07-02T07:39:53+0000", time.Date(2021, 7, 2, 7, 39, 53, 0, time.UTC)},                // FI/2DCode/raw/7.json
	{"2021-07-02T07:42:23+0000", time.Date(2021, 7, 2, 7, 42, 23, 0, time.UTC)},                // FI/2DCode/raw/8.json
	{"2021-07-02T07:43:37+0000", time.Date(2021, 7, 2, 7, 43, 37, 0, time.UTC)},                // FI/2DCode/raw/9.json
	{"2021-07-02T07:44:21+0000", time.Date(2021, 7, 2, 7, 44, 21, 0, time.UTC)},                // FI/2DCode/raw/10.json
	{"2021-07-09T00:00:00Z", time.Date(2021, 7, 9, 0, 0, 0, 0, time.UTC)},                      // CZ/2DCode/raw/14.json
	{"2021-12-10T10:33:30.917Z", time.Date(2021, 12, 10, 10, 33, 30, 917000000, time.UTC)},     // ES/2DCode/raw/403.json
	{"2021-12-10T10:34:54.925Z", time.Date(2021, 12, 10, 10, 34, 54, 925000000, time.UTC)},     // ES/2DCode/raw/401.json
	{"2021-12-10T10:35:56.934Z", time.Date(2021, 12, 10, 10, 35, 56, 934000000, time.UTC)},     // ES/2DCode/raw/402.json
	{"2026-04-25T01:10:37+02:00", time.Date(2026, 4, 24, 23, 10, 37, 0, time.UTC)},             // ES/2DCode/raw/1501.json
}

func TestParseVectorClocks(t *testing.T) {
	for _, tc := range vectorClocks {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !got.Equal(tc.want) {
				t.Errorf("Parse = %v, want %v", got.UTC(), tc.want)
			}
		})
	}
}

// TestVectorClocksComplete checks that the table above lists every clock
// the vectors use, so a new vector format cannot slip past the table.
func TestVectorClocksComplete(t *testing.T) {
	known := make(map[string]bool, len(vectorClocks))
	for _, tc := range vectorClocks {
		known[tc.in] = true
	}
	for _, v := range dgcvectors.Load(t) {
		if v.Clock == "" {
			continue
		}
		if !known[v.Clock] {
			t.Errorf("%s: VALIDATIONCLOCK %q is not in vectorClocks", v.Name, v.Clock)
		}
		if _, err := Parse(v.Clock); err != nil {
			t.Errorf("%s: %v", v.Name, err)
		}
	}
}

func TestParse(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	tests := []struct {
		in      string
		want    time.Time
		wantOff int // zone offset of the result, seconds
	}{
		{"2021-05-03T18:00:00Z", utc(2021, 5, 3, 18, 0, 0, 0), 0},
		{"2021-05-03T18:00:00", utc(2021, 5, 3, 18, 0, 0, 0), 0},
		{"2021-05-03T18:00:00.5", utc(2021, 5, 3, 18, 0, 0, 500000000), 0},
		{"2021-05-03T18:00:00.123456789Z", utc(2021, 5, 3, 18, 0, 0, 123456789), 0},
		{"2021-05-03T18:00:00.000000001+00:00", utc(2021, 5, 3, 18, 0, 0, 1), 0},
		{"2021-05-03T18:00:00-00:00", utc(2021, 5, 3, 18, 0, 0, 0), 0},
		{"2021-05-03T18:00:00+0000", utc(2021, 5, 3, 18, 0, 0, 0), 0},
		{"2021-05-03T18:00:00+0700", utc(2021, 5, 3, 11, 0, 0, 0), 7 * 3600},
		{"2021-05-03T18:00:00+07:00", utc(2021, 5, 3, 11, 0, 0, 0), 7 * 3600},
		{"2021-05-03T01:00:00-0530", utc(2021, 5, 3, 6, 30, 0, 0), -(5*3600 + 30*60)},
		{"2021-05-03T18:00:00.25+23:59", utc(2021, 5, 2, 18, 1, 0, 250000000), 23*3600 + 59*60},
		{"2020-02-29T00:00:00Z", utc(2020, 2, 29, 0, 0, 0, 0), 0},
		{"2000-02-29T23:59:59Z", utc(2000, 2, 29, 23, 59, 59, 0), 0},
		{"0000-01-01T00:00:00Z", utc(0, 1, 1, 0, 0, 0, 0), 0},
		{"9999-12-31T23:59:59.999999999Z", utc(9999, 12, 31, 23, 59, 59, 999999999), 0},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !got.Equal(tc.want) {
				t.Errorf("Parse = %v, want %v", got.UTC(), tc.want)
			}
			if _, off := got.Zone(); off != tc.wantOff {
				t.Errorf("zone offset = %d, want %d", off, tc.wantOff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"", ErrSyntax},
		{"2021-05-03", ErrSyntax},
		{"2021-05-03T18:00", ErrSyntax},
		{"2021-05-03 18:00:00Z", ErrSyntax},
		{"2021-05-03t18:00:00Z", ErrSyntax},
		{"2021-05-03T18:00:00z", ErrSyntax},
		{"2021/05/03T18:00:00Z", ErrSyntax},
		{"21-05-03T18:00:00Z", ErrSyntax},
		{"+2021-05-03T18:00:00Z", ErrSyntax},
		{"2021-5-03T18:00:00Z", ErrSyntax},
		{"2021-05-03T8:00:00Z", ErrSyntax},
		{"2021-05-03T18:00:0Z", ErrSyntax},
		{"2021-05-03T18:00:00.Z", ErrSyntax},
		{"2021-05-03T18:00:00.", ErrSyntax},
		{"2021-05-03T18:00:00.1234567890Z", ErrSyntax},
		{"2021-05-03T18:00:00,5Z", ErrSyntax},
		{"2021-05-03T18:00:00.5.5Z", ErrSyntax},
		{"2021-05-03T18:00:00ZZ", ErrSyntax},
		{"2021-05-03T18:00:00Z ", ErrSyntax},
		{" 2021-05-03T18:00:00Z", ErrSyntax},
		{"2021-05-03T18:00:00UTC", ErrSyntax},
		{"2021-05-03T18:00:00+07", ErrSyntax},
		{"2021-05-03T18:00:00+7:00", ErrSyntax},
		{"2021-05-03T18:00:00+07:0", ErrSyntax},
		{"2021-05-03T18:00:00+07-00", ErrSyntax},
		{"2021-05-03T18:00:00+070", ErrSyntax},
		{"2021-05-03T18:00:00+07000", ErrSyntax},
		{"2021-05-03T18:00:00+0a:00", ErrSyntax},
		{"2021-05-03T18:00:00 +0000", ErrSyntax},
		{"２021-05-03T18:00:00Z", ErrSyntax},
		{"2021-0-_03T18:00:00Z", ErrSyntax},
		{"2021-00-03T18:00:00Z", ErrRange},
		{"2021-13-03T18:00:00Z", ErrRange},
		{"2021-05-00T18:00:00Z", ErrRange},
		{"2021-04-31T18:00:00Z", ErrRange},
		{"2021-02-29T18:00:00Z", ErrRange},
		{"1900-02-29T18:00:00Z", ErrRange},
		{"2021-05-03T24:00:00Z", ErrRange},
		{"2021-05-03T18:60:00Z", ErrRange},
		{"2021-05-03T18:00:60Z", ErrRange},
		{"2021-05-03T18:00:00+24:00", ErrRange},
		{"2021-05-03T18:00:00+0060", ErrRange},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse(%q) error = %v, want %v", tc.in, err, tc.want)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Input != tc.in {
				t.Errorf("error = %#v, want *Error with the input", err)
			}
			if !got.IsZero() {
				t.Errorf("Parse returned %v with an error", got)
			}
		})
	}
}

// FuzzParse checks that Parse never panics, that what it accepts Go's own
// RFC 3339 parser reads as the same instant (after writing the zone as
// "±hh:mm"), and that formatting the result and parsing it again is stable.
func FuzzParse(f *testing.F) {
	for _, tc := range vectorClocks {
		f.Add(tc.in)
	}
	for _, s := range []string{"2021-05-03T18:00:00", "2021-02-29T00:00:00Z", "2021-05-03T18:00:00.1234567890Z", "2021-05-03T18:00:00+24:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || (!errors.Is(err, ErrSyntax) && !errors.Is(err, ErrRange)) {
				t.Fatalf("Parse(%q) error %v is not an *Error wrapping ErrSyntax or ErrRange", s, err)
			}
			return
		}
		canon := got.Format(time.RFC3339Nano)
		std, err := time.Parse(time.RFC3339Nano, canon)
		if err != nil {
			t.Fatalf("Parse(%q) = %v; time.Parse(%q): %v", s, got, canon, err)
		}
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) = %v; re-parse of %q: %v", s, got, canon, err)
		}
		if !std.Equal(got) || !again.Equal(got) {
			t.Fatalf("Parse(%q) = %v; time.Parse = %v; re-parse = %v", s, got, std, again)
		}
	})
}
