package opencollective_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	ocfake "github.com/metagov/metagov-go/plugins/opencollective/opencollectivefake"
)

// TestDisableDeletesWebhook checks that every way an instance goes away
// deletes the webhook it registered on Open Collective, through the API.
func TestDisableDeletesWebhook(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		remove func(t *testing.T, b *testBundle) apptest.Response
		status int
	}{
		{name: "DELETE on the plugin", status: http.StatusNoContent, remove: func(_ *testing.T, b *testBundle) apptest.Response {
			return b.s.Do("DELETE", b.pluginPath(), nil, header...)
		}},
		{name: "DELETE with force", status: http.StatusNoContent, remove: func(_ *testing.T, b *testBundle) apptest.Response {
			return b.s.Do("DELETE", b.pluginPath()+"?force=true", nil, header...)
		}},
		{name: "PUT on the community without it", status: http.StatusOK, remove: func(_ *testing.T, b *testBundle) apptest.Response {
			return b.s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []any{}})
		}},
		{name: "DELETE on the community", status: http.StatusNoContent, remove: func(_ *testing.T, b *testBundle) apptest.Response {
			return b.s.Do("DELETE", "/api/internal/community/"+community, nil)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
				t.Parallel()
				b := setup(t, db, app.Config{})
				hooks := b.fake.Webhooks()
				require.Len(t, hooks, 1)

				r := tt.remove(t, b)
				require.Equal(t, tt.status, r.Status, string(r.Body))
				if r.Status == http.StatusOK {
					require.NotContains(t, r.JSON(t), "warnings", "a webhook deleted is nothing to warn about")
				}
				require.Empty(t, b.fake.Webhooks(), "the instance's webhook is deleted on Open Collective")
				require.Equal(t, hooks[0].ID, lastDeleted(t, b.fake), "the webhook deleted is the one the instance registered")
				requireValidQueries(t, b.fake)
			})
		})
	}
}

// TestDisableWebhookAlreadyGone checks that a webhook deleted on the
// website meanwhile is nothing to warn about.
func TestDisableWebhookAlreadyGone(t *testing.T) {
	t.Parallel()
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		b.fake.FailField("deleteWebhook", "NotFound", "Webhook not found")
		r := b.s.Do("DELETE", b.pluginPath(), nil, header...)
		require.Equal(t, http.StatusNoContent, r.Status, string(r.Body))
	})
}

// TestDisableWhenPlatformFails checks that Open Collective refusing, or not
// answering, the webhook's deletion does not stop the instance's removal:
// the answer carries a warning instead.
func TestDisableWhenPlatformFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fail    func(f *ocfake.Fake)
		warning string
	}{
		{name: "refused", warning: "sufficient permissions", fail: func(f *ocfake.Fake) {
			f.FailField("deleteWebhook", "Forbidden", "You don't have sufficient permissions to delete this webhook")
		}},
		{name: "server error", warning: "opencollective", fail: func(f *ocfake.Fake) {
			f.Fail(http.StatusBadGateway, "upstream down")
		}},
		{name: "no answer", warning: "did not answer in time", fail: func(f *ocfake.Fake) { f.Stall(true) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
				t.Parallel()
				b := setup(t, db, app.Config{PlatformTimeout: time.Second})
				hooks := b.fake.Webhooks()
				require.Len(t, hooks, 1)
				tt.fail(b.fake)

				r := b.s.Do("DELETE", b.pluginPath(), nil, header...)
				require.Equal(t, http.StatusOK, r.Status, string(r.Body))
				warnings := r.JSON(t)["warnings"].([]any)
				require.Len(t, warnings, 1)
				require.Contains(t, warnings[0], "opencollective (instance "+strconv.FormatInt(b.instanceID, 10)+") was removed")
				require.Contains(t, warnings[0], tt.warning)

				b.fake.FailField("deleteWebhook", "", "")
				b.fake.Fail(0, "")
				b.fake.Stall(false)
				require.Equal(t, hooks, b.fake.Webhooks(), "the webhook is left on Open Collective")
				r = b.s.Do("GET", "/api/internal/community/"+community, nil)
				require.Equal(t, http.StatusOK, r.Status, string(r.Body))
				require.Empty(t, r.JSON(t)["plugins"], "the instance is removed all the same")
				r = b.s.Do("DELETE", b.pluginPath(), nil, header...)
				r.RequireError(t, http.StatusNotFound, "plugin_not_found")
			})
		})
	}

	t.Run("PUT on the community", func(t *testing.T) {
		t.Parallel()
		apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
			t.Parallel()
			b := setup(t, db, app.Config{})
			b.fake.FailField("deleteWebhook", "Forbidden", "You don't have sufficient permissions to delete this webhook")
			r := b.s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []any{}})
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			body := r.JSON(t)
			require.Empty(t, body["plugins"])
			warnings := body["warnings"].([]any)
			require.Len(t, warnings, 1)
			require.Contains(t, warnings[0], "sufficient permissions")
			require.Len(t, b.fake.Webhooks(), 1)
		})
	})
}

