package discourse

import (
	"context"
	"encoding/json"

	"github.com/metagov/metagov-go/plugin"
)

// Event types, as the original named them.
const (
	eventPostCreated       = "post_created"
	eventTopicCreated      = "topic_created"
	eventUserFieldsChanged = "user_fields_changed"
)

// eventTypes documents the events with the original's data shapes; the
// original declared {id, url} for post and topic events, extended here with
// the other fields it always sent.
var eventTypes = []plugin.EventType{
	{Type: eventPostCreated, Description: "A post was created (Discourse webhook post_created).", Schema: plugin.Schema(`{
	"type": "object",
	"properties": {
		"id": {"type": "integer"},
		"url": {"type": "string"},
		"raw": {"type": "string"},
		"topic_id": {"type": "integer"}
	},
	"required": ["id", "url"]
}`)},
	{Type: eventTopicCreated, Description: "A topic was created (Discourse webhook topic_created).", Schema: plugin.Schema(`{
	"type": "object",
	"properties": {
		"id": {"type": "integer"},
		"url": {"type": "string"},
		"title": {"type": "string"},
		"tags": {"type": ["array", "null"]},
		"category": {"type": ["integer", "null"]}
	},
	"required": ["id", "url"]
}`)},
	{Type: eventUserFieldsChanged, Description: "A user's custom user fields changed (Discourse webhook user_updated).", Schema: plugin.Schema(`{
	"type": "object",
	"properties": {
		"id": {"type": "integer"},
		"username": {"type": "string"},
		"user_fields": {"type": ["object", "null"]},
		"old_user_fields": {"type": ["object", "null"], "description": "null when the user was not known before."}
	},
	"required": ["id", "username", "user_fields", "old_user_fields"]
}`)},
}

// postCreatedData is the data of a post_created event.
type postCreatedData struct {
	Raw     string `json:"raw"`
	TopicID int64  `json:"topic_id"`
	ID      int64  `json:"id"`
	URL     string `json:"url"`
}

// topicCreatedData is the data of a topic_created event.
type topicCreatedData struct {
	Title    string          `json:"title"`
	ID       int64           `json:"id"`
	Tags     json.RawMessage `json:"tags"`
	Category *int64          `json:"category"`
	URL      string          `json:"url"`
}

// postCreated reads a {"post": {...}} delivery.
func (d *Discourse) postCreated(body []byte) (*plugin.Event, error) {
	var in struct {
		Post *struct {
			ID         int64  `json:"id"`
			Raw        string `json:"raw"`
			TopicID    int64  `json:"topic_id"`
			TopicSlug  string `json:"topic_slug"`
			PostNumber int64  `json:"post_number"`
			Username   string `json:"username"`
		} `json:"post"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Post == nil {
		return nil, badPayload("post", err)
	}
	p := in.Post
	data := postCreatedData{Raw: p.Raw, TopicID: p.TopicID, ID: p.ID, URL: d.postURL(p.TopicSlug, p.TopicID, p.PostNumber)}
	return &plugin.Event{Type: eventPostCreated, Data: data, Initiator: d.initiator(p.Username)}, nil
}

// topicCreated reads a {"topic": {...}} delivery.
func (d *Discourse) topicCreated(body []byte) (*plugin.Event, error) {
	var in struct {
		Topic *struct {
			ID         int64           `json:"id"`
			Title      string          `json:"title"`
			Slug       string          `json:"slug"`
			Tags       json.RawMessage `json:"tags"`
			CategoryID *int64          `json:"category_id"`
			CreatedBy  struct {
				Username string `json:"username"`
			} `json:"created_by"`
		} `json:"topic"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Topic == nil {
		return nil, badPayload("topic", err)
	}
	t := in.Topic
	data := topicCreatedData{Title: t.Title, ID: t.ID, Tags: nullIfEmpty(t.Tags), Category: t.CategoryID, URL: d.topicURL(t.Slug, t.ID)}
	return &plugin.Event{Type: eventTopicCreated, Data: data, Initiator: d.initiator(t.CreatedBy.Username)}, nil
}

// userFieldsEvent reads a {"user": {...}} delivery, updates the stored
// users and returns a user_fields_changed event if the fields changed.
func (d *Discourse) userFieldsEvent(ctx context.Context, c *plugin.Call, body []byte) (*plugin.Event, error) {
	var in struct {
		User json.RawMessage `json:"user"`
	}
	if err := json.Unmarshal(body, &in); err != nil || len(in.User) == 0 || string(in.User) == "null" {
		return nil, badPayload("user", err)
	}
	changed, err := d.userUpdated(ctx, c, in.User)
	if err != nil || changed == nil {
		return nil, err
	}
	return &plugin.Event{Type: eventUserFieldsChanged, Data: changed, Initiator: d.initiator(changed.Username)}, nil
}

// badPayload reports a delivery whose body is not what its event promises.
func badPayload(key string, err error) error {
	msg := "body has no " + key + " object"
	if err != nil {
		msg = "body is not a Discourse " + key + " payload: " + err.Error()
	}
	return &plugin.InputError{Field: "/" + key, Message: msg}
}
