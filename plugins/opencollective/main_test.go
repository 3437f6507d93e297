package opencollective_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	_ "github.com/metagov/metagov-go/plugins/opencollective"
	ocfake "github.com/metagov/metagov-go/plugins/opencollective/opencollectivefake"
)

const (
	community = "oc-community"
	hookSlug  = "f5c3ff8f9a1b2c3d4e5f"
	// publicURL is the gateway's public URL in these tests; the fake
	// delivers webhooks registered there to the test server instead.
	publicURL = "https://" + publicHost
	// publicHost is a host name Open Collective accepts for webhooks: it
	// resolves (in the fake's table) to a public address.
	publicHost = "metagov.example"
	webURL     = "https://oc.example"
)

// hookPath is where the instance receives Open Collective's webhooks.
const hookPath = "/api/hooks/" + community + "/opencollective/" + hookSlug

// header selects the community on actions and processes.
var header = []string{"X-Metagov-Community", community}

// testBundle is a gateway with a community that enabled the plugin against
// a fake Open Collective.
type testBundle struct {
	fake       *ocfake.Fake
	s          *apptest.Server
	db         apptest.Database
	cfg        app.Config
	instanceID int64
}

// newFake starts a fake Open Collective in which publicHost resolves.
func newFake(t *testing.T) *ocfake.Fake {
	f := ocfake.New(t)
	f.SetHost(publicHost, "93.184.215.14")
	return f
}

// pluginConfig is a valid config for the fake, with overrides; a nil
// override removes the key.
func pluginConfig(f *ocfake.Fake, overrides map[string]any) map[string]any {
	c := map[string]any{
		"collective_slug": ocfake.CollectiveSlug,
		"api_key":         ocfake.PersonalToken,
		"webhook_slug":    hookSlug,
		"server_url":      f.URL,
		"web_url":         webURL,
	}
	maps.Copy(c, overrides)
	maps.DeleteFunc(c, func(_ string, v any) bool { return v == nil })
	return c
}

// setup starts a gateway on db and enables the plugin with the default
// config.
func setup(t *testing.T, db apptest.Database, cfg app.Config) *testBundle {
	t.Helper()
	cfg.PublicURL = publicURL
	b := &testBundle{fake: newFake(t), db: db, cfg: cfg}
	b.s = apptest.Start(t, db, cfg)
	r := b.s.Do("POST", "/api/internal/community", map[string]any{"slug": community, "readable_name": "OC"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	r = b.enable(pluginConfig(b.fake, nil))
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	b.instanceID = int64(r.JSON(t)["id"].(float64))
	return b
}

func (b *testBundle) enable(config map[string]any) apptest.Response {
	return b.s.Do("POST", "/api/internal/plugin/opencollective", config, header...)
}

// restart stops the gateway and starts it again on the same database, which
// also runs every periodic poll at once.
func (b *testBundle) restart(t *testing.T) {
	t.Helper()
	b.s.Stop()
	b.s = apptest.Start(t, b.db, b.cfg)
}

// act performs an action.
func (b *testBundle) act(name string, params any) apptest.Response {
	return b.s.Do("POST", "/api/internal/action/opencollective."+name, map[string]any{"parameters": params}, header...)
}

// state reads one instance state value from the database.
func (b *testBundle) state(t *testing.T, key string) any {
	t.Helper()
	raw, err := b.s.App.Store().PluginStateGet(context.Background(), b.instanceID, key)
	require.NoError(t, err, key)
	var v any
	require.NoError(t, json.Unmarshal(raw, &v))
	return v
}

// requireValidQueries checks that the fake validated every query the
// plugin sent against the published schema.
func requireValidQueries(t *testing.T, f *ocfake.Fake) {
	t.Helper()
	for _, r := range f.Requests() {
		require.Empty(t, r.Errors, "invalid query sent: %s", r.Query)
	}
}

// decode unmarshals a JSON body.
func decode(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(raw, &v), string(raw))
	return v
}
