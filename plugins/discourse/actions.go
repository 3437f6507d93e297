package discourse

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// actions are the original's eight actions, with its names, descriptions,
// inputs and outputs, so that a driver written for it works unchanged.
var actions = []plugin.Action{
	{Name: "create-message", Description: "Start a new private message thread",
		Input: createMessageInput, Output: postOutputSchema, Run: plugin.Bind((*Discourse).createMessage)},
	{Name: "create-post", Description: "Create a new post",
		Input: createPostInput, Output: postOutputSchema, Run: plugin.Bind((*Discourse).createPost)},
	{Name: "create-topic", Description: "Create a new topic",
		Input: createTopicInput, Output: postOutputSchema, Run: plugin.Bind((*Discourse).createTopic)},
	{Name: "delete-post", Description: "Delete a post",
		Input: idInput, Output: emptyOutput, Run: plugin.Bind(byID(http.MethodDelete, "/posts/%d.json"))},
	{Name: "delete-topic", Description: "Delete a topic",
		Input: idInput, Output: emptyOutput, Run: plugin.Bind(byID(http.MethodDelete, "/t/%d.json"))},
	{Name: "recover-post", Description: "Recover a deleted post",
		Input: idInput, Output: emptyOutput, Run: plugin.Bind(byID(http.MethodPut, "/posts/%d/recover.json"))},
	{Name: "recover-topic", Description: "Recover a deleted topic",
		Input: idInput, Output: emptyOutput, Run: plugin.Bind(byID(http.MethodPut, "/t/%d/recover.json"))},
	{Name: "lock-post", Description: "Lock or unlock a post on discourse",
		Input: lockPostInput, Output: lockPostOutput, Run: plugin.Bind((*Discourse).lockPost)},
}

var (
	createMessageInput = plugin.Schema(`{
	"type": "object",
	"properties": {
		"raw": {"type": "string", "minLength": 1, "description": "Text of the message (Markdown)."},
		"target_usernames": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "description": "Usernames (or group names) to send it to."},
		"title": {"type": "string", "description": "Title of the new message thread."},
		"is_warning": {"type": "boolean", "description": "Send it as an official warning (staff only)."},
		"topic_id": {"type": "integer", "description": "Reply in this existing message thread instead of starting one."}
	},
	"required": ["raw", "target_usernames"]
}`)
	createPostInput = plugin.Schema(`{
	"type": "object",
	"properties": {
		"raw": {"type": "string", "minLength": 1, "description": "Text of the post (Markdown)."},
		"topic_id": {"type": "integer", "description": "Topic to reply in."}
	},
	"required": ["raw", "topic_id"]
}`)
	createTopicInput = plugin.Schema(`{
	"type": "object",
	"properties": {
		"raw": {"type": "string", "minLength": 1, "description": "Text of the first post (Markdown)."},
		"title": {"type": "string", "minLength": 1, "description": "Title of the topic."},
		"category": {"type": "integer", "description": "Id of the category to create it in."}
	},
	"required": ["raw", "title", "category"]
}`)
	postOutputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"url": {"type": "string", "description": "URL of the new post."},
		"topic_id": {"type": "integer"},
		"post_id": {"type": "integer"}
	},
	"required": ["url", "topic_id", "post_id"]
}`)
	idInput = plugin.Schema(`{
	"type": "object",
	"properties": {"id": {"type": "integer", "description": "Id of the post or topic."}},
	"required": ["id"]
}`)
	emptyOutput   = plugin.Schema(`{"type": "object"}`)
	lockPostInput = plugin.Schema(`{
	"type": "object",
	"properties": {
		"id": {"type": "integer", "description": "Id of the post."},
		"locked": {"type": "boolean", "description": "true locks the post against edits, false unlocks it."}
	},
	"required": ["id", "locked"]
}`)
	lockPostOutput = plugin.Schema(`{
	"type": "object",
	"properties": {"locked": {"type": "boolean"}},
	"required": ["locked"]
}`)
)

// createMessageParams are the parameters of create-message.
type createMessageParams struct {
	Raw             string   `json:"raw"`
	TargetUsernames []string `json:"target_usernames"`
	Title           string   `json:"title"`
	IsWarning       bool     `json:"is_warning"`
	TopicID         *int64   `json:"topic_id"`
}

// createPostParams are the parameters of create-post.
type createPostParams struct {
	Raw     string `json:"raw"`
	TopicID int64  `json:"topic_id"`
}

// createTopicParams are the parameters of create-topic.
type createTopicParams struct {
	Raw      string `json:"raw"`
	Title    string `json:"title"`
	Category int64  `json:"category"`
}

// idParams name one post or topic.
type idParams struct {
	ID int64 `json:"id"`
}

// lockPostParams are the parameters of lock-post.
type lockPostParams struct {
	ID     int64 `json:"id"`
	Locked bool  `json:"locked"`
}

// postOutput is what the create actions return.
type postOutput struct {
	URL     string `json:"url"`
	TopicID int64  `json:"topic_id"`
	PostID  int64  `json:"post_id"`
}

// createMessage starts a private message thread, or replies in one when
// topic_id is given (https://docs.discourse.org/#tag/Private-Messages).
func (d *Discourse) createMessage(ctx context.Context, _ *plugin.Call, in createMessageParams) (postOutput, error) {
	req := createPostRequest{
		Raw: in.Raw, Title: in.Title, TopicID: in.TopicID, IsWarning: in.IsWarning,
		TargetRecipients: strings.Join(in.TargetUsernames, ","),
		Archetype:        "private_message",
	}
	if in.TopicID != nil {
		req.Archetype = "regular"
	}
	return d.post(ctx, req)
}

// createPost replies in a topic (https://docs.discourse.org/#tag/Posts/operation/createTopicPostPM).
func (d *Discourse) createPost(ctx context.Context, _ *plugin.Call, in createPostParams) (postOutput, error) {
	return d.post(ctx, createPostRequest{Raw: in.Raw, TopicID: &in.TopicID})
}

// createTopic starts a topic in a category (https://docs.discourse.org/#tag/Topics).
func (d *Discourse) createTopic(ctx context.Context, _ *plugin.Call, in createTopicParams) (postOutput, error) {
	return d.post(ctx, createPostRequest{Raw: in.Raw, Title: in.Title, Category: &in.Category})
}

// post creates a post and describes it as the original did.
func (d *Discourse) post(ctx context.Context, req createPostRequest) (postOutput, error) {
	p, err := d.client.createPost(ctx, req)
	if err != nil {
		return postOutput{}, err
	}
	return postOutput{URL: d.postURL(p.TopicSlug, p.TopicID, p.PostNumber), TopicID: p.TopicID, PostID: p.ID}, nil
}

// byID builds an action that sends method to a path naming one post or
// topic and returns {}: deleting and recovering posts and topics. The paths
// carry the .json suffix Discourse's routes accept, as its API docs write
// them.
func byID(method, pathFormat string) func(*Discourse, context.Context, *plugin.Call, idParams) (struct{}, error) {
	return func(d *Discourse, ctx context.Context, _ *plugin.Call, in idParams) (struct{}, error) {
		path := strings.Replace(pathFormat, "%d", strconv.FormatInt(in.ID, 10), 1)
		return struct{}{}, d.client.send(ctx, method, path)
	}
}

// lockPost locks or unlocks a post and returns Discourse's answer
// (https://docs.discourse.org/#tag/Posts/operation/lockPost).
func (d *Discourse) lockPost(ctx context.Context, _ *plugin.Call, in lockPostParams) (lockResult, error) {
	return d.client.lockPost(ctx, in.ID, in.Locked)
}
