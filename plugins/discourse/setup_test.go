package discourse_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	_ "github.com/metagov/metagov-go/plugins/discourse"
	"github.com/metagov/metagov-go/plugins/discourse/discoursefake"
)

const (
	community = "forum-community"
	slug      = "s3cr3t-slug"
	hookPath  = "/api/hooks/" + community + "/discourse/" + slug
)

var header = []string{"X-Metagov-Community", community}

// testBundle is a gateway with the discourse plugin enabled against a fake
// forum, and a receiver for the driver's events.
type testBundle struct {
	db       apptest.Database
	cfg      app.Config
	gw       *apptest.Server
	forum    *discoursefake.Server
	events   *apptest.Receiver
	alice    int64 // user ids on the forum
	bob      int64
	instance int64 // plugin instance id
}

// setup starts a fake forum with two users and a gateway on db with the
// plugin enabled (through the API, so Initialize runs against the fake).
func setup(t *testing.T, db apptest.Database) *testBundle {
	t.Helper()
	b := &testBundle{db: db, forum: discoursefake.New(t, discoursefake.Options{APIUsername: "metagov-bot"}), events: apptest.NewReceiver(t)}
	b.alice = b.forum.AddUser(discoursefake.User{Username: "alice", Name: "Alice"})
	b.bob = b.forum.AddUser(discoursefake.User{Username: "bob", Name: "Bob", UserFields: map[string]string{"1": "blue"}})
	b.cfg = app.Config{EventReceiverURL: b.events.URL, PlatformTimeout: time.Second}
	b.gw = apptest.Start(t, db, b.cfg)
	r := b.gw.Do("PUT", "/api/internal/community/"+community, map[string]any{"readable_name": "Forum"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	r = b.gw.Do("POST", "/api/internal/plugin/discourse", b.config(""), header...)
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	require.Equal(t, b.forum.URL+"/", r.JSON(t)["community_platform_id"], "the server_url identifies the instance")
	b.instance = int64(r.JSON(t)["id"].(float64))
	return b
}

// config is the plugin config for the fake; a non-empty apiKey replaces the
// right one. The server URL has a trailing slash, which the plugin drops.
func (b *testBundle) config(apiKey string) map[string]any {
	o := b.forum.Options()
	if apiKey == "" {
		apiKey = o.APIKey
	}
	return map[string]any{
		"server_url": b.forum.URL + "/", "api_key": apiKey, "api_username": o.APIUsername,
		"webhook_secret": o.WebhookSecret, "webhook_slug": slug,
	}
}

// restart stops the gateway and starts another on the same database, which
// runs every periodic poll at once.
func (b *testBundle) restart(t *testing.T) {
	t.Helper()
	b.gw.Stop()
	b.gw = apptest.Start(t, b.db, b.cfg)
}

// action runs an action and returns the answer.
func (b *testBundle) action(name string, params any) apptest.Response {
	return b.gw.Do("POST", "/api/internal/action/discourse."+name, map[string]any{"parameters": params}, header...)
}

// state reads one instance state value from the gateway's database.
func (b *testBundle) state(t *testing.T, key string, v any) {
	t.Helper()
	raw, err := b.gw.App.Store().PluginStateGet(context.Background(), b.instance, key)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, v))
}

// eventsOfType decodes the received events of one type.
func eventsOfType(t *testing.T, rec *apptest.Receiver, eventType string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range rec.All() {
		var ev map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &ev))
		if ev["event_type"] == eventType {
			out = append(out, ev)
		}
	}
	return out
}
