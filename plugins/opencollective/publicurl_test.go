package opencollective_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	ocfake "github.com/metagov/metagov-go/plugins/opencollective/opencollectivefake"
)

// lockedBuffer is a log sink that the gateway's goroutines may share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// createWebhookCalls counts the createWebhook mutations the fake received.
func createWebhookCalls(f *ocfake.Fake) int {
	n := 0
	for _, r := range f.Requests() {
		for _, field := range r.Fields {
			if field == "createWebhook" {
				n++
			}
		}
	}
	return n
}

// TestEnableWithoutUsablePublicURL checks that a gateway whose public URL
// Open Collective refuses for webhooks (its default, the listen address)
// still enables the plugin: the answer and the log warn that events need
// METAGOV_PUBLIC_URL or a hand-registered webhook, /hooks shows the path,
// actions work, and a later config change under a good public URL
// registers the webhook.
func TestEnableWithoutUsablePublicURL(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		logs := &lockedBuffer{}
		f := newFake(t)
		cfg := app.Config{PublicURL: "http://127.0.0.1:8000", Logger: slog.New(slog.NewTextHandler(logs, nil))}
		s := apptest.Start(t, db, cfg)
		r := s.Do("POST", "/api/internal/community", map[string]any{"slug": community, "readable_name": "OC"})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))

		r = s.Do("POST", "/api/internal/plugin/opencollective", pluginConfig(f, nil), header...)
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		warnings := r.JSON(t)["warnings"].([]any)
		require.Len(t, warnings, 1)
		for _, fragment := range []string{"METAGOV_PUBLIC_URL", "hand-registered webhook",
			"http://127.0.0.1:8000" + hookPath, "IP addresses cannot be used as webhooks", hookPath} {
			require.Contains(t, warnings[0], fragment)
		}
		require.Contains(t, logs.String(), "METAGOV_PUBLIC_URL", "the warning is logged too")
		require.Empty(t, f.Webhooks())
		require.Zero(t, createWebhookCalls(f), "a URL Open Collective refuses is not even tried")

		r = s.Do("GET", "/api/internal/community/"+community+"/hooks", nil)
		require.JSONEq(t, `{"hooks":["`+hookPath+`"]}`, string(r.Body))
		r = s.Do("POST", "/api/internal/action/opencollective.list-members", map[string]any{}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		r = s.Do("GET", "/api/internal/community/"+community, nil)
		require.NotContains(t, string(r.Body), "warnings", "warnings answer the change, they are not stored")

		// Restarted with a public URL Open Collective accepts, the next
		// config change registers the webhook, without warnings.
		s.Stop()
		cfg.PublicURL = publicURL
		s = apptest.Start(t, db, cfg)
		r = s.Do("POST", "/api/internal/plugin/opencollective", pluginConfig(f, map[string]any{"web_url": "https://www.oc.example"}), header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.NotContains(t, r.JSON(t), "warnings")
		hooks := f.Webhooks()
		require.Len(t, hooks, 1)
		require.Equal(t, publicURL+hookPath, hooks[0].URL)
		requireValidQueries(t, f)
	})
}

