package httpapi_test

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/core"
	"github.com/metagov/metagov-go/internal/delivery"
	"github.com/metagov/metagov-go/internal/secrets"
	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugin"
	_ "github.com/metagov/metagov-go/plugins/loomio"
	"github.com/metagov/metagov-go/plugins/loomio/loomiofake"
)

// TestSecretsAtRest checks that writeOnly config properties are encrypted in
// the database, never shown by the API, kept when the redacted value is sent
// back, and survive a key rotation.
func TestSecretsAtRest(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		const token = "tok-4b1d-very-secret"
		s := apptest.Start(t, db, app.Config{})
		r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
			{"name": "testkit", "config": map[string]any{"token": token, "webhook_slug": "s3cr3tslug"}},
		}})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		require.NotContains(t, string(r.Body), token)
		rawConfig := func() string {
			rows, err := s.App.Store().PluginInstanceListAll(context.Background())
			require.NoError(t, err)
			require.Len(t, rows, 1)
			return string(rows[0].Config)
		}
		require.NotContains(t, rawConfig(), token, "no plaintext secret in the database")
		require.Contains(t, rawConfig(), "enc:v1:")

		get := s.Do("GET", "/api/internal/community/"+community, nil)
		require.NotContains(t, string(get.Body), token)
		cfg := get.JSON(t)["plugins"].([]any)[0].(map[string]any)["config"].(map[string]any)
		require.Equal(t, "********", cfg["token"])

		// Sending back what was read keeps the secret: the webhook still verifies.
		r = s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
			{"name": "testkit", "config": cfg},
		}})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		hook := "/api/hooks/" + community + "/testkit/s3cr3tslug"
		require.Equal(t, http.StatusOK, s.Do("POST", hook, `{}`, "X-Test-Token", token).Status)
		require.Equal(t, http.StatusUnauthorized, s.Do("POST", hook, `{}`, "X-Test-Token", "********").Status)

		// A redaction marker where there is no stored secret is refused.
		r = s.Do("POST", "/api/internal/plugin/testkit", map[string]any{"token": "********", "account": "other"}, header...)
		r.RequireError(t, http.StatusBadRequest, "secret_required", "/token")
		s.Stop()

		// Rotation: the new key first, the old after; then only the new one.
		newKey := secrets.EncodeKey(secrets.NewKey())
		tmp := apptest.Start(t, db, app.Config{SecretKey: newKey + " " + db.SecretKey})
		id, err := app.RotateSecrets(context.Background(), tmp.App.Store(), newKey+" "+db.SecretKey, "")
		require.NoError(t, err)
		require.NotEmpty(t, id)
		tmp.Stop()
		after := apptest.Start(t, db, app.Config{SecretKey: newKey})
		require.Equal(t, http.StatusOK, after.Do("POST", hook, `{}`, "X-Test-Token", token).Status,
			"the secret opens with the new key alone")
		rows, err := after.App.Store().PluginInstanceListAll(context.Background())
		require.NoError(t, err)
		require.True(t, strings.Contains(string(rows[0].Config), "enc:v1:"+secrets.KeyID(mustKey(t, newKey))))
	})
}

func mustKey(t *testing.T, s string) []byte {
	k, err := secrets.DecodeKey(s)
	require.NoError(t, err)
	return k
}

// TestSecretStaysWithItsDestination checks that a stored secret never
// leaves for a destination its owner did not give it: a key limited to the
// community cannot keep Loomio's API keys (sending back "********") while
// pointing server_url at a server of its own, through the plugin route or a
// community replace; it can when it sends the keys again, and it can change
// other properties while keeping them.
func TestSecretStaysWithItsDestination(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		const (
			mainKey = "loomio-main-key-0001"
			subKey  = "loomio-sub-key-0002"
			slug    = "k3Jd9_x-Qw81LmZp"
			slug2   = "Zq81LmZp-k3Jd9_x"
		)
		groups := func(f *loomiofake.Server) *loomiofake.Server {
			f.AddUser(loomiofake.User{ID: 1, Name: "Bot", Bot: true, APIKey: mainKey})
			f.AddGroup(loomiofake.Group{ID: 1, Key: "ZrSTqeyG", Handle: "main", Name: "Main", Members: []loomiofake.Membership{{UserID: 1, Admin: true}}})
			return f
		}
		loomio, moved := groups(loomiofake.New(t)), groups(loomiofake.New(t))
		var stolen atomic.Int64
		attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			stolen.Add(1)
			w.WriteHeader(http.StatusOK)
		}))
		t.Cleanup(attacker.Close)

		s := apptest.Start(t, db, app.Config{})
		r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{{"name": "loomio", "config": map[string]any{
			"api_key": mainKey, "subgroup_api_keys": []string{subKey}, "server_url": loomio.URL, "webhook_slug": slug,
		}}}})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		key, _, err := core.CreateAPIKey(context.Background(), s.App.Store(), "tenant", []string{community})
		require.NoError(t, err)
		a := bearer(key)
		hdr := append([]string{"X-Metagov-Community", community}, a...)
		loomioConfig := func() map[string]any {
			r := s.Do("GET", "/api/internal/community/"+community, nil, a...)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			return r.JSON(t)["plugins"].([]any)[0].(map[string]any)["config"].(map[string]any)
		}
		rawBefore := rawConfigs(t, s)
		redacted := loomioConfig()
		require.Equal(t, "********", redacted["api_key"])

		// Re-pointing server_url while keeping the keys: refused, through
		// both routes, and the attacker hears nothing.
		repointed := map[string]any{"api_key": "********", "subgroup_api_keys": []any{"********"}, "server_url": attacker.URL + "/", "webhook_slug": slug}
		body := s.Do("POST", "/api/internal/plugin/loomio", repointed, hdr...).RequireError(t,
			http.StatusBadRequest, "secret_required", "/server_url", "/api_key", "/subgroup_api_keys/0")

		require.Equal(t, "/api_key", body["field"])
		s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
			{"name": "loomio", "config": repointed}}}, a...).RequireError(t,
			http.StatusBadRequest, "secret_required", "/server_url")

		// Dropping server_url means its default, loomio.org: a new
		// destination too.
		s.Do("POST", "/api/internal/plugin/loomio", map[string]any{"api_key": "********", "webhook_slug": slug}, hdr...).RequireError(t,
			http.StatusBadRequest, "secret_required", "/server_url")

		// Keeping only the subgroup key while sending the main one is not enough.
		s.Do("POST", "/api/internal/plugin/loomio", map[string]any{"api_key": mainKey,
			"subgroup_api_keys": []any{"********"}, "server_url": attacker.URL, "webhook_slug": slug}, hdr...).RequireError(t,

			http.StatusBadRequest, "secret_required", "/subgroup_api_keys/0")

		require.Zero(t, stolen.Load(), "the attacker's server received nothing")
		require.Equal(t, loomio.URL, loomioConfig()["server_url"], "nothing changed")
		require.Equal(t, rawBefore, rawConfigs(t, s), "nothing changed")

		// Another property changes with the secrets kept.
		same := maps.Clone(redacted)
		same["webhook_slug"] = slug2
		r = s.Do("POST", "/api/internal/plugin/loomio", same, hdr...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, slug2, loomioConfig()["webhook_slug"])

		// A new destination with the secrets sent again is the owner's choice.
		calls := len(moved.Requests())
		r = s.Do("POST", "/api/internal/plugin/loomio", map[string]any{"api_key": mainKey, "subgroup_api_keys": []string{subKey},
			"server_url": moved.URL, "webhook_slug": slug2}, hdr...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, moved.URL, loomioConfig()["server_url"])
		require.Greater(t, len(moved.Requests()), calls, "the gateway reads the groups at the new server")
		require.Zero(t, stolen.Load())
	})
}

