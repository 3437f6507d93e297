package slack_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugins/slack/slackfake"
)

// startVote starts slack.<process> and returns its path and record.
func (b *testBundle) startVote(t *testing.T, process string, input map[string]any) (string, map[string]any) {
	t.Helper()
	r := b.s.Do("POST", "/api/internal/process/slack."+process, input, header...)
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

// blocksOf decodes a fake message's blocks.
func blocksOf(t *testing.T, m slackfake.Message) []map[string]any {
	t.Helper()
	var blocks []map[string]any
	require.NoError(t, json.Unmarshal(m.Blocks, &blocks))
	return blocks
}

func sectionText(b map[string]any) string {
	return b["text"].(map[string]any)["text"].(string)
}

// TestEmojiVote runs a yes/no vote from start to close with button clicks:
// votes move, ineligible voters are told, the message is refreshed through
// response_url, and the close takes the buttons off.
func TestEmojiVote(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		callbacks := apptest.NewReceiver(t)
		path, rec := b.startVote(t, "emoji-vote", map[string]any{"title": "Lunch at noon?", "details": "Friday <3",
			"poll_type": "boolean", "channel": slackfake.General, "eligible_voters": []string{slackfake.Admin, slackfake.Member},
			"callback_url": callbacks.URL})
		require.Equal(t, "pending", rec["status"])
		out := rec["outcome"].(map[string]any)
		channel, ts := out["channel"].(string), out["message_ts"].(string)
		require.Equal(t, slackfake.General, channel)
		require.Equal(t, map[string]any{"yes": map[string]any{"users": []any{}, "count": 0.0},
			"no": map[string]any{"users": []any{}, "count": 0.0}}, out["votes"])
		require.Equal(t, "https://fake.slack.com/archives/"+channel+"/p"+strings.ReplaceAll(ts, ".", ""), rec["url"])
		m, found := b.fake.Message(channel, ts)
		require.True(t, found)
		blocks := blocksOf(t, m)
		require.Len(t, blocks, 3)
		require.Equal(t, "*Lunch at noon?*\nFriday &lt;3\n", sectionText(blocks[0]))
		require.Equal(t, "Approve   `0`", sectionText(blocks[1]))
		require.Equal(t, "yes", blocks[1]["accessory"].(map[string]any)["value"])

		reply := b.send(t, b.fake.Interact(slackfake.Admin, channel, ts, slackfake.Action{ActionID: "cast_vote", Value: "yes"}))
		require.Equal(t, http.StatusOK, reply.Status, reply.Body)
		cb := lastCallback(t, callbacks.WaitFor(t, 1, 20*time.Second))
		require.Equal(t, map[string]any{"users": []any{slackfake.Admin}, "count": 1.0}, cb["outcome"].(map[string]any)["votes"].(map[string]any)["yes"])
		eventually(t, "the message refreshed through response_url", func() bool {
			m, _ := b.fake.Message(channel, ts)
			return strings.Contains(string(m.Blocks), "Approve   `1`")
		})
		m, _ = b.fake.Message(channel, ts)
		require.Equal(t, "Approve   `1` (<@"+slackfake.Admin+">)", sectionText(blocksOf(t, m)[1]))

		// A second click moves the vote.
		reply = b.send(t, b.fake.Interact(slackfake.Admin, channel, ts, slackfake.Action{ActionID: "cast_vote", Value: "no"}))
		require.Equal(t, http.StatusOK, reply.Status, reply.Body)
		cb = lastCallback(t, callbacks.WaitFor(t, 2, 20*time.Second))
		votes := cb["outcome"].(map[string]any)["votes"].(map[string]any)
		require.Equal(t, map[string]any{"users": []any{}, "count": 0.0}, votes["yes"])
		require.Equal(t, map[string]any{"users": []any{slackfake.Admin}, "count": 1.0}, votes["no"])

		// An ineligible voter is told, and counts for nothing.
		reply = b.send(t, b.fake.Interact(slackfake.Outsider, channel, ts, slackfake.Action{ActionID: "cast_vote", Value: "yes"}))
		require.Equal(t, http.StatusOK, reply.Status, reply.Body)
		eventually(t, "the ineligible voter's notice", func() bool { return len(b.fake.Ephemerals()) == 1 })
		require.Equal(t, slackfake.Ephemeral{Channel: channel, User: slackfake.Outsider, Text: "You are not eligible to vote in this poll."}, b.fake.Ephemerals()[0])

		// A forged click is refused before anything reads it.
		forged := b.fake.Interact(slackfake.Member, channel, ts, slackfake.Action{ActionID: "cast_vote", Value: "yes"})
		forged.Resign("wrong-secret", time.Now())
		require.Equal(t, http.StatusUnauthorized, b.send(t, forged).Status)

		r := b.s.Do("GET", path, nil)
		require.Equal(t, map[string]any{"users": []any{}, "count": 0.0}, r.JSON(t)["outcome"].(map[string]any)["votes"].(map[string]any)["yes"])

		r = b.s.Do("DELETE", path, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "completed", r.JSON(t)["status"])
		require.Len(t, b.fake.CallsOf("chat.update"), 1)
		m, _ = b.fake.Message(channel, ts)
		for _, bl := range blocksOf(t, m) {
			require.NotContains(t, bl, "accessory")
		}
		require.Contains(t, sectionText(blocksOf(t, m)[0]), "closed")
		require.Equal(t, "Reject   `1` (<@"+slackfake.Admin+">)", sectionText(blocksOf(t, m)[2]))
		cb = lastCallback(t, callbacks.WaitFor(t, 3, 20*time.Second))
		require.Equal(t, "completed", cb["status"])
	})
}

