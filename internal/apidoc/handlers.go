package apidoc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"
)

// SpecHandler serves doc (the output of Build) as application/json. The
// document is fixed for the life of the process, so it carries a strong
// ETag and conditional requests get 304.
func SpecHandler(doc []byte) http.Handler {
	return fixedContent(doc, "application/json", map[string]string{
		// Lets a docs UI or code generator on another origin read it.
		"Access-Control-Allow-Origin": "*",
	})
}

// SwaggerHandler serves Swagger UI, with its assets embedded in the binary by
// github.com/swaggest/swgui, so the page works with no network access. Mount
// it on SwaggerPath and below ("GET /swagger" and "GET /swagger/"): the page
// is served at either, its assets below. specURL is the path of the
// document, usually SpecPath. The spec validator badge is disabled (it would
// send the document to validator.swagger.io).
func SwaggerHandler(specURL string) http.Handler { return swaggerUI(specURL, SwaggerPath) }

// RedocHandler serves the same Swagger UI page at RedocPath, where the
// original gateway served ReDoc; its assets still come from below
// SwaggerPath. (No maintained Go module embeds ReDoc for offline use, and
// the project vendors no JavaScript bundles, so Swagger UI serves both.)
func RedocHandler(specURL string) http.Handler { return swaggerUI(specURL, RedocPath) }

// swaggerUI serves the Swagger UI page at path, loading its assets from
// below SwaggerPath.
func swaggerUI(specURL, path string) http.Handler {
	return v5emb.NewHandlerWithConfig(swgui.Config{
		Title:            "Metagov API",
		SwaggerJSON:      specURL,
		BasePath:         SwaggerPath + "/",
		InternalBasePath: path + "/",
		SettingsUI: map[string]string{
			"validatorUrl": "null",
			// Show the schemas section: plugin schemas are most of the document.
			"defaultModelsExpandDepth": "1",
		},
	})
}

// fixedContent serves a body computed once at start. GET and HEAD are
// answered (with ETag revalidation); other methods get 405 in the API's
// error format.
func fixedContent(body []byte, contentType string, headers map[string]string) http.Handler {
	body = bytes.Clone(body)
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			h.Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusMethodNotAllowed)
			_, _ = w.Write([]byte(`{"detail":"method not allowed","code":"method_not_allowed"}` + "\n"))
			return
		}
		for k, v := range headers {
			h.Set(k, v)
		}
		h.Set("Content-Type", contentType)
		h.Set("ETag", etag)
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
}
