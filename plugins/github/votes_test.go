package github_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugins/github/githubfake"
)

// lastCallback waits for n callbacks and decodes the last.
func lastCallback(t *testing.T, rec *apptest.Receiver, n int) map[string]any {
	t.Helper()
	got := rec.WaitFor(t, n, 20*time.Second)
	var cb map[string]any
	require.NoError(t, json.Unmarshal(got[len(got)-1].Body, &cb))
	return cb
}

// completedCallback waits for the process's completed record and returns
// it: a minute's poll may call back a pending record just before, so the
// completed one is not always the nth.
func completedCallback(t *testing.T, rec *apptest.Receiver) map[string]any {
	t.Helper()
	var done map[string]any
	rec.WaitUntil(t, 20*time.Second, func(all []apptest.Received) bool {
		for _, latest := range apptest.LatestByPath(all) {
			if latest["status"] == "completed" {
				done = latest
			}
		}
		return done != nil
	})
	return done
}

func votes(yes, no []any) map[string]any {
	return map[string]any{"yes": map[string]any{"users": yes, "count": float64(len(yes))},
		"no": map[string]any{"users": no, "count": float64(len(no))}}
}

// TestReactVote runs issue-react-vote from start to close on DELETE:
// reactions of users are counted, those of bots and other emoji are not.
func TestReactVote(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		callbacks := apptest.NewReceiver(t)
		r := b.gw.Do("POST", "/api/internal/process/github.issue-react-vote", map[string]any{
			"repo_name": repoName, "question": "Adopt the charter?", "help_text": "Read it first.", "callback_url": callbacks.URL}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc := r.Header.Get("Location")
		rec := r.JSON(t)
		require.Equal(t, "pending", rec["status"])
		require.Equal(t, "https://github.com/octo-org/governance/issues/1", rec["url"])
		require.Equal(t, map[string]any{"issue_number": 1.0, "votes": votes([]any{}, []any{}), "result": "tie"}, rec["outcome"])
		is, ok := b.gh.Issue(owner, repoName, 1)
		require.True(t, ok)
		require.Equal(t, "VOTE: Adopt the charter?", is.Title)
		require.Contains(t, is.Body, "Additional guidance: Read it first.")
		require.Contains(t, is.Body, "QUESTION: Adopt the charter?")

		b.gh.React(owner, repoName, 1, "carol", "+1")
		b.gh.React(owner, repoName, 1, "alice", "+1")
		b.gh.React(owner, repoName, 1, "alice", "-1") // a user may count on both sides, as in the original
		b.gh.React(owner, repoName, 1, "bob", "heart")
		b.gh.React(owner, repoName, 1, "dependabot[bot]", "-1")
		b.gh.React(owner, repoName, 1, b.gh.Bot().Login, "+1")

		// Polls run every minute, and at start: restart rather than wait.
		b.restart(t)
		cb := lastCallback(t, callbacks, 1)
		require.Equal(t, "pending", cb["status"])
		require.Equal(t, votes([]any{"alice", "carol"}, []any{"alice"}), cb["outcome"].(map[string]any)["votes"])
		require.Equal(t, "pass", cb["outcome"].(map[string]any)["result"])

		b.gh.React(owner, repoName, 1, "bob", "-1")
		r = b.gw.Do("DELETE", loc, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		rec = r.JSON(t)
		require.Equal(t, "completed", rec["status"])
		require.Equal(t, votes([]any{"alice", "carol"}, []any{"alice", "bob"}), rec["outcome"].(map[string]any)["votes"])
		require.Equal(t, "tie", rec["outcome"].(map[string]any)["result"])
		is, _ = b.gh.Issue(owner, repoName, 1)
		require.Equal(t, "closed", is.State)
		require.Equal(t, []string{"This vote is now closed. The result was 'tie' with 2 votes for and 2 votes against."}, is.Comments())
		_, ok = b.gh.LastRequest("PATCH", "/repos/octo-org/governance/issues/1")
		require.True(t, ok, "the issue is closed with PATCH (the original used POST)")

		cb = completedCallback(t, callbacks)
		require.Equal(t, "tie", cb["outcome"].(map[string]any)["result"])
		r = b.gw.Do("DELETE", loc, nil)
		require.Equal(t, http.StatusConflict, r.Status, string(r.Body))
	})
}

// TestReactVoteMaxVotes checks that reaching max_votes closes the vote
// (the original crashed trying), and that a failing close leaves it
// pending for the next count.
func TestReactVoteMaxVotes(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		callbacks := apptest.NewReceiver(t)
		r := b.gw.Do("POST", "/api/internal/process/github.issue-react-vote", map[string]any{
			"repo_name": repoName, "question": "Merge?", "max_votes": 2, "callback_url": callbacks.URL}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc := r.Header.Get("Location")
		is, _ := b.gh.Issue(owner, repoName, 1)
		require.Contains(t, is.Body, "This vote will end when there are 2 total votes.")
		b.gh.React(owner, repoName, 1, "alice", "-1")
		b.gh.React(owner, repoName, 1, "bob", "-1")

		// The first close fails on GitHub: the vote stays pending.
		b.gh.FailNext("PATCH", "/repos/octo-org/governance/issues/1", http.StatusInternalServerError, "Server Error")
		b.restart(t)
		require.Eventually(t, func() bool {
			_, ok := b.gh.LastRequest("PATCH", "/repos/octo-org/governance/issues/1")
			return ok
		}, 20*time.Second, 20*time.Millisecond)
		r = b.gw.Do("GET", loc, nil)
		require.Equal(t, "pending", r.JSON(t)["status"])

		// A webhook on the issue counts again, and closes it.
		status, body := githubfake.Send(t, b.gw.URL+"/api/hooks/github", b.gh.IssuesEvent("edited", installationID, owner, repoName, 1, "carol"))
		require.Equal(t, http.StatusOK, status, string(body))
		cb := completedCallback(t, callbacks)
		require.Equal(t, "fail", cb["outcome"].(map[string]any)["result"])
		is, _ = b.gh.Issue(owner, repoName, 1)
		require.Equal(t, "closed", is.State)
		require.Equal(t, []string{"This vote is now closed. The result was 'fail' with 0 votes for and 2 votes against."}, is.Comments())
	})
}

