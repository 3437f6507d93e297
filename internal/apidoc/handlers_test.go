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

	"github.com/metagov/metagov-go/plugin"
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

func TestRedocHandler(t *testing.T) {
	h, err := RedocHandler(buildTestDoc(t))
	require.NoError(t, err)

	res, page := serve(t, h, http.MethodGet, RedocPath, nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'none'")

	for _, want := range []string{
		"<title>Metagov API 1.2.3",
		// Index of tags with anchors, and the sections they point at.
		`<a href="#tag-community-configuration">Community Configuration</a>`,
		`<a href="#tag-actions-public">Actions (Public)</a>`,
		`id="tag-governance-processes"`,
		// Operations: method, path, operation id.
		`id="op-dice.roll"`,
		`<code class="path">/api/internal/action/dice.roll</code>`,
		`<code class="path">/api/action/dice.roll</code>`,
		`operationId <code>start.chat.poll</code>`,
		`<code class="path">/api/internal/process/chat.poll/{id}</code>`,
		`<code class="path">/api/internal/plugin/chat</code>`,
		"X-Metagov-Community",
		// Schemas, linked and listed.
		`id="schema-chat.poll.input"`,
		`href="#schema-chat.poll.input"`,
		`<span class="k">&#34;writeOnly&#34;</span>: <span class="n">true</span>`,
		`<span class="s">&#34;uri&#34;</span>`,
	} {
		assert.Contains(t, page, want)
	}
	assert.NotContains(t, page, "<script", "the page needs no JavaScript")
	assertNoRemoteAssets(t, page)

	// Every in-page link has a target.
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`id="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		ids[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`href="#([^"]+)"`).FindAllStringSubmatch(page, -1) {
		assert.True(t, ids[m[1]], "link to missing anchor #%s", m[1])
	}

	res, body := serve(t, h, http.MethodHead, RedocPath, nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Empty(t, body)

	etag := res.Header.Get("ETag")
	require.NotEmpty(t, etag)
	res, _ = serve(t, h, http.MethodGet, RedocPath, map[string]string{"If-None-Match": etag})
	assert.Equal(t, http.StatusNotModified, res.StatusCode)

	res, body = serve(t, h, http.MethodPost, RedocPath, nil)
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
	assert.JSONEq(t, `{"detail":"method not allowed","code":"method_not_allowed"}`, body)
}

func TestRedocEscapesPluginText(t *testing.T) {
	doc, err := Build([]plugin.Info{{
		Name:        "evil",
		Description: `<script src="https://evil.example/x.js"></script> & "quotes"`,
		Config:      plugin.Schema(`{"type":"object","description":"</pre><img src=https://evil.example/y.png>"}`),
		Actions:     []plugin.Action{{Name: "act", Description: "`<b>code</b>` <i>x</i>"}},
	}}, Options{})
	require.NoError(t, err)
	h, err := RedocHandler(doc)
	require.NoError(t, err)
	_, page := serve(t, h, http.MethodGet, RedocPath, nil)

	assert.NotContains(t, page, "<script")
	assert.NotContains(t, page, "<img")
	assert.NotContains(t, page, "<i>x</i>")
	assert.Contains(t, page, "&lt;script src=&#34;https://evil.example/x.js&#34;&gt;")
	assert.Contains(t, page, "<code>&lt;b&gt;code&lt;/b&gt;</code>")
	assertNoRemoteAssets(t, page)
}

func TestRedocHandlerRejectsBadDocument(t *testing.T) {
	_, err := RedocHandler([]byte(`{"openapi": `))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rendering api reference")
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

func TestSwaggerHandler(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET "+SwaggerPath, SwaggerHandler(SpecPath))

	res, page := serve(t, mux, http.MethodGet, SwaggerPath, nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
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
}