// rawConfigs reads every stored plugin config as the database has it.
func rawConfigs(t *testing.T, s *apptest.Server) []string {
	t.Helper()
	rows, err := s.App.Store().PluginInstanceListAll(context.Background())
	require.NoError(t, err)
	var out []string
	for _, r := range rows {
		out = append(out, string(r.Config))
	}
	return out
}

// TestDestinationsInDocs checks that the destination annotation reaches the
// OpenAPI document as a schema extension that kin-openapi accepts.
func TestDestinationsInDocs(t *testing.T) {
	s := apptest.Start(t, apptest.SQLite(t), app.Config{})
	r := s.Do("GET", "/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.Status)
	doc, err := openapi3.NewLoader().LoadFromData(r.Body)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	config := doc.Components.Schemas["loomio.config"].Value
	require.Equal(t, true, config.Properties["server_url"].Value.Extensions[plugin.DestinationKeyword])
	require.Nil(t, config.Properties["webhook_slug"].Value.Extensions[plugin.DestinationKeyword])
	require.Contains(t, doc.Paths.Find("/api/internal/plugin/loomio").Post.Description, "secret_required")
}

// TestWebhookSecretAtRest checks that the whsec_ secret the gateway keeps in
// its database to sign deliveries is encrypted like plugin secrets: one
// kept in the clear by an older version is encrypted at the next start and
// still signs, and a key rotation re-encrypts it.
func TestWebhookSecretAtRest(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		ctx := context.Background()
		// An older gateway kept its generated secret in the clear.
		legacy := delivery.NewSecret()
		st, err := store.Open(ctx, db.DSN)
		require.NoError(t, err)
		require.NoError(t, app.Migrate(ctx, st))
		require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.SettingGetOrInsert(ctx, "webhook_secret", legacy)
			return err
		}))
		require.NoError(t, st.Close())
		raw := func(s *apptest.Server) string {
			v, err := s.App.Store().SettingGet(ctx, "webhook_secret")
			require.NoError(t, err)
			require.NotContains(t, v, "whsec_", "no plaintext webhook secret in the database")
			require.NotContains(t, v, strings.TrimPrefix(legacy, "whsec_"))
			return v
		}

		rcv := apptest.NewReceiver(t)
		s := startTestkit(t, db, app.Config{})
		require.True(t, strings.HasPrefix(raw(s), "enc:v1:"+secrets.KeyID(mustKey(t, db.SecretKey))+":"))
		startTally(t, s, rcv.URL)
		vote(t, s)
		got := rcv.WaitFor(t, 1, 10*time.Second)
		require.Equal(t, 1, verifyStandardWebhook(t, legacy, got[0].Header, got[0].Body), "the same secret still signs")
		s.Stop()

		newKey := secrets.EncodeKey(secrets.NewKey())
		st, err = store.Open(ctx, db.DSN)
		require.NoError(t, err)
		_, err = app.RotateSecrets(ctx, st, newKey+" "+db.SecretKey, "")
		require.NoError(t, err)
		require.NoError(t, st.Close())
		after := apptest.Start(t, db, app.Config{SecretKey: newKey})
		require.True(t, strings.HasPrefix(raw(after), "enc:v1:"+secrets.KeyID(mustKey(t, newKey))+":"), "rotated to the new key")
		vote(t, after)
		got = rcv.WaitFor(t, 2, 10*time.Second)
		require.Equal(t, 1, verifyStandardWebhook(t, legacy, got[1].Header, got[1].Body), "the new key alone opens it")
	})
}
