package issuer

import (
	"errors"
	"regexp"
	"strings"
	"testing"
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

func TestDeriveUVCI(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	const person, doses = "079090001234", "dose-key-1"
	got := DeriveUVCI(secret, "VN", person, doses)
	if !uvciFormat.MatchString(got) {
		t.Fatalf("DeriveUVCI = %q, not of the form %s", got, uvciFormat)
	}
	if len(got) < 27 || len(got) > 30 {
		t.Errorf("len(DeriveUVCI) = %d, want 27–30", len(got))
	}
	if !ValidUVCIChecksum(got) {
		t.Errorf("DeriveUVCI = %q: checksum does not verify", got)
	}
	if strings.Contains(got, person) {
		t.Errorf("DeriveUVCI = %q contains the person ID", got)
	}
	if again := DeriveUVCI(secret, "VN", person, doses); again != got {
		t.Errorf("DeriveUVCI not deterministic: %q then %q", got, again)
	}

	// Each input changes the result, and field boundaries count.
	other := []byte("fedcba9876543210fedcba9876543210")
	variants := map[string]string{
		"secret":      DeriveUVCI(other, "VN", person, doses),
		"country":     DeriveUVCI(secret, "VA", person, doses),
		"person":      DeriveUVCI(secret, "VN", person+"5", doses),
		"doses":       DeriveUVCI(secret, "VN", person, doses+"x"),
		"boundary":    DeriveUVCI(secret, "VN", person+"d", "ose-key-1"),
		"empty parts": DeriveUVCI(secret, "VN", "", ""),
	}
	seen := map[string]string{got: "base"}
	for name, v := range variants {
		if v == "" {
			t.Errorf("%s: DeriveUVCI = \"\"", name)
			continue
		}
		if prev, dup := seen[strings.SplitN(v[15:], "#", 2)[0]]; dup {
			t.Errorf("%s: same opaque part as %s", name, prev)
		}
		seen[strings.SplitN(v[15:], "#", 2)[0]] = name
	}
}

func TestDeriveUVCIRejects(t *testing.T) {
	secret := []byte("0123456789abcdef")
	tests := []struct {
		name    string
		secret  []byte
		country string
	}{
		{"short secret", secret[:15], "VN"},
		{"nil secret", nil, "VN"},
		{"lower-case country", secret, "vn"},
		{"three-letter country", secret, "VNM"},
		{"empty country", secret, ""},
	}
	for _, tc := range tests {
		if got := DeriveUVCI(tc.secret, tc.country, "p", "d"); got != "" {
			t.Errorf("%s: DeriveUVCI = %q, want \"\"", tc.name, got)
		}
	}
}

// TestDeriveUVCIDistinct derives many UVCIs and checks there is no collision
// and that the opaque part uses its whole alphabet.
func TestDeriveUVCIDistinct(t *testing.T) {
	secret := []byte("0123456789abcdef")
	seen := make(map[string]bool)
	chars := make(map[rune]bool)
	for i := range 20000 {
		u := DeriveUVCI(secret, "VN", string(rune('A'+i%26))+strings.Repeat("9", i/26), "d")
		if seen[u] {
			t.Fatalf("collision at %d: %q", i, u)
		}
		seen[u] = true
		for _, c := range u[15:28] {
			chars[c] = true
		}
	}
	if len(chars) != 36 {
		t.Errorf("opaque parts use %d distinct characters, want 36", len(chars))
	}
}

func BenchmarkDeriveUVCI(b *testing.B) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	b.ReportAllocs()
	for b.Loop() {
		DeriveUVCI(secret, "VN", "079090001234", "1|2|EU/1/20/1528|ORG-100030215|AB123|2021-09-01|VN")
	}
}
