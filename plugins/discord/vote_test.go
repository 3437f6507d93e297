package discord_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugins/discord/discordfake"
)

// startVote starts discord.vote and returns its path and record.
func (b *testBundle) startVote(t *testing.T, input string) (string, map[string]any) {
	t.Helper()
	r := b.s.Do("POST", "/api/internal/process/discord.vote", json.RawMessage(input), header...)
	require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	path := r.Header.Get("Location")
	r = b.s.Do("GET", path, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	return path, r.JSON(t)
}

// lastCallback decodes the callback with the highest sequence.
func lastCallback(t *testing.T, got []apptest.Received) map[string]any {
	t.Helper()
	var best map[string]any
	for _, g := range got {
		var rec map[string]any
		require.NoError(t, json.Unmarshal(g.Body, &rec))
		if best == nil || rec["sequence"].(float64) > best["sequence"].(float64) {
			best = rec
		}
	}
	return best
}

// buttons lists a message's buttons, row by row.
func buttons(m discordfake.Message) [][]map[string]any {
	var rows [][]map[string]any
	for _, r := range m.Components {
		row, _ := r.(map[string]any)
		var bs []map[string]any
		comps, _ := row["components"].([]any)
		for _, c := range comps {
			b, _ := c.(map[string]any)
			bs = append(bs, b)
		}
		rows = append(rows, bs)
	}
	return rows
}

func votesOf(rec map[string]any) map[string]any {
	out, _ := rec["outcome"].(map[string]any)
	v, _ := out["votes"].(map[string]any)
	return v
}

// TestVote runs a yes/no vote from start to close with button clicks:
// each click is answered with UPDATE_MESSAGE, votes move, ineligible
// voters are told ephemerally, every change makes a callback, and the
// close edits the message with the buttons disabled.
func TestVote(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		b := setup(t, db)
		callbacks := apptest.NewReceiver(t)
		path, rec := b.startVote(t, `{"title": "Lunch at noon?", "details": "Friday", "poll_type": "boolean",
			"channel": `+discordfake.General+`, "eligible_voters": [`+discordfake.Admin+`, "`+discordfake.Member+`"],
			"callback_url": "`+callbacks.URL+`"}`)
		require.Equal(t, "pending", rec["status"])
		out := rec["outcome"].(map[string]any)
		msgID, _ := out["message_id"].(string)
		require.NotEmpty(t, msgID)
		assert.Equal(t, discordfake.General, out["channel"])
		assert.Equal(t, map[string]any{"yes": map[string]any{"users": []any{}, "count": 0.0},
			"no": map[string]any{"users": []any{}, "count": 0.0}}, votesOf(rec))
		assert.Equal(t, "https://discord.com/channels/"+discordfake.GuildID+"/"+discordfake.General+"/"+msgID, rec["url"])
		m, ok := b.fake.Message(msgID)
		require.True(t, ok)
		assert.Equal(t, "**Lunch at noon?**\n\nFriday\n\nApprovals   (0)\n\nRejections   (0)", m.Content)
		rows := buttons(m)
		require.Len(t, rows, 1)
		require.Len(t, rows[0], 2)
		assert.Equal(t, "cast_vote_yes", rows[0][0]["custom_id"])
		assert.Equal(t, map[string]any{"name": "👍"}, rows[0][0]["emoji"])
		assert.Equal(t, false, rows[0][0]["disabled"])

		reply := b.send(t, b.fake.Click(discordfake.Admin, msgID, "cast_vote_yes"))
		require.Equal(t, http.StatusOK, reply.Status, string(reply.Body))
		assert.Equal(t, 7.0, reply.JSON()["type"], "UPDATE_MESSAGE")
		m, _ = b.fake.Message(msgID)
		assert.Equal(t, "**Lunch at noon?**\n\nFriday\n\nApprovals   (1) (<@"+discordfake.Admin+">)\n\nRejections   (0)", m.Content)
		cb := lastCallback(t, callbacks.WaitFor(t, 1, 20*time.Second))
		assert.Equal(t, map[string]any{"users": []any{discordfake.Admin}, "count": 1.0}, votesOf(cb)["yes"])

		// A second click moves the vote.
		reply = b.send(t, b.fake.Click(discordfake.Admin, msgID, "cast_vote_no"))
		require.Equal(t, http.StatusOK, reply.Status, string(reply.Body))
		assert.Equal(t, 7.0, reply.JSON()["type"])
		cb = lastCallback(t, callbacks.WaitFor(t, 2, 20*time.Second))
		assert.Equal(t, map[string]any{"users": []any{}, "count": 0.0}, votesOf(cb)["yes"])
		assert.Equal(t, map[string]any{"users": []any{discordfake.Admin}, "count": 1.0}, votesOf(cb)["no"])

		// An ineligible voter is told, only them, and counts for nothing.
		reply = b.send(t, b.fake.Click(discordfake.Outsider, msgID, "cast_vote_yes"))
		require.Equal(t, http.StatusOK, reply.Status, string(reply.Body))
		assert.JSONEq(t, `{"type": 4, "data": {"content": "You are not eligible to vote in this poll.", "flags": 64}}`, string(reply.Body))

		// A forged click is refused before anything reads it.
		forged := b.fake.Click(discordfake.Member, msgID, "cast_vote_yes")
		forged.Signature = discordfake.Sign(discordfake.PrivateKey, forged.Timestamp, []byte("{}"))
		require.Equal(t, http.StatusUnauthorized, b.send(t, forged).Status)

		// A click on another message is acknowledged and changes nothing.
		reply = b.send(t, b.fake.Click(discordfake.Member, "1200000000000000000", "cast_vote_yes"))
		require.Equal(t, http.StatusOK, reply.Status, string(reply.Body))
		assert.JSONEq(t, `{"type": 6}`, string(reply.Body))

		r := b.s.Do("GET", path, nil)
		assert.Equal(t, map[string]any{"users": []any{}, "count": 0.0}, votesOf(r.JSON(t))["yes"])

		r = b.s.Do("DELETE", path, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "completed", r.JSON(t)["status"])
		_, edited := b.fake.Last("PATCH", "/v10/channels/"+discordfake.General+"/messages/"+msgID)
		require.True(t, edited)
		m, _ = b.fake.Message(msgID)
		assert.Contains(t, m.Content, "Rejections   (1) (<@"+discordfake.Admin+">)")
		assert.Contains(t, m.Content, "This vote is closed.")
		for _, row := range buttons(m) {
			for _, bt := range row {
				assert.Equal(t, true, bt["disabled"], bt["custom_id"])
			}
		}
		cb = lastCallback(t, callbacks.WaitFor(t, 3, 20*time.Second))
		assert.Equal(t, "completed", cb["status"])
	})
}

