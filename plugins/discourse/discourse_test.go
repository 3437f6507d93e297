package discourse_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/apptest"
)

func TestEnable(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		var name string
		b.state(t, "community_name", &name)
		require.Equal(t, "Metagov Test Forum", name)
		var users map[string]map[string]any
		b.state(t, "users", &users)
		require.Equal(t, "alice", users[strconv.FormatInt(b.alice, 10)]["username"])
		require.Equal(t, "bob", users[strconv.FormatInt(b.bob, 10)]["username"])
		req, ok := b.forum.LastRequest("GET", "/admin/users/list/active.json")
		require.True(t, ok)
		require.Equal(t, "metagov-bot", req.Header.Get("Api-Username"), "the Api-Username header is sent")

		r := b.gw.Do("GET", "/api/internal/community/"+community+"/hooks", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Contains(t, string(r.Body), hookPath)

		// A wrong key is refused by Discourse: 502 with its message, and the
		// plugin is not enabled.
		r = b.gw.Do("PUT", "/api/internal/community/other", map[string]any{"plugins": []map[string]any{
			{"name": "discourse", "config": b.config("wrong-key")},
		}})
		r.RequireError(t, http.StatusBadGateway, "platform_error", "The API username or key is invalid.")
		r = b.gw.Do("GET", "/api/internal/community/other", nil)
		if r.Status == http.StatusOK {
			require.Empty(t, r.JSON(t)["plugins"])
		} else {
			require.Equal(t, http.StatusNotFound, r.Status, string(r.Body))
		}
	})
}

func TestActions(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		topic := b.forum.CreateTopic("alice", "What should we do next?", "Let us decide together what happens next.", nil)

		tests := []struct {
			name     string
			action   string
			params   map[string]any
			method   string
			path     string
			wantBody map[string]any // JSON body Discourse must receive
			check    func(t *testing.T, out map[string]any)
		}{
			{name: "create-topic", action: "create-topic",
				params: map[string]any{"raw": "A long enough first post for the topic.", "title": "A brand new topic here", "category": 5},
				method: "POST", path: "/posts.json",
				wantBody: map[string]any{"raw": "A long enough first post for the topic.", "title": "A brand new topic here", "category": 5.0},
				check: func(t *testing.T, out map[string]any) {
					require.Regexp(t, `/t/a-brand-new-topic-here/\d+/1$`, out["url"])
				}},
			{name: "create-post", action: "create-post",
				params: map[string]any{"raw": "A reply that is long enough to post.", "topic_id": topic.TopicID},
				method: "POST", path: "/posts.json",
				wantBody: map[string]any{"raw": "A reply that is long enough to post.", "topic_id": float64(topic.TopicID)},
				check: func(t *testing.T, out map[string]any) {
					require.Equal(t, b.forum.URL+"/t/what-should-we-do-next/"+strconv.FormatInt(topic.TopicID, 10)+"/2", out["url"])
					require.Equal(t, float64(topic.TopicID), out["topic_id"])
				}},
			{name: "create-message", action: "create-message",
				params: map[string]any{"raw": "A private word.", "title": "Hello you two", "target_usernames": []string{"alice", "bob"}, "is_warning": true},
				method: "POST", path: "/posts.json",
				wantBody: map[string]any{"raw": "A private word.", "title": "Hello you two", "target_recipients": "alice,bob", "archetype": "private_message", "is_warning": true}},
			{name: "create-message in a thread", action: "create-message",
				params: map[string]any{"raw": "More private words for the thread.", "target_usernames": []string{"alice"}, "topic_id": topic.TopicID},
				method: "POST", path: "/posts.json",
				wantBody: map[string]any{"raw": "More private words for the thread.", "target_recipients": "alice", "archetype": "regular", "topic_id": float64(topic.TopicID)}},
			{name: "lock-post", action: "lock-post", params: map[string]any{"id": topic.ID, "locked": true},
				method: "PUT", path: "/posts/" + strconv.FormatInt(topic.ID, 10) + "/locked.json",
				wantBody: map[string]any{"locked": "true"},
				check: func(t *testing.T, out map[string]any) {
					require.Equal(t, map[string]any{"locked": true}, out)
					p, _ := b.forum.Post(topic.ID)
					require.True(t, p.Locked)
				}},
			{name: "delete-post", action: "delete-post", params: map[string]any{"id": topic.ID},
				method: "DELETE", path: "/posts/" + strconv.FormatInt(topic.ID, 10) + ".json",
				check: func(t *testing.T, out map[string]any) {
					p, _ := b.forum.Post(topic.ID)
					require.True(t, p.Deleted)
				}},
			{name: "recover-post", action: "recover-post", params: map[string]any{"id": topic.ID},
				method: "PUT", path: "/posts/" + strconv.FormatInt(topic.ID, 10) + "/recover.json",
				check: func(t *testing.T, out map[string]any) {
					p, _ := b.forum.Post(topic.ID)
					require.False(t, p.Deleted)
				}},
			{name: "delete-topic", action: "delete-topic", params: map[string]any{"id": topic.TopicID},
				method: "DELETE", path: "/t/" + strconv.FormatInt(topic.TopicID, 10) + ".json",
				check: func(t *testing.T, out map[string]any) {
					tp, _ := b.forum.Topic(topic.TopicID)
					require.True(t, tp.Deleted)
				}},
			{name: "recover-topic", action: "recover-topic", params: map[string]any{"id": topic.TopicID},
				method: "PUT", path: "/t/" + strconv.FormatInt(topic.TopicID, 10) + "/recover.json",
				check: func(t *testing.T, out map[string]any) {
					tp, _ := b.forum.Topic(topic.TopicID)
					require.False(t, tp.Deleted)
				}},
		}
		for _, tt := range tests {
			r := b.action(tt.action, tt.params)
			require.Equal(t, http.StatusOK, r.Status, "%s: %s", tt.name, r.Body)
			out := r.JSON(t)
			req, ok := b.forum.LastRequest(tt.method, tt.path)
			require.True(t, ok, tt.name)
			require.Equal(t, "metagov-bot", req.Header.Get("Api-Username"), tt.name)
			require.Equal(t, b.forum.Options().APIKey, req.Header.Get("Api-Key"), tt.name)
			if tt.wantBody != nil {
				require.Equal(t, tt.wantBody, req.JSON(), tt.name)
			}
			if tt.path == "/posts.json" {
				postID := int64(out["post_id"].(float64))
				p, ok := b.forum.Post(postID)
				require.True(t, ok, tt.name)
				require.Equal(t, float64(p.TopicID), out["topic_id"], tt.name)
				require.Contains(t, out["url"], b.forum.URL+"/t/", tt.name)
			} else if tt.action != "lock-post" {
				require.Empty(t, out, tt.name)
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		}
	})
}

