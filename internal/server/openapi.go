package server

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPI is the API's OpenAPI 3.1 document, kept in the repository as
// internal/server/openapi.yaml; a test checks that it lists every route.
//
//go:embed openapi.yaml
var openAPI []byte

func serveOpenAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, "application/yaml", openAPI)
}
