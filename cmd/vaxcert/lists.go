package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/vaxcert/vaxcert/verifier/policy"
)

// readSource reads a list from a file or, for http:// and https://, a
// URL, at most limit bytes.
func readSource(flagName, src string, limit int) ([]byte, error) {
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, withHint(fmt.Errorf("--%s: %w", flagName, err))
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, withHint(fmt.Errorf("--%s: %w", flagName, err),
				"check the issuer's address and that it runs; or pass a file written by \"vaxcert trust export\"",
				"kiểm tra địa chỉ đơn vị cấp và dịch vụ đang chạy; hoặc dùng tệp do \"vaxcert trust export\" tạo")
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return nil, withHint(fmt.Errorf("--%s: GET %s: status %d", flagName, src, res.StatusCode),
				"check the URL (…/v1/trust-list or …/v1/revocations) / kiểm tra lại địa chỉ URL")
		}
		return readLimited(flagName, res.Body, limit)
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, withHint(fmt.Errorf("--%s: %w", flagName, err))
	}
	defer f.Close()
	return readLimited(flagName, f, limit)
}

func readLimited(flagName string, r io.Reader, limit int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, withHint(fmt.Errorf("--%s: %w", flagName, err))
	}
	if len(b) > limit {
		return nil, withHint(fmt.Errorf("--%s: over %d bytes", flagName, limit),
			"this is not a list the issuer publishes / đây không phải danh sách do đơn vị cấp công bố")
	}
	return b, nil
}

// loadPolicy reads --policy: "" or "default" for the safe defaults, else a
// JSON file (verifier/policy.ParseConfig).
func loadPolicy(path string) (*policy.Policy, error) {
	if path == "" || path == "default" {
		return policy.Default(), nil
	}
	b, err := readSource("policy", path, 64<<10)
	if err != nil {
		return nil, err
	}
	c, err := policy.ParseConfig(b)
	if err == nil {
		var p *policy.Policy
		if p, err = policy.New(c); err == nil {
			return p, nil
		}
	}
	return nil, withHint(fmt.Errorf("--policy: %w", err), "see the verifier/policy package documentation for the members",
		"xem tài liệu gói verifier/policy về các trường của chính sách")
}