// TestReplaceConfigReregisters checks the webhook after a PUT on the
// community changes the plugin's config: moved, when the instance stays (a
// new webhook_slug); deleted with the old instance and registered for the
// new one, when the config names another collective and so replaces the
// instance. Either way exactly one webhook is left, at the new URL.
func TestReplaceConfigReregisters(t *testing.T) {
	t.Parallel()
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		first := b.fake.Webhooks()
		require.Len(t, first, 1)
		put := func(overrides map[string]any) map[string]any {
			t.Helper()
			r := b.s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
				{"name": "opencollective", "config": pluginConfig(b.fake, overrides)},
			}})
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			body := r.JSON(t)
			require.NotContains(t, body, "warnings")
			plugins := body["plugins"].([]any)
			require.Len(t, plugins, 1)
			return plugins[0].(map[string]any)
		}

		newSlug := "0000111122223333aaaa"
		p := put(map[string]any{"webhook_slug": newSlug})
		require.Equal(t, float64(b.instanceID), p["id"], "a new webhook_slug keeps the instance")
		moved := b.fake.Webhooks()
		require.Len(t, moved, 1)
		require.Equal(t, publicURL+"/api/hooks/"+community+"/opencollective/"+newSlug, moved[0].URL)
		require.NotEqual(t, first[0].ID, moved[0].ID)

		b.fake.AddAdmin(ocfake.OtherCollectiveSlug)
		p = put(map[string]any{"webhook_slug": newSlug, "collective_slug": ocfake.OtherCollectiveSlug})
		require.NotEqual(t, float64(b.instanceID), p["id"], "another collective is another instance")
		require.Equal(t, ocfake.OtherCollectiveSlug, p["community_platform_id"])
		replaced := b.fake.Webhooks()
		require.Len(t, replaced, 1, "the old instance's webhook is deleted, the new one's registered")
		require.Equal(t, ocfake.OtherCollectiveSlug, replaced[0].AccountSlug)
		require.Equal(t, publicURL+"/api/hooks/"+community+"/opencollective/"+newSlug, replaced[0].URL)
		require.Equal(t, moved[0].ID, lastDeleted(t, b.fake))
		requireValidQueries(t, b.fake)
	})
}

// pluginPath is the path of the bundle's instance.
func (b *testBundle) pluginPath() string {
	return "/api/internal/plugin/opencollective/" + strconv.FormatInt(b.instanceID, 10)
}

// lastDeleted returns the id of the webhook the last deleteWebhook named.
func lastDeleted(t *testing.T, f *ocfake.Fake) string {
	t.Helper()
	reqs := f.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		for _, field := range reqs[i].Fields {
			if field == "deleteWebhook" {
				ref, _ := reqs[i].Variables["webhook"].(map[string]any)
				id, _ := ref["id"].(string)
				return id
			}
		}
	}
	t.Fatal("no deleteWebhook sent")
	return ""
}
