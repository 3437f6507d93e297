package loomiofake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/plugins/loomio/loomiofake"
)

// TestEncodings checks the fake reads parameters as Loomio's b2 controllers
// do: a flat JSON body loses group_id and options to Rails' wrapping, a
// flat form or a nested poll keeps them, an unpermitted attribute is a 400,
// and the API cannot close a poll.
func TestEncodings(t *testing.T) {
	t.Parallel()
	fake := loomiofake.New(t)
	fake.AddUser(loomiofake.User{ID: 1, Name: "Bot", Bot: true, APIKey: "k"})
	fake.AddUser(loomiofake.User{ID: 2, Name: "Ann"})
	fake.AddGroup(loomiofake.Group{ID: 9, Key: "gk", Handle: "g", Members: []loomiofake.Membership{{UserID: 1, Admin: true}, {UserID: 2}}})
	closing := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	do := func(method, path, contentType, body string) (int, map[string]any) {
		req, err := http.NewRequest(method, fake.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer k")
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return resp.StatusCode, out
	}

	status, body := do("POST", "/api/b2/polls", "application/json",
		`{"group_id": 9, "title": "T", "poll_type": "proposal", "options": ["agree"], "closing_at": "`+closing+`"}`)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Equal(t, map[string]any{"group": []any{"can't be blank"}}, body["errors"], "flat JSON lost group_id")

	form := url.Values{"group_id": {"9"}, "title": {"T"}, "poll_type": {"proposal"}, "options[]": {"agree", "disagree"}, "closing_at": {closing}}
	status, body = do("POST", "/api/b2/polls", "application/x-www-form-urlencoded", form.Encode())
	require.Equal(t, http.StatusOK, status)
	poll := body["polls"].([]any)[0].(map[string]any)
	require.Equal(t, []any{"agree", "disagree"}, poll["poll_option_names"])
	require.Equal(t, 9.0, poll["group_id"])
	require.Equal(t, 1.0, poll["voters_count"], "the human member, not the bot")

	status, body = do("POST", "/api/b2/polls", "application/json",
		`{"poll": {"group_id": 9, "title": "T", "poll_type": "poll", "options": ["a"], "closing_at": "`+closing+`", "colour": "red"}}`)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, 400.0, body["error"])

	key := poll["key"].(string)
	status, _ = do("PATCH", "/api/b2/polls/"+key, "application/json", `{"poll": {"closed_at": "2020-01-01T00:00:00Z"}}`)
	require.Equal(t, http.StatusBadRequest, status, "closed_at is not permitted")
	status, body = do("PATCH", "/api/b2/polls/"+key, "application/json", `{"poll": {"closing_at": "2020-01-01T00:00:00Z"}}`)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Equal(t, map[string]any{"closing_at": []any{"must be in the future"}}, body["errors"])
	require.False(t, fake.Closed(key))

	status, body = do("GET", "/api/b2/polls/nokey123", "", "")
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, 404.0, body["error"])
}
