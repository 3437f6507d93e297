package sendgrid_test

import (
	"net/http"
	"testing"

	"github.com/metagov/metagov-go/plugin/plugintest"
	_ "github.com/metagov/metagov-go/plugins/sendgrid"
	"github.com/metagov/metagov-go/plugins/sendgrid/sendgridfake"
)

// TestConformance runs the SDK's conformance kit against the fake SendGrid.
func TestConformance(t *testing.T) {
	t.Parallel()
	fake := sendgridfake.New(t, "SG.k", "bot@example.org")
	plugintest.Exercise(t, plugintest.Suite{
		Plugin: "sendgrid",
		Config: map[string]any{"api_key": "SG.k", "api_url": fake.URL},
		Actions: []plugintest.Call{
			{Action: "send-mail", Params: map[string]any{"from_email": "bot@example.org", "to_emails": "a@example.com", "subject": "s", "html_content": "h"}},
			{Action: "send-mail", Params: map[string]any{"from_email": "x@example.net", "to_emails": "a@example.com", "subject": "s", "html_content": "h"},
				WantStatus: http.StatusUnprocessableEntity, WantField: "/from_email"},
			{Action: "send-mail", Params: map[string]any{"from_email": "bot@example.org", "to_emails": "a@example.com", "subject": "s"},
				WantStatus: http.StatusBadRequest, WantField: "/html_content"},
		},
	})
}
