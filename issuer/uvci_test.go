package issuer

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLuhnMod38(t *testing.T) {
	tests := []struct {
		name, in string
		want     byte
		wantErr  error
	}{
		// eu-dcc-schema wiki/FAQ.md and examples/Luhn-Mod-N/usage.py.
		{"FAQ example", "URN:UVCI:01:NL:187/37512422923", 'Z', nil},
		// luhn_mod_n.py docstring says S; running the code gives H.
		{"reference code docstring", "URN:UVCI:01:NL:MY/INPUT/STRING", 'H', nil},
		{"without prefix", "MY/INPUT/STRING", 'A', nil},
		{"single A", "A", 'A', nil},
		{"single B", "B", '/', nil},
		{"single colon", ":", 'B', nil}, // 2·37 = 74 = 1·38+36, sum 37
		{"empty", "", 0, ErrUVCICharset},
		{"lower case", "urn:uvci:01:nl:1", 0, ErrUVCICharset},
		{"hash inside", "URN:UVCI:01#NL", 0, ErrUVCICharset},
		{"space", "URN:UVCI:01: NL", 0, ErrUVCICharset},
		{"non-ascii", "URN:UVCI:01:VN:Đ", 0, ErrUVCICharset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LuhnMod38(tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("LuhnMod38(%q) error = %v, want %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("LuhnMod38(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestLuhnMod38DetectsErrors checks the property the checksum exists for:
// changing any one character, or swapping two adjacent different
// characters, changes the check character.
func TestLuhnMod38DetectsErrors(t *testing.T) {
	const base = "URN:UVCI:01:NL:187/37512422923"
	want, err := LuhnMod38(base)
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(base) {
		for j := range len(uvciCharset) {
			if uvciCharset[j] == base[i] {
				continue
			}
			s := base[:i] + string(uvciCharset[j]) + base[i+1:]
			if got, _ := LuhnMod38(s); got == want {
				t.Errorf("substitution at %d (%q) not detected", i, s)
			}
		}
		if i+1 < len(base) && base[i] != base[i+1] {
			s := base[:i] + string(base[i+1]) + string(base[i]) + base[i+2:]
			if got, _ := LuhnMod38(s); got == want {
				t.Logf("transposition at %d (%q) not detected", i, s) // Luhn misses some
			}
		}
	}
}

func TestValidUVCIChecksum(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"URN:UVCI:01:NL:187/37512422923#Z", true},
		{"URN:UVCI:01:NL:187/37512422923#A", false},
		{"URN:UVCI:01:NL:187/37512422924#Z", false},
		{"URN:UVCI:01:NL:187/37512422923", false},
		{"URN:UVCI:01:NL:187/37512422923#", false},
		{"URN:UVCI:01:NL:187/37512422923#ZZ", false},
		{"urn:uvci:01:nl:187/37512422923#Z", false},
		{"#Z", false},
		{"", false},
		{"URN:UVCI:01:NL:MY/INPUT/STRING#H", true},
		{"URN:UVCI:01:NL:MY/INPUT/STRING#S", false},
	}
	for _, tc := range tests {
		if got := ValidUVCIChecksum(tc.in); got != tc.want {
			t.Errorf("ValidUVCIChecksum(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

var uvciFormat = regexp.MustCompile(`^URN:UVCI:01:VN:[A-Z0-9/]+#[A-Z0-9/:]$`)

// uvciTime is the issuing time of the UVCI tests: second 59,051,535 since
// 2021-01-01, "0Z5OGF" in base 36.
var uvciTime = time.Date(2022, 11, 15, 11, 12, 15, 0, time.UTC)

func TestDeriveUVCI(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	const person, doses = "079090001234", "dose-key-1"
	got := DeriveUVCI(secret, "VN", uvciTime, person, doses)
	if !uvciFormat.MatchString(got) {
		t.Fatalf("DeriveUVCI = %q, not of the form %s", got, uvciFormat)
	}
	if len(got) != 33 {
		t.Errorf("len(DeriveUVCI) = %d, want 33", len(got))
	}
	if !ValidUVCIChecksum(got) {
		t.Errorf("DeriveUVCI = %q: checksum does not verify", got)
	}
	if strings.Contains(got, person) {
		t.Errorf("DeriveUVCI = %q contains the person ID", got)
	}
	// The opaque part starts with the issuing second since 2021-01-01.
	sec := uvciTime.Unix() - time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	if want := fmt.Sprintf("%06s", strings.ToUpper(strconv.FormatInt(sec, 36))); got[15:21] != want || want != "0Z5OGF" {
		t.Errorf("DeriveUVCI = %q: time prefix %q, want %q", got, got[15:21], want)
	}
	if again := DeriveUVCI(secret, "VN", uvciTime.Add(999*time.Millisecond), person, doses); again != got {
		t.Errorf("DeriveUVCI not deterministic within a second: %q then %q", got, again)
	}

	// Each input changes the opaque part's HMAC, and field boundaries count.
	other := []byte("fedcba9876543210fedcba9876543210")
	variants := map[string]string{
		"secret":      DeriveUVCI(other, "VN", uvciTime, person, doses),
		"country":     DeriveUVCI(secret, "VA", uvciTime, person, doses),
		"person":      DeriveUVCI(secret, "VN", uvciTime, person+"5", doses),
		"doses":       DeriveUVCI(secret, "VN", uvciTime, person, doses+"x"),
		"boundary":    DeriveUVCI(secret, "VN", uvciTime, person+"d", "ose-key-1"),
		"empty parts": DeriveUVCI(secret, "VN", uvciTime, "", ""),
		"second":      DeriveUVCI(secret, "VN", uvciTime.Add(time.Second), person, doses),
	}
	seen := map[string]string{got[21:31]: "base"}
	for name, v := range variants {
		if v == "" {
			t.Errorf("%s: DeriveUVCI = \"\"", name)
			continue
		}
		if prev, dup := seen[v[21:31]]; dup {
			t.Errorf("%s: same HMAC part as %s", name, prev)
		}
		seen[v[21:31]] = name
	}
}

// TestDeriveUVCISortsByTime checks what the store's indexes rely on: UVCIs
// sort in the order of their issuing seconds, whatever the rest.
func TestDeriveUVCISortsByTime(t *testing.T) {
	secret := []byte("0123456789abcdef")
	var prev string
	for i, at := range []time.Time{
		{}, // the zero time counts as 2021-01-01
		time.Date(2021, 1, 1, 0, 0, 1, 0, time.UTC),
		time.Date(2021, 1, 1, 0, 0, 36, 0, time.UTC),
		uvciTime,
		uvciTime.Add(time.Second),
		time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		time.Date(2089, 12, 1, 0, 0, 0, 0, time.UTC),
	} {
		u := DeriveUVCI(secret, "VN", at, fmt.Sprint("person ", 100-i), "d")
		if u == "" {
			t.Fatalf("DeriveUVCI(%v) = \"\"", at)
		}
		if u <= prev {
			t.Errorf("DeriveUVCI(%v) = %q sorts before or with %q", at, u, prev)
		}
		prev = u
	}
	if got := DeriveUVCI(secret, "VN", time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), "p", "d"); got[15:21] != "000000" {
		t.Errorf("a time before 2021: prefix %q, want 000000", got[15:21])
	}
}

func TestDeriveUVCIRejects(t *testing.T) {
	secret := []byte("0123456789abcdef")
	tests := []struct {
		name    string
		secret  []byte
		country string
		at      time.Time
	}{
		{"short secret", secret[:15], "VN", uvciTime},
		{"nil secret", nil, "VN", uvciTime},
		{"lower-case country", secret, "vn", uvciTime},
		{"three-letter country", secret, "VNM", uvciTime},
		{"empty country", secret, "", uvciTime},
		{"after the time prefix's range", secret, "VN", time.Date(2090, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		if got := DeriveUVCI(tc.secret, tc.country, tc.at, "p", "d"); got != "" {
			t.Errorf("%s: DeriveUVCI = %q, want \"\"", tc.name, got)
		}
	}
}

// TestDeriveUVCIDistinct derives many UVCIs in one second and checks there
// is no collision and that the HMAC part uses its whole alphabet.
func TestDeriveUVCIDistinct(t *testing.T) {
	secret := []byte("0123456789abcdef")
	seen := make(map[string]bool)
	chars := make(map[rune]bool)
	for i := range 20000 {
		u := DeriveUVCI(secret, "VN", uvciTime, string(rune('A'+i%26))+strings.Repeat("9", i/26), "d")
		if seen[u] {
			t.Fatalf("collision at %d: %q", i, u)
		}
		seen[u] = true
		for _, c := range u[21:31] {
			chars[c] = true
		}
	}
	if len(chars) != 36 {
		t.Errorf("HMAC parts use %d distinct characters, want 36", len(chars))
	}
}

func BenchmarkDeriveUVCI(b *testing.B) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	b.ReportAllocs()
	for b.Loop() {
		DeriveUVCI(secret, "VN", uvciTime, "079090001234", "1|2|EU/1/20/1528|ORG-100030215|AB123|2021-09-01|VN")
	}
}
