// Package scanpage serves the venue scan page at /scan: the page, its
// scripts, the service worker, the vendored QR decoder (jsQR 1.4.0,
// Apache-2.0, from npm; see assets/jsQR.LICENSE) and the WebAssembly
// verifier built by `make wasm` (cmd/vaxcert-wasm). The issuer service and
// the verifier service both mount it.
//
// The page verifies in the browser, offline after one visit; see
// assets/scan.js. The root it checks the lists against is pinned in the
// page: the server writes the CSCA certificate into it.
package scanpage

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

// assets holds the page; verifier.wasm.gz (gzip -9) and wasm_exec.js are
// there only when `make wasm` ran before the build.
//
//go:embed assets
var assets embed.FS

// Config is what the page needs to know.
type Config struct {
	// Root is the pinned CSCA certificate (PEM) the lists must chain to.
	Root []byte
	// TrustList and Revocations are the URLs of the signed lists the page
	// fetches (verifier/lists formats), e.g. /v1/trust-list and
	// /v1/revocations.
	TrustList, Revocations string
	// RuleSet is the URL of the signed rule set (verifier/rules, e.g.
	// /v1/rule-set; a 404 there means none) that the page applies as the
	// service does, with the venue's Country ("" means the rule set's
	// issuer) and Region; "" means the page applies no rules.
	RuleSet, Country, Region string
	// Policy is the vaccination policy the service answers with
	// (verifier/policy's JSON), so that the page decides the same; nil
	// means the defaults.
	Policy []byte
}

// ErrNoWasm is returned by [Check] when the binary was built without
// `make wasm`.
var ErrNoWasm = errors.New("scanpage: verifier.wasm is not embedded: run `make wasm` before building")

// Check reports whether the WebAssembly verifier is embedded.
func Check() error {
	for _, f := range []string{"verifier.wasm.gz", "wasm_exec.js"} {
		if _, err := fs.Stat(assets, "assets/"+f); err != nil {
			return ErrNoWasm
		}
	}
	return nil
}

type pageConfig struct {
	Root         string `json:"root"`
	TrustList    string `json:"trust_list"`
	Revocations  string `json:"revocations"`
	RuleSet      string `json:"rule_set"`
	Country      string `json:"country"`
	Region       string `json:"region"`
	Policy       string `json:"policy"`
	ResetSeconds int    `json:"reset_seconds"`
}

var pageTemplate = template.Must(template.ParseFS(assets, "assets/index.html"))

// csp allows the page's own scripts, the WebAssembly compile, the decoder
// worker and the camera.
const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; " +
	"style-src 'self'; img-src 'self' data:; media-src 'self' blob: mediastream:; connect-src 'self'"

var contentTypes = map[string]string{
	".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
	".wasm": "application/wasm", ".LICENSE": "text/plain; charset=utf-8",
}

// Register mounts the page on e: GET /scan and GET /scan/:file, each
// behind mw.
func Register(e *echo.Echo, cfg Config, mw ...echo.MiddlewareFunc) {
	var page bytes.Buffer
	err := pageTemplate.Execute(&page, pageConfig{Root: string(cfg.Root), TrustList: cfg.TrustList,
		Revocations: cfg.Revocations, RuleSet: cfg.RuleSet, Country: cfg.Country, Region: cfg.Region,
		Policy: string(cfg.Policy), ResetSeconds: 10})
	if err != nil { // strings into a fixed template: only a bug in it fails
		panic("scanpage: " + err.Error())
	}
	html := page.Bytes()
	sw := serviceWorker()
	e.GET("/scan", func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", csp)
		h.Set(echo.HeaderCacheControl, "no-cache")
		return c.Blob(http.StatusOK, "text/html; charset=utf-8", html)
	}, mw...)
	e.GET("/scan/:file", func(c echo.Context) error {
		name := c.Param("file")
		h := c.Response().Header()
		h.Set(echo.HeaderCacheControl, "no-cache")
		if strings.Contains(name, "/") || name == "index.html" {
			return echo.ErrNotFound
		}
		if name == "verifier.wasm" {
			return serveWasm(c)
		}
		b, err := fs.ReadFile(assets, "assets/"+name)
		if err != nil {
			return echo.ErrNotFound
		}
		if name == "sw.js" {
			h.Set("Service-Worker-Allowed", "/scan")
			b = sw
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			return echo.ErrNotFound
		}
		return c.Blob(http.StatusOK, ct, b)
	}, mw...)
}

// serviceWorker returns sw.js with the build's version: a hash of every
// embedded asset, so that a new build replaces the whole offline copy at
// once.
func serviceWorker() []byte {
	h := sha256.New()
	err := fs.WalkDir(assets, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(assets, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil { // an embedded file system cannot fail to read
		panic("scanpage: " + err.Error())
	}
	sw, err := fs.ReadFile(assets, "assets/sw.js")
	if err != nil {
		panic("scanpage: " + err.Error())
	}
	return bytes.Replace(sw, []byte("{{VERSION}}"), []byte(hex.EncodeToString(h.Sum(nil))[:16]), 1)
}

// serveWasm sends the embedded gzip file as it is to clients that accept
// gzip (every browser), and inflated to the others.
func serveWasm(c echo.Context) error {
	gz, err := assets.Open("assets/verifier.wasm.gz")
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, ErrNoWasm.Error())
	}
	defer gz.Close()
	h := c.Response().Header()
	h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	if strings.Contains(c.Request().Header.Get(echo.HeaderAcceptEncoding), "gzip") {
		h.Set(echo.HeaderContentEncoding, "gzip")
		return c.Stream(http.StatusOK, "application/wasm", gz)
	}
	r, err := gzip.NewReader(gz)
	if err != nil {
		return err
	}
	return c.Stream(http.StatusOK, "application/wasm", r)
}