// TestCommentVote runs issue-comment-vote: ^^^^vote^^^^ comments, each
// user's first vote, trimmed and lowercased, counted on every comment
// webhook; max_votes closes it with a comment and PATCH state: closed.
func TestCommentVote(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		hook := b.gw.URL + "/api/hooks/github"
		callbacks := apptest.NewReceiver(t)
		r := b.gw.Do("POST", "/api/internal/process/github.issue-comment-vote", map[string]any{
			"repo_name": repoName, "question": "Which logo?", "max_votes": 3, "callback_url": callbacks.URL}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc := r.Header.Get("Location")
		rec := r.JSON(t)
		require.Equal(t, "https://github.com/octo-org/governance/issues/1", rec["url"], "the url is set (the original left it out)")
		require.Equal(t, map[string]any{"issue_number": 1.0, "votes": map[string]any{}, "total": 0.0, "winners": []any{}}, rec["outcome"])
		is, _ := b.gh.Issue(owner, repoName, 1)
		require.Contains(t, is.Body, "^^^^yes^^^^")

		comment := func(login, text string) {
			t.Helper()
			id := b.gh.Comment(owner, repoName, 1, login, text)
			status, body := githubfake.Send(t, hook, b.gh.IssueCommentEvent("created", installationID, owner, repoName, 1, id))
			require.Equal(t, http.StatusOK, status, string(body))
		}
		comment("alice", "I pick ^^^^ Blue ^^^^ for sure")
		cb := lastCallback(t, callbacks, 1)
		require.Equal(t, map[string]any{"issue_number": 1.0, "votes": map[string]any{"blue": map[string]any{"users": []any{"alice"}, "count": 1.0}},
			"total": 1.0, "winners": []any{"blue"}}, cb["outcome"])
		comment("alice", "^^^^red^^^^")           // a second vote does not count
		comment("dependabot[bot]", "^^^^red^^^^") // nor does a bot's
		comment("bob", "no vote in this one")     // nor a comment without one
		comment("bob", "^^^^RED^^^^")
		r = b.gw.Do("GET", loc, nil)
		out := r.JSON(t)["outcome"].(map[string]any)
		require.Equal(t, 2.0, out["total"])
		require.Equal(t, []any{"blue", "red"}, out["winners"])
		require.Equal(t, "pending", r.JSON(t)["status"])
		// Bob's vote is called back before Carol's, which would otherwise
		// replace it while it is still queued (callbacks are coalesced).
		require.Equal(t, 2.0, lastCallback(t, callbacks, 2)["outcome"].(map[string]any)["total"])

		comment("carol", "^^^^red^^^^")
		r = b.gw.Do("GET", loc, nil)
		require.Equal(t, "completed", r.JSON(t)["status"])
		out = r.JSON(t)["outcome"].(map[string]any)
		require.Equal(t, map[string]any{"users": []any{"bob", "carol"}, "count": 2.0}, out["votes"].(map[string]any)["red"])
		require.Equal(t, []any{"red"}, out["winners"])
		is, _ = b.gh.Issue(owner, repoName, 1)
		require.Equal(t, "closed", is.State)
		comments := is.Comments()
		require.Equal(t, "This vote is now closed. The result was:\n\nblue: 1\nred: 2\n\nPeople voting: alice, bob, carol", comments[len(comments)-1])
		cb = completedCallback(t, callbacks)
		require.Equal(t, []any{"red"}, cb["outcome"].(map[string]any)["winners"], "the final callback carries the final outcome")
	})
}

// TestCommentVotePolledAndClosed checks that comments whose webhook never
// came are counted by the poll, and that DELETE closes the vote.
func TestCommentVotePolledAndClosed(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		callbacks := apptest.NewReceiver(t)
		r := b.gw.Do("POST", "/api/internal/process/github.issue-comment-vote", map[string]any{
			"repo_name": repoName, "question": "Which logo?", "callback_url": callbacks.URL}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc := r.Header.Get("Location")
		b.gh.Comment(owner, repoName, 1, "alice", "^^^^yes^^^^")
		b.restart(t)
		cb := lastCallback(t, callbacks, 1)
		require.Equal(t, 1.0, cb["outcome"].(map[string]any)["total"])

		b.gh.Comment(owner, repoName, 1, "bob", "^^^^no^^^^")
		r = b.gw.Do("DELETE", loc, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "completed", r.JSON(t)["status"])
		require.Equal(t, []any{"no", "yes"}, r.JSON(t)["outcome"].(map[string]any)["winners"])
		is, _ := b.gh.Issue(owner, repoName, 1)
		require.Equal(t, "closed", is.State)

		// Starting in a repository the installation cannot reach is GitHub's 404.
		r = b.gw.Do("POST", "/api/internal/process/github.issue-comment-vote", map[string]any{
			"repo_name": "elsewhere", "question": "Which logo?"}, header...)
		r.RequireError(t, http.StatusBadGateway, "platform_error", "Not Found")
	})
}
