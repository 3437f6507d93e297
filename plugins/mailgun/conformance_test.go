package mailgun_test

import (
	"net/http"
	"testing"

	"github.com/metagov/metagov-go/plugin/plugintest"
	_ "github.com/metagov/metagov-go/plugins/mailgun"
	"github.com/metagov/metagov-go/plugins/mailgun/mailgunfake"
)

// TestConformance runs the SDK's conformance kit against the fake Mailgun.
func TestConformance(t *testing.T) {
	t.Parallel()
	fake := mailgunfake.New(t, "mg.example.org", "key-1")
	plugintest.Exercise(t, plugintest.Suite{
		Plugin: "mailgun",
		Config: map[string]any{"domain_name": "mg.example.org", "api_key": "key-1", "api_url": fake.URL},
		Actions: []plugintest.Call{
			{Action: "send-mail", Params: map[string]any{"from": "bot@mg.example.org", "to": "ana@example.com", "subject": "s", "text": "t"}},
			{Action: "send-mail", Params: map[string]any{"from": "bot@mg.example.org", "to": "nope", "text": "t"}, WantStatus: http.StatusUnprocessableEntity, WantField: "/to"},
			{Action: "send-mail", Params: map[string]any{"from": "bot@mg.example.org", "to": "ana@example.com"}, WantStatus: http.StatusBadRequest, WantField: "/text"},
		},
	})
}