// TestVoteChoices: a choice vote has one labelled button per option, five
// to a row; a choice vote without options, or more than 25, is refused.
func TestVoteChoices(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		b := setup(t, db)
		_, rec := b.startVote(t, `{"title": "Colour?", "poll_type": "choice", "channel": "`+discordfake.General+`",
			"options": ["red", "orange", "yellow", "green", "blue", "indigo", "violet"]}`)
		msgID := rec["outcome"].(map[string]any)["message_id"].(string)
		m, _ := b.fake.Message(msgID)
		rows := buttons(m)
		require.Len(t, rows, 2)
		assert.Len(t, rows[0], 5)
		assert.Len(t, rows[1], 2)
		assert.Equal(t, "violet", rows[1][1]["label"])

		reply := b.send(t, b.fake.Click(discordfake.Outsider, msgID, "cast_vote_violet"))
		require.Equal(t, http.StatusOK, reply.Status, string(reply.Body))
		m, _ = b.fake.Message(msgID)
		assert.Contains(t, m.Content, "violet   (1) (<@"+discordfake.Outsider+">)", "without eligible_voters anyone may vote")

		r := b.s.Do("POST", "/api/internal/process/discord.vote", map[string]any{"title": "Where?", "poll_type": "choice",
			"channel": discordfake.General}, header...)
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		assert.Equal(t, "/options", r.JSON(t)["field"])
		many := make([]string, 26)
		for i := range many {
			many[i] = "o" + string(rune('a'+i))
		}
		r = b.s.Do("POST", "/api/internal/process/discord.vote", map[string]any{"title": "Where?", "poll_type": "choice",
			"channel": discordfake.General, "options": many}, header...)
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		r = b.s.Do("POST", "/api/internal/process/discord.vote", map[string]any{"title": "Where?", "poll_type": "boolean",
			"channel": "404"}, header...)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, string(r.Body))
		assert.Equal(t, "/channel", r.JSON(t)["field"])
	})
}
