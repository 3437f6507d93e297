package twitter_test

import (
	"net/http"
	"testing"

	"github.com/metagov/metagov-go/plugin/plugintest"
	_ "github.com/metagov/metagov-go/plugins/twitter"
	"github.com/metagov/metagov-go/plugins/twitter/twitterfake"
)

// TestConformance runs the SDK's conformance kit against the fake X API.
func TestConformance(t *testing.T) {
	t.Parallel()
	fake := twitterfake.New(t, creds, me)
	fake.AddUser(ana)
	plugintest.Exercise(t, plugintest.Suite{
		Plugin: "twitter",
		Config: config(fake, true),
		Actions: []plugintest.Call{
			{Action: "send-tweet", Params: map[string]any{"text": "hello"}},
			{Action: "send-tweet", Params: map[string]any{"text": "hello"}, WantStatus: http.StatusUnprocessableEntity, WantField: "/text"},
			{Action: "send-dm", Params: map[string]any{"user_id": ana.ID, "text": "hi"}},
			{Action: "send-dm", Params: map[string]any{"user_id": "5", "text": "hi"}, WantStatus: http.StatusUnprocessableEntity, WantField: "/user_id"},
			{Action: "get-user-id", Params: map[string]any{"screen_name": "ana_x"}},
			{Action: "get-user-id", Params: map[string]any{"screen_name": "nobody"}},
		},
	})
}
