package apidoc

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func serve(t *testing.T, h http.Handler, method, target string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(body)
}

// assetTag matches the tags that make a browser fetch something.
var assetTag = regexp.MustCompile(`(?is)<(script|link|img|iframe|source|object|embed)\b[^>]*>`)

// assertNoRemoteAssets fails if the page would load anything from the network.
func assertNoRemoteAssets(t *testing.T, page string) {
	t.Helper()
	for _, tag := range assetTag.FindAllString(page, -1) {
		assert.NotRegexp(t, `(?i)(https?:)?//`, tag, "remote asset")
	}
	assert.NotRegexp(t, `(?i)url\(\s*['"]?(https?:)?//`, page, "remote asset in CSS")
	assert.NotRegexp(t, `(?i)@import`, page, "CSS import")
}

func TestSpecHandler(t *testing.T) {
	doc := buildTestDoc(t)
	h := SpecHandler(doc)
	res, body := serve(t, h, http.MethodGet, SpecPath, nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
	assert.Equal(t, string(doc), body)

	res, _ = serve(t, h, http.MethodGet, SpecPath, map[string]string{"If-None-Match": res.Header.Get("ETag")})
	assert.Equal(t, http.StatusNotModified, res.StatusCode)
}

// Swagger UI is served at /swagger, /swagger/ and, where the original served
// ReDoc, /redoc: the same page, loading the same embedded assets.
func TestSwaggerHandler(t *testing.T) {
	mux := http.NewServeMux()
	swagger := SwaggerHandler(SpecPath)
	mux.Handle("GET "+SwaggerPath, swagger)
	mux.Handle("GET "+SwaggerPath+"/", swagger)
	mux.Handle("GET "+RedocPath, RedocHandler(SpecPath))

	for _, path := range []string{SwaggerPath, SwaggerPath + "/", RedocPath} {
		t.Run(path, func(t *testing.T) {
			res, page := serve(t, mux, http.MethodGet, path, nil)
			require.Equal(t, http.StatusOK, res.StatusCode)
			assert.Contains(t, page, "<title>Metagov API - Swagger UI</title>")
			assert.Contains(t, page, `"swaggerJsonUrl":"`+SpecPath+`"`)
			assert.Regexp(t, `validatorUrl:\s*null`, page, "the validator would fetch from validator.swagger.io")
			assertNoRemoteAssets(t, page)

			// The assets the page loads are served from the binary.
			srcs := regexp.MustCompile(`(?:src|href)="(/swagger/[^"]+)"`).FindAllStringSubmatch(page, -1)
			require.NotEmpty(t, srcs)
			for _, m := range srcs {
				res, body := serve(t, mux, http.MethodGet, m[1], nil)
				assert.Equal(t, http.StatusOK, res.StatusCode, m[1])
				assert.NotEmpty(t, body, m[1])
				if strings.HasSuffix(m[1], ".js") {
					assert.Greater(t, len(body), 10_000, m[1])
				}
			}
		})
	}
}
