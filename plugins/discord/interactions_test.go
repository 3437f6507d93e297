package discord_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugins/discord/discordfake"
)

func TestInteractionsVerified(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		b := setup(t, db)

		// Discord's endpoint check: a signed PING is answered PONG.
		reply := b.send(t, b.fake.Ping())
		require.Equal(t, http.StatusOK, reply.Status, string(reply.Body))
		assert.JSONEq(t, `{"type": 1}`, string(reply.Body))

		// Discord also sends forged requests and expects 401.
		in := b.fake.Ping()
		in.Signature = ""
		assert.Equal(t, http.StatusUnauthorized, b.send(t, in).Status, "unsigned")
		other := ed25519.NewKeyFromSeed(func() []byte { s := sha256.Sum256([]byte("forger")); return s[:] }())
		in = b.fake.Ping()
		in.Resign(other, in.Timestamp)
		assert.Equal(t, http.StatusUnauthorized, b.send(t, in).Status, "signed by another key")
		in = b.fake.SlashCommand(discordfake.Member, "propose")
		signed := in.Signature
		in.Body = append(in.Body[:len(in.Body)-1], []byte(`,"x":1}`)...)
		in.Signature = signed
		assert.Equal(t, http.StatusUnauthorized, b.send(t, in).Status, "body changed after signing")
		in = b.fake.Ping()
		in.Resign(discordfake.PrivateKey, strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10))
		assert.Equal(t, http.StatusUnauthorized, b.send(t, in).Status, "stale timestamp")
		assert.Empty(t, b.events(t))

		// An interaction for another application is refused.
		in = b.fake.SlashCommand(discordfake.Member, "propose")
		var m map[string]any
		require.NoError(t, json.Unmarshal(in.Body, &m))
		m["application_id"] = "1000000000000000001"
		in.Body, _ = json.Marshal(m)
		in.Resign(discordfake.PrivateKey, in.Timestamp)
		reply = b.send(t, in)
		assert.Equal(t, http.StatusBadRequest, reply.Status, string(reply.Body))
		assert.Empty(t, b.events(t))
	})
}

func TestSlashCommandEvent(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		b := setup(t, db)
		in := b.fake.SlashCommand(discordfake.Member, "propose")
		reply := b.send(t, in)
		require.Equal(t, http.StatusOK, reply.Status, string(reply.Body))
		assert.JSONEq(t, `{"type": 4, "data": {"content": "Message received!", "flags": 64}}`, string(reply.Body))

		// The same signed interaction again answers but makes no event.
		require.Equal(t, http.StatusOK, b.send(t, in).Status)

		events := b.events(t)
		require.Len(t, events, 1)
		ev := events[0]
		assert.Equal(t, "slash_command", ev["event_type"])
		assert.Equal(t, "discord", ev["source"])
		assert.Equal(t, community, ev["community"])
		initiator, _ := ev["initiator"].(map[string]any)
		assert.Equal(t, discordfake.Member, initiator["user_id"])
		assert.Equal(t, "discord", initiator["provider"])
		data, _ := ev["data"].(map[string]any)
		assert.Equal(t, discordfake.GuildID, data["guild_id"])
		cmd, _ := data["data"].(map[string]any)
		assert.Equal(t, "propose", cmd["name"])
	})
}

// TestPerCommunityPath: the community's own path verifies and answers
// interactions the same way, votes included.
func TestPerCommunityPath(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		b := setup(t, db)
		url := b.s.URL + "/api/hooks/" + community + "/discord"
		send := func(in *discordfake.Interaction) discordfake.Reply {
			t.Helper()
			reply, err := in.Send(url)
			require.NoError(t, err)
			return reply
		}
		reply := send(b.fake.Ping())
		require.Equal(t, http.StatusOK, reply.Status, string(reply.Body))
		assert.JSONEq(t, `{"type": 1}`, string(reply.Body))
		in := b.fake.Ping()
		in.Resign(discordfake.PrivateKey, "1")
		assert.Equal(t, http.StatusUnauthorized, send(in).Status)

		reply = send(b.fake.SlashCommand(discordfake.Admin, "propose"))
		require.Equal(t, http.StatusOK, reply.Status, string(reply.Body))
		assert.Equal(t, 4.0, reply.JSON()["type"])
		require.Len(t, b.events(t), 1)

		_, rec := b.startVote(t, `{"title": "Here?", "poll_type": "boolean", "channel": "`+discordfake.General+`"}`)
		msgID := rec["outcome"].(map[string]any)["message_id"].(string)
		reply = send(b.fake.Click(discordfake.Member, msgID, "cast_vote_no"))
		require.Equal(t, http.StatusOK, reply.Status, string(reply.Body))
		assert.Equal(t, 7.0, reply.JSON()["type"])
		m, _ := b.fake.Message(msgID)
		assert.Contains(t, m.Content, "Rejections   (1) (<@"+discordfake.Member+">)")
	})
}
