package scanpage

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func get(t *testing.T, e *echo.Echo, path, acceptEncoding string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestRegister(t *testing.T) {
	e := echo.New()
	root := "-----BEGIN CERTIFICATE-----\nMIIB</script><script>alert(1)\n-----END CERTIFICATE-----\n"
	Register(e, Config{Root: []byte(root), TrustList: "/v1/trust-list", Revocations: "/v1/revocations",
		Policy: []byte(`{"primary_wait_days":21}`)})

	page := get(t, e, "/scan", "")
	body := page.Body.String()
	if page.Code != http.StatusOK || !strings.Contains(page.Header().Get("Content-Security-Policy"), "'wasm-unsafe-eval'") ||
		!strings.Contains(body, `<script src="/scan/scan.js">`) {
		t.Fatalf("page: %d %v", page.Code, page.Header())
	}
	// The pinned root is in the page as JSON text that cannot end the script.
	if strings.Contains(body, "</script><script>alert") || !strings.Contains(body, "BEGIN CERTIFICATE") ||
		!strings.Contains(body, `"revocations":"/v1/revocations"`) || !strings.Contains(body, `"policy":"{\"primary_wait_days\":21}"`) {
		t.Fatalf("root not escaped in the page:\n%s", body)
	}
	for path, ct := range map[string]string{
		"/scan/scan.js": "text/javascript", "/scan/sw.js": "text/javascript", "/scan/decoder.js": "text/javascript",
		"/scan/jsQR.js": "text/javascript", "/scan/scan.css": "text/css", "/scan/jsQR.LICENSE": "text/plain",
	} {
		r := get(t, e, path, "")
		if r.Code != http.StatusOK || !strings.HasPrefix(r.Header().Get("Content-Type"), ct) || r.Body.Len() == 0 {
			t.Errorf("%s: %d %q", path, r.Code, r.Header().Get("Content-Type"))
		}
	}
	sw := get(t, e, "/scan/sw.js", "")
	if sw.Header().Get("Service-Worker-Allowed") != "/scan" {
		t.Errorf("sw.js scope header: %v", sw.Header())
	}
	// The worker's cache is named after the build: a hash of the assets.
	if v := regexp.MustCompile(`const VERSION = "([0-9a-f]{16})";`).FindStringSubmatch(sw.Body.String()); v == nil {
		t.Errorf("sw.js has no build version:\n%s", sw.Body)
	}
	if r := get(t, e, "/scan/jsQR.LICENSE", ""); !strings.Contains(r.Body.String(), "Apache License") {
		t.Errorf("jsQR licence missing")
	}
	for _, path := range []string{"/scan/index.html", "/scan/nothing.js", "/scan/..%2fscanpage.go", "/scan/assets"} {
		if r := get(t, e, path, ""); r.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, r.Code)
		}
	}
}

// TestWasm checks how the verifier is served: gzip as embedded, inflated
// for clients without gzip, and a clear 404 when `make wasm` did not run.
func TestWasm(t *testing.T) {
	e := echo.New()
	Register(e, Config{})
	gz := get(t, e, "/scan/verifier.wasm", "gzip, deflate")
	plain := get(t, e, "/scan/verifier.wasm", "")
	if err := Check(); errors.Is(err, ErrNoWasm) {
		if gz.Code != http.StatusNotFound || !strings.Contains(gz.Body.String(), "make wasm") {
			t.Fatalf("without the wasm: %d %s", gz.Code, gz.Body)
		}
		return
	}
	if gz.Code != http.StatusOK || gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("Content-Type") != "application/wasm" {
		t.Fatalf("gzip: %d %v", gz.Code, gz.Header())
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	inflated, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if plain.Code != http.StatusOK || plain.Header().Get("Content-Encoding") != "" || !bytes.Equal(plain.Body.Bytes(), inflated) ||
		!bytes.HasPrefix(inflated, []byte("\x00asm")) {
		t.Fatalf("plain: %d %v, %d bytes", plain.Code, plain.Header(), plain.Body.Len())
	}
}
