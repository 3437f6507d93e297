package github_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/metagov/metagov-go/plugin/plugintest"
	"github.com/metagov/metagov-go/plugins/github/githubfake"
)

// TestConformance runs the SDK's conformance kit against the fake GitHub:
// schemas agree with the Go types, results and vote outcomes match their
// schemas, both votes close on DELETE, GitHub's 422 is a 422 naming the
// field, and deliveries that are unsigned, forged or redelivered (the same
// X-GitHub-Delivery) make no second event. The kit's gateway reads its
// settings from the environment, hence Setenv (and no t.Parallel).
func TestConformance(t *testing.T) {
	fake := githubfake.New(t, githubfake.Options{})
	fake.AddInstallation(installationID, owner)
	fake.AddRepo(owner, repoName)
	fake.AddUser("alice", "User")
	for name, value := range fake.Settings() {
		t.Setenv(name, value)
	}
	fake.FailNext("POST", "/repos/octo-org/governance/issues", http.StatusUnprocessableEntity, "title is too long")
	var ids atomic.Int64
	sign := func(body []byte) http.Header {
		d := githubfake.Delivery{Body: body, Header: http.Header{}}
		d.Sign(fake.Options().WebhookSecret)
		d.Header.Set("X-GitHub-Event", "push")
		d.Header.Set("X-GitHub-Delivery", fmt.Sprintf("00000000-0000-0000-0000-%012d", ids.Add(1)))
		return d.Header
	}
	plugintest.Exercise(t, plugintest.Suite{
		Plugin: "github",
		Config: map[string]any{"installation_id": fmt.Sprint(installationID)},
		Actions: []plugintest.Call{
			{Action: "create-issue", Params: map[string]any{"repo_name": repoName, "title": "Hello", "body": "World"},
				WantStatus: http.StatusUnprocessableEntity, WantField: "/title"},
			{Action: "create-issue", Params: map[string]any{"repo_name": repoName, "title": "Hello", "body": "World"}},
			{Action: "get-installation", Params: map[string]any{}},
			{Action: "method", Params: map[string]any{"route": "/repos/{owner}/{repo}", "repo": repoName}},
			{Action: "method", Params: map[string]any{"route": "/repos/{nothing}"}, WantStatus: http.StatusBadRequest, WantField: "/route"},
		},
		Processes: []plugintest.Start{
			{Process: "issue-react-vote", Input: map[string]any{"repo_name": repoName, "question": "Adopt?", "max_votes": 3}},
			{Process: "issue-comment-vote", Input: map[string]any{"repo_name": repoName, "question": "Which?", "help_text": "Say it"}},
		},
		Webhook: &plugintest.Webhook{
			Body: fake.PushEvent(installationID, owner, repoName, "alice").Body, Sign: sign, Replay: plugintest.ReplayDropped},
		// The app's path, /api/hooks/github, routes by installation.id.
		PlatformWebhook: &plugintest.Webhook{
			Body: fake.PushEvent(installationID, owner, repoName, "alice").Body, Sign: sign, Replay: plugintest.ReplayDropped},
	})
}
