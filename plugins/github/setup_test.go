package github_test

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	_ "github.com/metagov/metagov-go/plugins/github"
	"github.com/metagov/metagov-go/plugins/github/githubfake"
)

const (
	community      = "code-community"
	installationID = 77
	owner          = "octo-org"
	repoName       = "governance"
)

var header = []string{"X-Metagov-Community", community}

// clock is the gateway's and GitHub's clock, moved forward by tests.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }
func settingsOf(m map[string]string) func(string) string {
	return func(name string) string { return m[name] }
}

// testBundle is a gateway with the github plugin enabled for one
// installation of a fake GitHub, and a receiver for the driver's events.
type testBundle struct {
	db       apptest.Database
	cfg      app.Config
	gw       *apptest.Server
	gh       *githubfake.Server
	clock    *clock
	events   *apptest.Receiver
	instance int64
}

func setup(t *testing.T, db apptest.Database) *testBundle {
	t.Helper()
	b := &testBundle{db: db, clock: &clock{}, events: apptest.NewReceiver(t)}
	b.gh = githubfake.New(t, githubfake.Options{Now: b.clock.Now})
	b.gh.AddInstallation(installationID, owner)
	b.gh.AddRepo(owner, repoName)
	b.gh.AddUser("alice", "User")
	b.gh.AddUser("bob", "User")
	b.gh.AddUser("carol", "User")
	b.gh.AddUser("dependabot[bot]", "Bot")
	b.cfg = app.Config{EventReceiverURL: b.events.URL, PlatformTimeout: 2 * time.Second, Now: b.clock.Now, Settings: settingsOf(b.gh.Settings())}
	b.gw = apptest.Start(t, db, b.cfg)
	r := b.gw.Do("PUT", "/api/internal/community/"+community, map[string]any{"readable_name": "Code"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	r = b.gw.Do("POST", "/api/internal/plugin/github", map[string]any{"installation_id": "77"}, header...)
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	require.Equal(t, "77", r.JSON(t)["community_platform_id"], "the installation id identifies the instance")
	b.instance = int64(r.JSON(t)["id"].(float64))
	return b
}

// restart stops the gateway and starts another on the same database, which
// runs every periodic poll at once.
func (b *testBundle) restart(t *testing.T) {
	t.Helper()
	b.gw.Stop()
	b.gw = apptest.Start(t, b.db, b.cfg)
}

func (b *testBundle) action(name string, params any) apptest.Response {
	return b.gw.Do("POST", "/api/internal/action/github."+name, map[string]any{"parameters": params}, header...)
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
