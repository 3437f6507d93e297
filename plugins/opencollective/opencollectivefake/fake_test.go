package opencollectivefake

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestServe checks the fake's answers to what the real API refuses: the
// plugin's tests rely on them to fail as they would in production.
func TestServe(t *testing.T) {
	t.Parallel()
	f := New(t)
	const collective = `query($slug: String) { collective(slug: $slug) { id name slug legacyId } }`
	tests := []struct {
		name        string
		header      map[string]string
		contentType string
		body        string
		status      int
		want        string // a fragment of the answer
	}{
		{name: "valid query", body: req(collective, map[string]any{"slug": CollectiveSlug}),
			status: http.StatusOK, want: `"name":"Metagov"`},
		{name: "aliases and fragments", body: req(`query { c: collective(slug: "metagov") { ... on Account { s: slug } __typename } }`, nil),
			status: http.StatusOK, want: `{"c":{"__typename":"Collective","s":"metagov"}}`},
		{name: "unknown field", body: req(`query { collective(slug: "metagov") { nope } }`, nil),
			status: http.StatusBadRequest, want: `{"errors":[{"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"},"locations":[{"line":1,"column":39}],"message":"Cannot query field \"nope\" on type \"Collective\".`},
		{name: "syntax error", body: req(`query { collective(`, nil), status: http.StatusBadRequest, want: "GRAPHQL_PARSE_FAILED"},
		{name: "variable of the wrong type", body: req(collective, map[string]any{"slug": 5}), status: http.StatusBadRequest, want: "BAD_USER_INPUT"},
		{name: "missing collective", body: req(`query { collective(slug: "nope") { id } }`, nil), status: http.StatusOK, want: `"code":"NotFound"`},
		{name: "wrong personal token", header: map[string]string{"Personal-Token": "x"}, body: req(collective, nil),
			status: http.StatusUnauthorized, want: `"message":"Invalid Personal Token (Api Key): x"`},
		{name: "wrong api key", header: map[string]string{"Api-Key": "x"}, body: req(collective, nil), status: http.StatusUnauthorized, want: "unauthorized"},
		{name: "wrong bearer runs anonymously", header: map[string]string{"Authorization": "Bearer x"},
			body:   req(`mutation { createConversation(title: "t", html: "h", account: {slug: "metagov"}) { id } }`, nil),
			status: http.StatusOK, want: `"code":"Unauthorized"`},
		{name: "personal token", header: map[string]string{"Personal-Token": PersonalToken},
			body:   req(`mutation { createConversation(title: "t", html: "h", account: {slug: "metagov"}) { id } }`, nil),
			status: http.StatusOK, want: `"createConversation":{"id":"conv_`},
		{name: "form body", contentType: "application/x-www-form-urlencoded", body: "query=x", status: http.StatusBadRequest, want: "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := http.NewRequest(http.MethodPost, f.URL+"/graphql/v2", strings.NewReader(tt.body))
			require.NoError(t, err)
			r.Header.Set("Content-Type", "application/json")
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(r)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tt.status, resp.StatusCode, string(body))
			require.Contains(t, string(body), tt.want)
		})
	}
}

func req(query string, vars map[string]any) string {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return string(b)
}