func TestActionErrors(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		tests := []struct {
			name    string
			prepare func()
			action  string
			params  map[string]any
			status  int
			code    string
			detail  []string
		}{
			{name: "discourse validation", action: "create-topic",
				params: map[string]any{"raw": "A long enough first post for the topic.", "title": "Too short", "category": 1},
				status: http.StatusUnprocessableEntity, code: "platform_rejected", detail: []string{"Title must be at least 15 characters", "discourse refused the input (422)"}},
			{name: "not found", action: "delete-post", params: map[string]any{"id": 999999},
				status: http.StatusUnprocessableEntity, code: "platform_rejected", detail: []string{"The requested URL or resource could not be found.", "404"}},
			{name: "server error", prepare: func() { b.forum.Fail(http.StatusServiceUnavailable, "Discourse is in maintenance") },
				action: "create-post", params: map[string]any{"raw": "A reply that is long enough to post.", "topic_id": 1},
				status: http.StatusBadGateway, code: "platform_error", detail: []string{"Discourse is in maintenance", "503"}},
			{name: "stall", prepare: func() { b.forum.Stall(true) }, action: "lock-post", params: map[string]any{"id": 1, "locked": false},
				status: http.StatusGatewayTimeout, code: "platform_timeout"},
			{name: "bad input", action: "create-post", params: map[string]any{"raw": "no topic"},
				status: http.StatusBadRequest, code: "invalid_input"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.prepare != nil {
					tt.prepare()
					defer func() { b.forum.Fail(0, ""); b.forum.Stall(false) }()
				}
				b.action(tt.action, tt.params).RequireError(t, tt.status, tt.code, tt.detail...)
			})
		}
	})
}