// TestEmojiVoteInputs: a choice vote posts one emoji button per option to
// a group DM of its voters; inputs Slack could not show are refused.
func TestEmojiVoteInputs(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		path, rec := b.startVote(t, "emoji-vote", map[string]any{"title": "Colour?", "poll_type": "choice",
			"options": []string{"red", "green", "blue"}, "emoji_family": "flowers", "eligible_voters": []string{slackfake.Admin, slackfake.Member}})
		out := rec["outcome"].(map[string]any)
		ch, found := b.fake.Channel(out["channel"].(string))
		require.True(t, found)
		require.True(t, ch.IsMPIM)
		m, _ := b.fake.Message(ch.ID, out["message_ts"].(string))
		blocks := blocksOf(t, m)
		require.Len(t, blocks, 4)
		require.Equal(t, ":sunflower:", blocks[2]["accessory"].(map[string]any)["text"].(map[string]any)["text"])

		// Slack failing keeps the vote open; a message deleted meanwhile
		// does not.
		b.fake.FailNext("chat.update", "fatal_error")
		r := b.s.Do("DELETE", path, nil)
		require.Equal(t, http.StatusBadGateway, r.Status, string(r.Body))
		require.Equal(t, "pending", b.s.Do("GET", path, nil).JSON(t)["status"])
		b.fake.FailNext("chat.update", "message_not_found")
		r = b.s.Do("DELETE", path, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "completed", r.JSON(t)["status"])

		// PolicyKit's payload names the voters users, the original's first
		// name for eligible_voters: a group DM of them.
		_, rec = b.startVote(t, "emoji-vote", map[string]any{"title": "PolicyKit vote", "poll_type": "boolean",
			"users": []string{slackfake.Admin, slackfake.Member}, "callback_url": "http://127.0.0.1:9/cb"})
		ch, found = b.fake.Channel(rec["outcome"].(map[string]any)["channel"].(string))
		require.True(t, found)
		require.True(t, ch.IsMPIM && ch.Members[slackfake.Admin] && ch.Members[slackfake.Member] && !ch.Members[slackfake.Outsider])

		for _, c := range []struct {
			input map[string]any
			field string
		}{
			{map[string]any{"title": "x", "poll_type": "choice", "channel": slackfake.General}, "/options"},
			{map[string]any{"title": "x", "poll_type": "choice", "channel": slackfake.General, "emoji_family": "hearts",
				"options": []string{"1", "2", "3", "4", "5", "6", "7", "8"}}, "/options"},
			{map[string]any{"title": "x", "poll_type": "boolean"}, ""},
			{map[string]any{"title": "x", "poll_type": "boolean", "eligible_voters": []string{"U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9"}}, "/eligible_voters"},
			{map[string]any{"title": "x", "poll_type": "boolean", "users": []string{"U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9"}}, "/users"},
			{map[string]any{"title": "x", "poll_type": "boolean", "channel": slackfake.General, "voters": []string{"U1"}}, "/voters"},
			{map[string]any{"title": "x", "poll_type": "boolean", "channel": slackfake.General, "options": []string{strings.Repeat("o", 151)}}, "/options/0"},
		} {
			r := b.s.Do("POST", "/api/internal/process/slack.emoji-vote", c.input, header...)
			require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
			if c.field != "" {
				require.Equal(t, c.field, r.JSON(t)["field"], string(r.Body))
			}
		}
		r = b.s.Do("POST", "/api/internal/process/slack.emoji-vote", map[string]any{"title": "x", "poll_type": "boolean", "channel": "C0NOWHERE"}, header...)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, string(r.Body))
		require.Contains(t, r.JSON(t)["detail"], "channel_not_found")
	})
}

