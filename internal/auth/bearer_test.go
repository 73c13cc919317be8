package auth

import (
	"strings"
	"testing"

	"github.com/vaxcert/vaxcert/internal/limits"
)

func TestBearerToken(t *testing.T) {
	maxTok := strings.Repeat("a", limits.MaxBearerToken)
	tests := []struct {
		name    string
		header  string
		want    string
		wantErr Reason
	}{
		{name: "canonical", header: "Bearer abc.DEF-_~+/", want: "abc.DEF-_~+/"},
		{name: "lowercase scheme", header: "bearer tok", want: "tok"},
		{name: "uppercase scheme", header: "BEARER tok", want: "tok"},
		{name: "padding", header: "Bearer dG9r==", want: "dG9r=="},
		{name: "maximum size", header: "Bearer " + maxTok, want: maxTok},
		{name: "staff token", header: "Bearer vxs_" + strings.Repeat("A", 43), want: "vxs_" + strings.Repeat("A", 43)},

		{name: "empty", header: "", wantErr: ReasonMissing},
		{name: "too large", header: "Bearer " + maxTok + "a", wantErr: ReasonTooLarge},
		{name: "scheme only", header: "Bearer", wantErr: ReasonMalformed},
		{name: "scheme and space", header: "Bearer ", wantErr: ReasonMalformed},
		{name: "two spaces", header: "Bearer  tok", wantErr: ReasonMalformed},
		{name: "tab", header: "Bearer\ttok", wantErr: ReasonMalformed},
		{name: "trailing space", header: "Bearer tok ", wantErr: ReasonMalformed},
		{name: "leading space", header: " Bearer tok", wantErr: ReasonMalformed},
		{name: "basic scheme", header: "Basic dXNlcjpwYXNz", wantErr: ReasonMalformed},
		{name: "scheme prefix", header: "Bearerx tok", wantErr: ReasonMalformed},
		{name: "no scheme", header: "eyJhbGciOiJFUzI1NiJ9", wantErr: ReasonMalformed},
		{name: "two tokens", header: "Bearer a b", wantErr: ReasonMalformed},
		{name: "only padding", header: "Bearer ==", wantErr: ReasonMalformed},
		{name: "padding in the middle", header: "Bearer a=b", wantErr: ReasonMalformed},
		{name: "comma", header: "Bearer a,b", wantErr: ReasonMalformed},
		{name: "non-ASCII", header: "Bearer tök", wantErr: ReasonMalformed},
		{name: "NUL", header: "Bearer a\x00", wantErr: ReasonMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BearerToken(tc.header)
			if tc.wantErr != 0 {
				assertReason(t, err, tc.wantErr)
				if got != "" {
					t.Errorf("token %q returned with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("BearerToken: %v", err)
			}
			if got != tc.want {
				t.Errorf("BearerToken = %q, want %q", got, tc.want)
			}
		})
	}
}