// TestWebhookURLRules checks, for public URLs Open Collective refuses by
// their syntax or by what their host resolves to, that the plugin enables
// with a warning (in a community PUT too) and registers nothing.
func TestWebhookURLRules(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		tests := []struct {
			name      string
			publicURL string
			tried     bool   // the plugin asks Open Collective, which refuses
			reason    string // in the warning
		}{
			{name: "localhost", publicURL: "http://localhost:8000", reason: "localhost"},
			{name: "ipv6 loopback", publicURL: "http://[::1]:8000", reason: "IP addresses cannot be used as webhooks"},
			{name: "mdns name", publicURL: "https://metagov.local", reason: "metagov.local is not allowed"},
			{name: "internal name", publicURL: "https://gateway.corp.internal", reason: "not allowed"},
			{name: "no top-level domain", publicURL: "http://metagov:8000", reason: "not a public domain name"},
			{name: "numeric top-level domain", publicURL: "https://metagov.123", reason: "not a public domain name"},
			{name: "underscore", publicURL: "https://meta_gov.example", reason: "not a public domain name"},
			{name: "open collective's own", publicURL: "https://hooks.opencollective.com", reason: "Open Collective URLs cannot be used as webhooks"},
			{name: "does not resolve", publicURL: "https://nowhere.example", tried: true,
				reason: "Webhook URL hostname could not be resolved"},
			{name: "resolves to a private address", publicURL: "https://lan.example", tried: true,
				reason: "Webhook URL resolves to a disallowed address"},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFake(t)
				f.SetHost("lan.example", "192.168.1.20")
				s := apptest.Start(t, db, app.Config{PublicURL: tt.publicURL})
				slug := community + "-" + string(rune('a'+i))
				r := s.Do("PUT", "/api/internal/community/"+slug, map[string]any{"plugins": []map[string]any{
					{"name": "opencollective", "config": pluginConfig(f, nil)},
				}})
				require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
				p := r.JSON(t)["plugins"].([]any)[0].(map[string]any)
				warnings := p["warnings"].([]any)
				require.Len(t, warnings, 1)
				require.Contains(t, warnings[0], "METAGOV_PUBLIC_URL")
				require.Contains(t, warnings[0], tt.reason)
				require.True(t, strings.HasPrefix(strings.SplitAfter(warnings[0].(string), "does not accept ")[1], tt.publicURL),
					"the warning names the URL: %s", warnings[0])
				require.Empty(t, f.Webhooks())
				if tt.tried {
					require.Equal(t, 1, createWebhookCalls(f))
				} else {
					require.Zero(t, createWebhookCalls(f))
				}
				requireValidQueries(t, f)
			})
		}
	})
}

// TestTwoFactor checks tokens of a bot with two-factor authentication: one
// created pre-authorized for 2FA works; one that was not is refused at
// enable, naming the credential, and an action it cannot perform says what
// to do.
func TestTwoFactor(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := apptest.Start(t, db, app.Config{PublicURL: publicURL})
		r := s.Do("POST", "/api/internal/community", map[string]any{"slug": community, "readable_name": "OC"})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))

		// Not pre-authorized: enabling fails on createWebhook.
		f := newFake(t)
		f.RequireTwoFactor(false)
		for _, tt := range []struct {
			name, field string
			config      map[string]any
		}{
			{name: "personal token", field: "/api_key", config: nil},
			{name: "oauth token", field: "/access_token", config: map[string]any{"api_key": nil, "access_token": ocfake.AccessToken}},
		} {
			r = s.Do("POST", "/api/internal/plugin/opencollective", pluginConfig(f, tt.config), header...)
			r.RequireError(t, http.StatusBadRequest, "invalid_input", `"Pre-authorize 2FA"`, "not pre-authorized for 2FA")
			require.Equal(t, tt.field, r.JSON(t)["field"], tt.name)
		}
		require.Empty(t, s.Do("GET", "/api/internal/community/"+community, nil).JSON(t)["plugins"])
		require.Empty(t, f.Webhooks())

		// Pre-authorized: everything works.
		f.RequireTwoFactor(true)
		r = s.Do("POST", "/api/internal/plugin/opencollective", pluginConfig(f, nil), header...)
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		require.Len(t, f.Webhooks(), 1)
		e := f.CreateExpense(ocfake.CollectiveSlug, "bob", "Stickers", 1250)
		r = s.Do("POST", "/api/internal/action/opencollective.process-expense",
			map[string]any{"parameters": map[string]any{"expense_id": e.ExpenseLegacyID, "action": "APPROVE"}}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))

		// The token loses its pre-authorization: process-expense fails
		// with what to do, the expense unchanged.
		f.RequireTwoFactor(false)
		e = f.CreateExpense(ocfake.CollectiveSlug, "bob", "Hosting", 5000)
		r = s.Do("POST", "/api/internal/action/opencollective.process-expense",
			map[string]any{"parameters": map[string]any{"expense_id": e.ExpenseLegacyID, "action": "APPROVE"}}, header...)
		r.RequireError(t, http.StatusBadGateway, "platform_error", `"Pre-authorize 2FA"`, "This personal token is not pre-authorized for 2FA")
		require.Equal(t, "PENDING", f.ExpenseStatus(e.ExpenseLegacyID))
		requireValidQueries(t, f)
	})
}
