package opencollective_test

import (
	"context"
	"maps"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	ocfake "github.com/metagov/metagov-go/plugins/opencollective/opencollectivefake"
)

// TestEnable checks what enabling does: the credential is sent the right
// way, the collective's ids land in state, and the webhook is registered
// once, at the instance's real hook URL.
func TestEnable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		config     map[string]any // overrides of the default config
		authHeader string
		authValue  string
	}{
		{name: "personal token", config: nil, authHeader: "Personal-Token", authValue: ocfake.PersonalToken},
		{name: "oauth token", config: map[string]any{"api_key": nil, "access_token": ocfake.AccessToken},
			authHeader: "Authorization", authValue: "Bearer " + ocfake.AccessToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
				t.Parallel()
				b := &testBundle{fake: newFake(t), db: db, cfg: app.Config{PublicURL: publicURL}}
				b.s = apptest.Start(t, db, b.cfg)
				r := b.s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
					{"name": "opencollective", "config": pluginConfig(b.fake, tt.config)},
				}})
				require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
				plugins := r.JSON(t)["plugins"].([]any)
				require.Len(t, plugins, 1)
				p := plugins[0].(map[string]any)
				b.instanceID = int64(p["id"].(float64))
				require.Equal(t, ocfake.CollectiveSlug, p["community_platform_id"])

				reqs := b.fake.Requests()
				require.NotEmpty(t, reqs)
				for _, req := range reqs {
					require.Equal(t, tt.authValue, req.Header.Get(tt.authHeader))
				}
				requireValidQueries(t, b.fake)

				legacyID, id := b.fake.Account(ocfake.CollectiveSlug)
				projectID, _ := b.fake.Account(ocfake.ProjectSlug)
				require.Equal(t, "Metagov", b.state(t, "collective_name"))
				require.Equal(t, id, b.state(t, "collective_id"))
				require.Equal(t, float64(legacyID), b.state(t, "collective_legacy_id"))
				require.Equal(t, []any{float64(projectID)}, b.state(t, "project_legacy_ids"))

				hooks := b.fake.Webhooks()
				require.Len(t, hooks, 1)
				require.Equal(t, publicURL+hookPath, hooks[0].URL)
				require.Equal(t, ocfake.CollectiveSlug, hooks[0].AccountSlug)
				require.Equal(t, "ACTIVITY_ALL", hooks[0].ActivityType)
				r = b.s.Do("GET", "/api/internal/community/"+community+"/hooks", nil)
				require.JSONEq(t, `{"hooks":["`+hookPath+`"]}`, string(r.Body))

				// The same config again, another config with the same URL
				// and a restart register nothing more.
				require.Equal(t, http.StatusOK, b.enable(pluginConfig(b.fake, tt.config)).Status)
				r = b.enable(pluginConfig(b.fake, mergeConfig(tt.config, map[string]any{"web_url": "https://www.oc.example"})))
				require.Equal(t, http.StatusOK, r.Status, string(r.Body))
				b.restart(t)
				require.Equal(t, hooks, b.fake.Webhooks())

				// A new webhook_slug moves the webhook: the new URL is
				// registered and the old webhook deleted.
				newSlug := "0000111122223333aaaa"
				r = b.enable(pluginConfig(b.fake, mergeConfig(tt.config, map[string]any{"webhook_slug": newSlug})))
				require.Equal(t, http.StatusOK, r.Status, string(r.Body))
				moved := b.fake.Webhooks()
				require.Len(t, moved, 1)
				require.Equal(t, publicURL+"/api/hooks/"+community+"/opencollective/"+newSlug, moved[0].URL)
				require.NotEqual(t, hooks[0].ID, moved[0].ID)
				requireValidQueries(t, b.fake)
			})
		})
	}
}

// mergeConfig combines two sets of config overrides.
func mergeConfig(a, b map[string]any) map[string]any {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]any{}
	}
	maps.Copy(out, b)
	return out
}