// TestAdvancedVote runs a vote with a select per candidate, candidates
// with dots included, from start to close.
func TestAdvancedVote(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		callbacks := apptest.NewReceiver(t)
		path, rec := b.startVote(t, "advanced-vote", map[string]any{"title": "Budget", "channel": slackfake.Random,
			"candidates": []string{"v1.2", "budget.2027.q1"}, "options": []string{"yes", "no", "abstain"},
			"ineligible_voters": []string{slackfake.Outsider}, "ineligible_voter_message": "Members only.", "callback_url": callbacks.URL})
		out := rec["outcome"].(map[string]any)
		require.Equal(t, map[string]any{}, out["votes"])
		channel, ts := out["channel"].(string), out["message_ts"].(string)
		require.Equal(t, slackfake.Random, channel, "the bot joined the channel to post")
		m, _ := b.fake.Message(channel, ts)
		blocks := blocksOf(t, m)
		require.Len(t, blocks, 3)
		require.Equal(t, "advanced_vote.budget.2027.q1", blocks[2]["accessory"].(map[string]any)["action_id"])

		reply := b.send(t, b.fake.Interact(slackfake.Member, channel, ts, slackfake.Action{ActionID: "advanced_vote.v1.2", Value: "yes"}))
		require.Equal(t, http.StatusOK, reply.Status, reply.Body)
		callbacks.WaitFor(t, 1, 20*time.Second)
		reply = b.send(t, b.fake.Interact(slackfake.Member, channel, ts, slackfake.Action{ActionID: "advanced_vote.budget.2027.q1", Value: "no"}))
		require.Equal(t, http.StatusOK, reply.Status, reply.Body)
		cb := lastCallback(t, callbacks.WaitFor(t, 2, 20*time.Second))
		require.Equal(t, map[string]any{slackfake.Member: map[string]any{"v1.2": "yes", "budget.2027.q1": "no"}}, cb["outcome"].(map[string]any)["votes"])

		reply = b.send(t, b.fake.Interact(slackfake.Admin, channel, ts, slackfake.Action{ActionID: "advanced_vote.v1.2", Value: "abstain"}))
		require.Equal(t, http.StatusOK, reply.Status, reply.Body)
		cb = lastCallback(t, callbacks.WaitFor(t, 3, 20*time.Second))
		require.Equal(t, map[string]any{"v1.2": "abstain"}, cb["outcome"].(map[string]any)["votes"].(map[string]any)[slackfake.Admin])

		reply = b.send(t, b.fake.Interact(slackfake.Outsider, channel, ts, slackfake.Action{ActionID: "advanced_vote.v1.2", Value: "no"}))
		require.Equal(t, http.StatusOK, reply.Status, reply.Body)
		eventually(t, "the ineligible voter's notice", func() bool { return len(b.fake.Ephemerals()) == 1 })
		require.Equal(t, "Members only.", b.fake.Ephemerals()[0].Text)

		r := b.s.Do("DELETE", path, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		final := r.JSON(t)
		require.Equal(t, "completed", final["status"])
		require.Len(t, final["outcome"].(map[string]any)["votes"], 2)
		m, _ = b.fake.Message(channel, ts)
		for _, bl := range blocksOf(t, m) {
			require.NotContains(t, bl, "accessory")
		}
	})
}