func TestWebhooks(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		url := b.gw.URL + hookPath
		category := int64(7)
		topic := b.forum.CreateTopic("alice", "Proposal: bigger garden", "We should grow more vegetables.", &category, "garden")
		reply := b.forum.CreatePost("bob", topic.TopicID, "Yes, and more flowers too please.")
		topicURL := b.forum.URL + "/t/proposal-bigger-garden/" + strconv.FormatInt(topic.TopicID, 10)

		send := func(d interface{ Send(string) (int, error) }) int {
			status, err := d.Send(url)
			require.NoError(t, err)
			return status
		}

		// Forged, unsigned, from another forum, at a wrong slug: nothing.
		forged := b.forum.PostCreated(reply.ID)
		forged.Header.Set("X-Discourse-Event-Signature", "sha256=00"+forged.Header.Get("X-Discourse-Event-Signature")[9:])
		unsigned := b.forum.PostCreated(reply.ID)
		unsigned.Header.Del("X-Discourse-Event-Signature")
		tampered := b.forum.PostCreated(reply.ID)
		tampered.Body = append(tampered.Body[:len(tampered.Body)-1], []byte(`,"x":1}`)...)
		otherForum := b.forum.PostCreated(reply.ID)
		otherForum.Header.Set("X-Discourse-Instance", "https://other.example.org")
		for name, d := range map[string]interface{ Send(string) (int, error) }{
			"forged": forged, "unsigned": unsigned, "tampered": tampered, "other forum": otherForum,
		} {
			require.Equal(t, http.StatusUnauthorized, send(d), name)
		}
		status, err := b.forum.PostCreated(reply.ID).Send(b.gw.URL + "/api/hooks/" + community + "/discourse/wrong-slug")
		require.NoError(t, err)
		require.Equal(t, http.StatusNotFound, status)

		// Signed deliveries become events with the original's data shapes.
		require.Equal(t, http.StatusOK, send(b.forum.TopicCreated(topic.TopicID)))
		require.Equal(t, http.StatusOK, send(b.forum.PostCreated(reply.ID)))
		ping := b.forum.Webhook("ping", "ping", map[string]any{"ping": "OK"})
		require.Equal(t, http.StatusOK, send(ping))
		// Bob had user fields at enable time, but admin records carry none,
		// so the first update reports old_user_fields null, as the original did.
		require.Equal(t, http.StatusOK, send(b.forum.UserUpdated(b.bob)))
		require.Equal(t, http.StatusOK, send(b.forum.UserUpdated(b.bob)), "unchanged fields: no event")
		b.forum.SetUserFields(b.bob, map[string]string{"1": "green"})
		require.Equal(t, http.StatusOK, send(b.forum.UserUpdated(b.bob)))

		b.events.WaitFor(t, 4, 10*time.Second)
		time.Sleep(200 * time.Millisecond) // let any wrongly emitted extra event arrive
		all := b.events.All()
		require.Len(t, all, 4)

		topics := eventsOfType(t, b.events, "topic_created")
		require.Len(t, topics, 1)
		require.Equal(t, "discourse", topics[0]["source"])
		require.Equal(t, map[string]any{"title": "Proposal: bigger garden", "id": float64(topic.TopicID),
			"tags": []any{"garden"}, "category": 7.0, "url": topicURL}, topics[0]["data"])
		require.Equal(t, map[string]any{"user_id": "alice", "provider": "discourse"}, topics[0]["initiator"])

		posts := eventsOfType(t, b.events, "post_created")
		require.Len(t, posts, 1)
		require.Equal(t, map[string]any{"raw": "Yes, and more flowers too please.", "topic_id": float64(topic.TopicID),
			"id": float64(reply.ID), "url": topicURL + "/2"}, posts[0]["data"])
		require.Equal(t, map[string]any{"user_id": "bob", "provider": "discourse"}, posts[0]["initiator"])

		users := eventsOfType(t, b.events, "user_fields_changed")
		require.Len(t, users, 2)
		var datas []map[string]any
		for _, u := range users {
			datas = append(datas, u["data"].(map[string]any))
		}
		require.ElementsMatch(t, []map[string]any{
			{"id": float64(b.bob), "username": "bob", "user_fields": map[string]any{"1": "blue"}, "old_user_fields": nil},
			{"id": float64(b.bob), "username": "bob", "user_fields": map[string]any{"1": "green"}, "old_user_fields": map[string]any{"1": "blue"}},
		}, datas)
		var stored map[string]json.RawMessage
		b.state(t, "users", &stored)
		require.Contains(t, string(stored[strconv.FormatInt(b.bob, 10)]), `"green"`)
	})
}