// TestEnableRefused checks that a config the platform or the schema refuses
// enables nothing and registers no webhook.
func TestEnableRefused(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		tests := []struct {
			name      string
			config    map[string]any
			status    int
			code      string
			fragments []string
		}{
			{name: "wrong personal token", config: map[string]any{"api_key": "not-a-token"},
				status: http.StatusBadGateway, code: "platform_error", fragments: []string{"401", "Invalid Personal Token"}},
			{name: "wrong oauth token", config: map[string]any{"api_key": nil, "access_token": "not-a-token"},
				status: http.StatusBadGateway, code: "platform_error", fragments: []string{"You need to be logged in"}},
			{name: "unknown collective", config: map[string]any{"collective_slug": "nowhere"},
				status: http.StatusBadRequest, code: "invalid_input", fragments: []string{"Collective 'nowhere' not found"}},
			{name: "both credentials", config: map[string]any{"access_token": ocfake.AccessToken},
				status: http.StatusBadRequest, code: "invalid_config"},
			{name: "no credential", config: map[string]any{"api_key": nil},
				status: http.StatusBadRequest, code: "invalid_config"},
			{name: "guessable webhook slug", config: map[string]any{"webhook_slug": "short"},
				status: http.StatusBadRequest, code: "invalid_config", fragments: []string{"webhook_slug"}},
		}
		s := apptest.Start(t, db, app.Config{PublicURL: publicURL})
		r := s.Do("POST", "/api/internal/community", map[string]any{"slug": community, "readable_name": "OC"})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFake(t)
				r := s.Do("POST", "/api/internal/plugin/opencollective", pluginConfig(f, tt.config), header...)
				r.RequireError(t, tt.status, tt.code, tt.fragments...)
				require.Empty(t, s.Do("GET", "/api/internal/community/"+community, nil).JSON(t)["plugins"])
				require.Empty(t, f.Webhooks())
				requireValidQueries(t, f)
			})
		}
	})
}

// TestDocs checks that the plugin's schemas make a valid OpenAPI document,
// with the config's credentials write-only.
func TestDocs(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, apptest.SQLite(t), app.Config{})
	r := s.Do("GET", "/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.Status)
	doc, err := openapi3.NewLoader().LoadFromData(r.Body)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	for _, p := range []string{
		"/api/internal/action/opencollective.list-members",
		"/api/internal/action/opencollective.process-expense",
		"/api/internal/process/opencollective.vote",
	} {
		require.NotNil(t, doc.Paths.Find(p), p)
	}
	config := doc.Components.Schemas["opencollective.config"]
	require.NotNil(t, config)
	for _, secret := range []string{"api_key", "access_token"} {
		require.True(t, config.Value.Properties[secret].Value.WriteOnly, secret)
	}

	// expense_incomplete is not offered: Open Collective's webhook for it
	// carries no expense.
	r = s.Do("GET", "/api/internal/plugin/opencollective/metadata", nil)
	require.Equal(t, http.StatusOK, r.Status)
	var types []string
	for _, e := range r.JSON(t)["schemas"].(map[string]any)["events"].([]any) {
		types = append(types, e.(map[string]any)["event_type"].(string))
	}
	require.Contains(t, types, "expense_approved")
	require.NotContains(t, types, "expense_incomplete")
}

// TestEnableGeneratesWebhookSlug checks that a driver written for the
// original, which sends no webhook_slug, gets an unguessable one: stored in
// the config, listed in /hooks, registered on Open Collective, and kept when
// the config is updated without it.
func TestEnableGeneratesWebhookSlug(t *testing.T) {
	t.Parallel()
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := &testBundle{fake: newFake(t), db: db, cfg: app.Config{PublicURL: publicURL}}
		b.s = apptest.Start(t, db, b.cfg)
		cfg := pluginConfig(b.fake, map[string]any{"webhook_slug": nil})
		r := b.s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
			{"name": "opencollective", "config": cfg},
		}})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		p := r.JSON(t)["plugins"].([]any)[0].(map[string]any)
		slug, _ := p["config"].(map[string]any)["webhook_slug"].(string)
		require.Regexp(t, `^[A-Za-z0-9_-]{16,}$`, slug)

		path := "/api/hooks/" + community + "/opencollective/" + slug
		r = b.s.Do("GET", "/api/internal/community/"+community+"/hooks", nil)
		require.JSONEq(t, `{"hooks":["`+path+`"]}`, string(r.Body))
		hooks := b.fake.Webhooks()
		require.Len(t, hooks, 1)
		require.Equal(t, publicURL+path, hooks[0].URL)

		// An update that again leaves the slug out keeps it, and the webhook.
		r = b.enable(pluginConfig(b.fake, map[string]any{"webhook_slug": nil, "web_url": "https://www.oc.example"}))
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, slug, r.JSON(t)["config"].(map[string]any)["webhook_slug"])
		require.Equal(t, hooks, b.fake.Webhooks())
		requireValidQueries(t, b.fake)
	})
}
