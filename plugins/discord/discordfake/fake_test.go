package discordfake_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/plugins/discord/discordfake"
)

// TestFakeRefuses: the fake answers what Discord would to requests that do
// not fit the description, an unknown channel and a wrong token, and
// records the misfits as problems.
func TestFakeRefuses(t *testing.T) {
	f := discordfake.New(t)
	post := func(path, auth, body string) *http.Response {
		req, err := http.NewRequest(http.MethodPost, f.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	bot := "Bot " + discordfake.BotToken
	assert.Equal(t, http.StatusUnauthorized, post("/v10/channels/"+discordfake.General+"/messages", "Bot wrong", `{"content": "hi"}`).StatusCode)
	assert.Equal(t, http.StatusNotFound, post("/v10/channels/42/messages", bot, `{"content": "hi"}`).StatusCode)
	assert.Equal(t, http.StatusOK, post("/v10/channels/"+discordfake.General+"/messages", bot, `{"content": "hi"}`).StatusCode)
	assert.Empty(t, f.Problems())
	if !f.Validating() {
		t.Skip("Discord's description is absent: nothing more to check")
	}
	resp := post("/v10/channels/"+discordfake.General+"/messages", bot, `{"content": 5}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp = post("/v10/channels/"+discordfake.General+"/messages", bot,
		`{"content": "hi", "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "x", "custom_id": 7}]}]}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Len(t, f.TakeProblems(), 2)
}
