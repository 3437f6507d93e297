package discourse_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/metagov/metagov-go/plugin/plugintest"
	"github.com/metagov/metagov-go/plugins/discourse/discoursefake"
)

// TestConformance runs the SDK's conformance kit against a fake forum:
// schemas agree with the Go types, results and poll outcomes match their
// schemas, a poll closes on DELETE, and webhooks that are unsigned, forged
// or redelivered (same X-Discourse-Event-Id) make no event.
func TestConformance(t *testing.T) {
	t.Parallel()
	forum := discoursefake.New(t, discoursefake.Options{APIUsername: "metagov-bot"})
	forum.AddUser(discoursefake.User{Username: "alice", Name: "Alice"})
	topic := forum.CreateTopic("alice", "Proposal: bigger garden", "We should grow more vegetables.", nil)
	o := forum.Options()

	delivery := forum.PostCreated(topic.ID)
	unsigned := delivery.Header.Clone()
	unsigned.Del("X-Discourse-Event-Signature")
	var ids atomic.Int64
	plugintest.Exercise(t, plugintest.Suite{
		Plugin: "discourse",
		Config: map[string]any{"server_url": forum.URL, "api_key": o.APIKey, "api_username": o.APIUsername,
			"webhook_secret": o.WebhookSecret, "webhook_slug": "conformance-slug"},
		Actions: []plugintest.Call{
			{Action: "create-post", Params: map[string]any{"raw": "Agreed, and more flowers.", "topic_id": topic.TopicID}},
			{Action: "lock-post", Params: map[string]any{"id": topic.ID, "locked": true}},
		},
		Processes: []plugintest.Start{
			{Process: "poll", Input: map[string]any{"title": "Where?", "options": []string{"park", "cafe"}, "topic_id": topic.TopicID}},
		},
		Webhook: &plugintest.Webhook{
			Body:   delivery.Body,
			Header: unsigned,
			Sign: func(body []byte) http.Header {
				return http.Header{
					"X-Discourse-Event-Signature": {discoursefake.Sign(o.WebhookSecret, body)},
					"X-Discourse-Event-Id":        {fmt.Sprint(1000 + ids.Add(1))},
				}
			},
			Replay: plugintest.ReplayDropped,
		},
	})
}
