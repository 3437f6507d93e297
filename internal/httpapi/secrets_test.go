package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/secrets"
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
		requireError(t, r, http.StatusBadRequest, "invalid_config")
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
