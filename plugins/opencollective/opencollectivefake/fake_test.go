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
		validation  bool   // needs the published schema
	}{
		{name: "valid query", body: req(collective, map[string]any{"slug": CollectiveSlug}),
			status: http.StatusOK, want: `"name":"Metagov"`},
		{name: "aliases and fragments", body: req(`query { c: collective(slug: "metagov") { ... on Account { s: slug } __typename } }`, nil),
			status: http.StatusOK, want: `{"c":{"__typename":"Collective","s":"metagov"}}`, validation: true},
		{name: "unknown field", body: req(`query { collective(slug: "metagov") { nope } }`, nil),
			status: http.StatusBadRequest, want: `{"errors":[{"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"},"locations":[{"line":1,"column":39}],"message":"Cannot query field \"nope\" on type \"Collective\".`, validation: true},
		{name: "syntax error", body: req(`query { collective(`, nil), status: http.StatusBadRequest, want: "GRAPHQL_PARSE_FAILED"},
		{name: "variable of the wrong type", body: req(collective, map[string]any{"slug": 5}), status: http.StatusBadRequest, want: "BAD_USER_INPUT", validation: true},
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
			if tt.validation && !f.Validating() {
				t.Skip("Open Collective's schema is absent: nothing to validate against")
			}
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

// TestCreateWebhookRefusals checks that createWebhook refuses what Open
// Collective refuses: URLs that are not URLs with a top-level domain, IP
// addresses, private names, hosts that do not resolve or resolve to private
// addresses, and, on a bot with 2FA, a token not pre-authorized for it.
func TestCreateWebhookRefusals(t *testing.T) {
	t.Parallel()
	const mutation = `mutation($w: WebhookCreateInput!) { createWebhook(webhook: $w) { id webhookUrl } }`
	create := func(t *testing.T, f *Fake, url string) string {
		t.Helper()
		r, err := http.NewRequest(http.MethodPost, f.URL+"/graphql/v2", strings.NewReader(req(mutation, map[string]any{
			"w": map[string]any{"account": map[string]any{"slug": CollectiveSlug}, "activityType": "ACTIVITY_ALL", "webhookUrl": url}})))
		require.NoError(t, err)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Personal-Token", PersonalToken)
		resp, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		return string(body)
	}
	tests := []struct {
		url  string
		want string // a fragment of the answer
	}{
		{url: "https://hooks.example.org/x", want: `"webhookUrl":"https://hooks.example.org/x"`},
		{url: "http://127.0.0.1:8000/x", want: "Validation error: IP addresses cannot be used as webhooks"},
		{url: "http://[::1]:8000/x", want: "IP addresses cannot be used as webhooks"},
		{url: "http://localhost:8000/x", want: "Validation error: Webhook URL must be a valid URL"},
		{url: "http://metagov:8000/x", want: "Webhook URL must be a valid URL"},
		{url: "https://hooks.example.org./x", want: "Webhook URL must be a valid URL"},
		{url: "https://a.b.local/x", want: "Webhook URL hostname is not allowed"},
		{url: "https://gw.internal/x", want: "Webhook URL hostname is not allowed"},
		{url: "https://api.opencollective.com/x", want: "Open Collective URLs cannot be used as webhooks"},
		{url: "https://nowhere.example/x", want: "Webhook URL hostname could not be resolved"},
		{url: "https://lan.example/x", want: "Webhook URL resolves to a disallowed address"},
		{url: "https://cgnat.example/x", want: "Webhook URL resolves to a disallowed address"},
	}
	f := New(t)
	f.SetHost("hooks.example.org", "93.184.215.14")
	f.SetHost("lan.example", "10.1.2.3")
	f.SetHost("cgnat.example", "100.64.1.1")
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			body := create(t, f, tt.url)
			require.Contains(t, body, tt.want)
			if !strings.Contains(tt.want, "webhookUrl") {
				require.Contains(t, body, `"code":"INTERNAL_SERVER_ERROR"`)
			}
		})
	}
	require.Len(t, f.Webhooks(), 1)

	t.Run("2fa", func(t *testing.T) {
		t.Parallel()
		f := New(t)
		f.SetHost("hooks.example.org", "93.184.215.14")
		f.RequireTwoFactor(false)
		require.Contains(t, create(t, f, "https://hooks.example.org/x"), "This personal token is not pre-authorized for 2FA")
		require.Empty(t, f.Webhooks())
		f.RequireTwoFactor(true)
		require.Contains(t, create(t, f, "https://hooks.example.org/x"), `"webhookUrl"`)
	})
}

// TestDeleteWebhookRefusals checks that deleteWebhook refuses what Open
// Collective refuses (WebhookMutations.ts): a webhook that does not exist,
// and one of an account the caller does not administer. Two-factor
// authentication is asked only on login there, so a token not
// pre-authorized for it may still delete.
func TestDeleteWebhookRefusals(t *testing.T) {
	t.Parallel()
	call := func(t *testing.T, f *Fake, query string, vars map[string]any) string {
		t.Helper()
		r, err := http.NewRequest(http.MethodPost, f.URL+"/graphql/v2", strings.NewReader(req(query, vars)))
		require.NoError(t, err)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Personal-Token", PersonalToken)
		resp, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		return string(body)
	}
	const create = `mutation($w: WebhookCreateInput!) { createWebhook(webhook: $w) { id } }`
	const del = `mutation($w: WebhookReferenceInput!) { deleteWebhook(webhook: $w) { id } }`
	f := New(t)
	f.SetHost("hooks.example.org", "93.184.215.14")
	call(t, f, create, map[string]any{"w": map[string]any{"account": map[string]any{"slug": CollectiveSlug},
		"activityType": "ACTIVITY_ALL", "webhookUrl": "https://hooks.example.org/x"}})
	hooks := f.Webhooks()
	require.Len(t, hooks, 1)

	f.mu.Lock()
	f.seq++
	foreign := &webhook{legacyID: f.seq, id: "not_foreign", account: f.accountBySlug(OtherCollectiveSlug), url: "https://hooks.example.org/y"}
	f.webhooks = append(f.webhooks, foreign)
	f.mu.Unlock()
	body := call(t, f, del, map[string]any{"w": map[string]any{"id": foreign.id}})
	require.Contains(t, body, "You don't have sufficient permissions to delete this webhook")
	require.Contains(t, body, `"code":"Forbidden"`)
	require.Len(t, f.Webhooks(), 2)

	f.RequireTwoFactor(false)
	require.Contains(t, call(t, f, del, map[string]any{"w": map[string]any{"id": hooks[0].ID}}), `"deleteWebhook":{"id":"`+hooks[0].ID+`"}`)
	require.Len(t, f.Webhooks(), 1)
	body = call(t, f, del, map[string]any{"w": map[string]any{"id": hooks[0].ID}})
	require.Contains(t, body, "Webhook not found")
	require.Contains(t, body, `"code":"NotFound"`)
}
