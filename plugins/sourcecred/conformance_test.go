package sourcecred_test

import (
	"net/http"
	"testing"

	"github.com/metagov/metagov-go/plugin/plugintest"
	_ "github.com/metagov/metagov-go/plugins/sourcecred"
	"github.com/metagov/metagov-go/plugins/sourcecred/sourcecredfake"
)

// TestConformance runs the SDK's conformance kit against a fake instance:
// schemas agree with the Go types, results match their schemas, an unknown
// user is a 404 and missing arguments a 400, not a 500.
func TestConformance(t *testing.T) {
	t.Parallel()
	fake := sourcecredfake.New(t)
	fake.SetAccounts(sourcecredfake.Account{Name: "miriam", Aliases: []string{sourcecredfake.DiscordAlias("140750062325202944")}, TotalCred: 10.5})
	plugintest.Exercise(t, plugintest.Suite{
		Plugin: "sourcecred",
		Config: map[string]any{"server_url": fake.URL},
		Actions: []plugintest.Call{
			{Action: "user-cred", Params: map[string]any{"username": "miriam"}},
			{Action: "user-cred", Params: map[string]any{"id": "140750062325202944"}},
			{Action: "user-cred", Params: map[string]any{"username": "nobody"}, WantStatus: http.StatusNotFound},
			{Action: "user-cred", Params: map[string]any{}, WantStatus: http.StatusBadRequest},
			{Action: "total-cred"},
		},
	})
}
