package discoursefake

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFakeRefuses checks that the fake refuses what Discourse would: bad
// credentials, requests that do not fit the description, bad poll toggles.
func TestFakeRefuses(t *testing.T) {
	t.Parallel()
	s := New(t, Options{})
	topic := s.CreateTopic("system", "A topic with a poll inside", "[poll]\n* a\n* b\n[/poll]", nil)
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		key         string
		wantStatus  int
		wantText    string
		problem     bool
	}{
		{name: "wrong key", method: "GET", path: "/admin/users/list/active.json", key: "nope", wantStatus: 403, wantText: "API username or key is invalid"},
		{name: "no key", method: "POST", path: "/posts.json", contentType: "application/json", body: `{"raw":"x"}`, wantStatus: 403},
		{name: "about is public", method: "GET", path: "/about.json", wantStatus: 200, wantText: "Metagov Test Forum"},
		{name: "unknown field", method: "POST", path: "/posts.json", key: "test-api-key", contentType: "application/json",
			body: `{"raw":"a body long enough for a post","topic_id":1,"colour":"red"}`, wantStatus: 400, problem: true},
		{name: "locked as a boolean", method: "PUT", path: "/posts/1/locked.json", key: "test-api-key", contentType: "application/json",
			body: `{"locked":true}`, wantStatus: 400, problem: true},
		{name: "toggle without status", method: "PUT", path: "/polls/toggle_status", key: "test-api-key",
			contentType: "application/x-www-form-urlencoded", body: "post_id=1&poll_name=poll", wantStatus: 400, wantText: "status"},
		{name: "toggle unknown poll", method: "PUT", path: "/polls/toggle_status", key: "test-api-key",
			contentType: "application/x-www-form-urlencoded", body: "post_id=" + itoa(topic.ID) + "&poll_name=other&status=closed", wantStatus: 422, wantText: "No poll named other"},
		{name: "toggle", method: "PUT", path: "/polls/toggle_status", key: "test-api-key",
			contentType: "application/x-www-form-urlencoded", body: "post_id=" + itoa(topic.ID) + "&poll_name=poll&status=closed", wantStatus: 200, wantText: `"status":"closed"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.problem && !s.Validating() {
				t.Skip("Discourse's description is absent: nothing to check requests against")
			}
			req, err := http.NewRequest(tt.method, s.URL+tt.path, strings.NewReader(tt.body))
			require.NoError(t, err)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.key != "" {
				req.Header.Set("Api-Key", tt.key)
				req.Header.Set("Api-Username", "system")
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var b strings.Builder
			_, _ = io.Copy(&b, resp.Body)
			require.Equal(t, tt.wantStatus, resp.StatusCode, b.String())
			require.Contains(t, b.String(), tt.wantText)
			require.Equal(t, tt.problem, len(s.takeProblems()) > 0)
		})
	}
}

// TestPollOptionsCooked checks that the fake keeps poll options as
// Discourse does: ids as in Discourse's own specs, html cooked.
func TestPollOptionsCooked(t *testing.T) {
	t.Parallel()
	p := parsePoll(1, "[poll]\n- A\n- B\n* Tea & biscuits\n* **x** and _y_\n* see https://meta.discourse.org\n[/poll]\n")
	require.NotNil(t, p)
	var ids, html []string
	for _, o := range p.Options {
		ids = append(ids, o.Digest())
		html = append(html, o.HTML)
	}
	require.Equal(t, "5c24fc1df56d764b550ceae1b9319125", ids[0])
	require.Equal(t, "e89dec30bbd9bf50fabf6a05b4324edf", ids[1])
	require.Equal(t, []string{"A", "B", "Tea &amp; biscuits", "<strong>x</strong> and <em>y</em>",
		`see <a href="https://meta.discourse.org">https://meta.discourse.org</a>`}, html)
}
