package github_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugins/github/githubfake"
)

// TestWebhook sends the app's deliveries to /api/hooks/github: signed ones
// become events named "<action> <event>" (or "<event>" without an action),
// routed by installation; forged, unsigned and replayed ones do not.
func TestWebhook(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		hook := b.gw.URL + "/api/hooks/github"
		r := b.action("create-issue", map[string]any{"repo_name": repoName, "title": "Hello", "body": "World"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))

		status, body := githubfake.Send(t, hook, b.gh.Ping())
		require.Equal(t, http.StatusOK, status)
		require.JSONEq(t, `{"msg": "pong"}`, string(body))

		opened := b.gh.IssuesEvent("opened", installationID, owner, repoName, 1, "alice")
		status, body = githubfake.Send(t, hook, opened)
		require.Equal(t, http.StatusOK, status, string(body))
		push := b.gh.PushEvent(installationID, owner, repoName, "bob")
		status, body = githubfake.Send(t, hook, push)
		require.Equal(t, http.StatusOK, status, string(body), "an event without an action is accepted (the original crashed)")

		b.events.WaitFor(t, 2, 10*time.Second)
		evs := eventsOfType(t, b.events, "opened issues")
		require.Len(t, evs, 1)
		init := evs[0]["initiator"].(map[string]any)
		require.Equal(t, "alice", init["user_name"])
		require.Equal(t, "github", init["provider"])
		require.Regexp(t, `^\d+$`, init["user_id"])
		require.Equal(t, "github", evs[0]["source"])
		require.Equal(t, community, evs[0]["community"])
		data := evs[0]["data"].(map[string]any)
		require.Equal(t, "opened", data["action"])
		require.Equal(t, 1.0, data["issue"].(map[string]any)["number"])
		pushes := eventsOfType(t, b.events, "push")
		require.Len(t, pushes, 1)
		require.Equal(t, "bob", pushes[0]["initiator"].(map[string]any)["user_name"])
		require.Equal(t, "refs/heads/main", pushes[0]["data"].(map[string]any)["ref"])

		// A redelivery (the same X-GitHub-Delivery) is acknowledged and
		// makes no second event.
		status, _ = githubfake.Send(t, hook, opened)
		require.Equal(t, http.StatusOK, status)

		// Forged, unsigned, or signed with another secret: 401, nothing runs.
		forged := b.gh.IssuesEvent("closed", installationID, owner, repoName, 1, "carol")
		forged.Body = []byte(strings.Replace(string(forged.Body), `"carol"`, `"mallory"`, 1))
		status, _ = githubfake.Send(t, hook, forged)
		require.Equal(t, http.StatusUnauthorized, status)
		unsigned := b.gh.IssuesEvent("closed", installationID, owner, repoName, 1, "carol")
		unsigned.Header.Del("X-Hub-Signature-256")
		status, _ = githubfake.Send(t, hook, unsigned)
		require.Equal(t, http.StatusUnauthorized, status)
		wrongKey := b.gh.IssuesEvent("closed", installationID, owner, repoName, 1, "carol")
		wrongKey.Sign("another-secret")
		status, _ = githubfake.Send(t, hook, wrongKey)
		require.Equal(t, http.StatusUnauthorized, status)
		// The instance's own path checks the signature too.
		status, _ = githubfake.Send(t, b.gw.URL+"/api/hooks/"+community+"/github", unsigned)
		require.Equal(t, http.StatusUnauthorized, status)

		// Another installation's delivery goes nowhere, even sent to this
		// community's own path.
		status, _ = githubfake.Send(t, hook, b.gh.IssuesEvent("closed", 99, owner, repoName, 1, "carol"))
		require.Equal(t, http.StatusOK, status)
		status, _ = githubfake.Send(t, b.gw.URL+"/api/hooks/"+community+"/github", b.gh.IssuesEvent("closed", 99, owner, repoName, 1, "carol"))
		require.Equal(t, http.StatusOK, status)

		// Events are stored with the webhook's answer: the gateway's log
		// of events holds the two genuine ones only.
		r = b.gw.Do("GET", "/api/internal/events?after=0", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var types []string
		for _, ev := range r.JSON(t)["events"].([]any) {
			types = append(types, ev.(map[string]any)["event_type"].(string))
		}
		require.Equal(t, []string{"opened issues", "push"}, types)
	})
}
