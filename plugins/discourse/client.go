package discourse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// client calls one forum's REST API (https://docs.discourse.org) as one
// user. Every method sends Api-Key and Api-Username and turns a failure into
// a *plugin.PlatformError carrying Discourse's own message.
type client struct {
	base        string // server URL without a trailing slash
	apiKey      string
	apiUsername string
	hc          *http.Client
}

// do sends one request. body is sent as is with contentType; out, if not
// nil, receives the decoded JSON answer.
func (c *client) do(ctx context.Context, method, path string, body []byte, contentType string, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("building request %s %s: %w", method, path, err)
	}
	req.Header.Set("Api-Key", c.apiKey)
	req.Header.Set("Api-Username", c.apiUsername)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err := plugin.CheckResponse(platform, resp, err); err != nil {
		return withDiscourseMessage(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return &plugin.PlatformError{Platform: platform, Status: resp.StatusCode, Message: "reading answer: " + err.Error(), Err: err}
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &plugin.PlatformError{Platform: platform, Status: resp.StatusCode, Message: "answer is not the expected JSON: " + err.Error(), Err: err}
	}
	return nil
}

// errorBody is Discourse's error answer, such as
// {"errors": ["The API username or key is invalid."], "error_type": "invalid_access"}.
type errorBody struct {
	Errors    []string `json:"errors"`
	ErrorType string   `json:"error_type"`
}

// withDiscourseMessage replaces the raw JSON body in a platform error with
// the text of its errors, which is what a person needs to read.
func withDiscourseMessage(err error) error {
	var pe *plugin.PlatformError
	if !errors.As(err, &pe) || pe.Status == 0 {
		return err
	}
	var body errorBody
	if json.Unmarshal([]byte(pe.Message), &body) == nil && len(body.Errors) > 0 {
		pe.Message = strings.Join(body.Errors, "; ")
		// Discourse's own "not_found" answer names a post, topic or user
		// the driver gave (the forum itself was reached when the plugin was
		// enabled): the input is wrong, the forum is fine. A 404 without it
		// (a proxy's page, a wrong server_url) stays a platform failure.
		if pe.Status == http.StatusNotFound && body.ErrorType == "not_found" {
			pe.Rejected = true
		}
	}
	return pe
}

// doJSON sends v as a JSON body.
func (c *client) doJSON(ctx context.Context, method, path string, v, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding request %s %s: %w", method, path, err)
	}
	return c.do(ctx, method, path, body, "application/json", out)
}

// about fetches the forum's public description (GET /about.json).
func (c *client) about(ctx context.Context) (aboutInfo, error) {
	var out struct {
		About aboutInfo `json:"about"`
	}
	err := c.do(ctx, http.MethodGet, "/about.json", nil, "", &out)
	return out.About, err
}

// activeUsers lists the first page of active users
// (GET /admin/users/list/active.json).
func (c *client) activeUsers(ctx context.Context) ([]userRef, error) {
	var out []userRef
	err := c.do(ctx, http.MethodGet, "/admin/users/list/active.json", nil, "", &out)
	return out, err
}

// adminUser fetches one user's full admin record (GET /admin/users/{id}.json).
func (c *client) adminUser(ctx context.Context, id int64) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.do(ctx, http.MethodGet, "/admin/users/"+strconv.FormatInt(id, 10)+".json", nil, "", &out)
	return out, err
}

// createPost creates a topic, a reply or a private message (POST /posts.json).
func (c *client) createPost(ctx context.Context, in createPostRequest) (post, error) {
	var out post
	if err := c.doJSON(ctx, http.MethodPost, "/posts.json", in, &out); err != nil {
		return post{}, err
	}
	if len(out.Errors) > 0 {
		// Discourse refused the post (too short, a duplicate, ...): the
		// caller must change it.
		return post{}, &plugin.PlatformError{Platform: platform, Status: http.StatusOK, Message: strings.Join(out.Errors, "; "), Rejected: true}
	}
	return out, nil
}

// getPost fetches one post with its polls (GET /posts/{id}.json).
func (c *client) getPost(ctx context.Context, id int64) (post, error) {
	var out post
	err := c.do(ctx, http.MethodGet, "/posts/"+strconv.FormatInt(id, 10)+".json", nil, "", &out)
	return out, err
}

// send runs a request whose answer is not needed, such as DELETE /t/{id}.json.
func (c *client) send(ctx context.Context, method, path string) error {
	return c.do(ctx, method, path, nil, "", nil)
}

// lockPost locks or unlocks a post against edits (PUT /posts/{id}/locked.json).
// Discourse documents locked as the string "true" or "false".
func (c *client) lockPost(ctx context.Context, id int64, locked bool) (lockResult, error) {
	var out lockResult
	err := c.doJSON(ctx, http.MethodPut, "/posts/"+strconv.FormatInt(id, 10)+"/locked.json",
		map[string]string{"locked": strconv.FormatBool(locked)}, &out)
	return out, err
}

// togglePollStatus opens or closes a poll (the poll plugin's
// PUT /polls/toggle_status, form encoded) and returns the poll.
func (c *client) togglePollStatus(ctx context.Context, postID int64, pollName, status string) (discoursePoll, error) {
	form := url.Values{"post_id": {strconv.FormatInt(postID, 10)}, "poll_name": {pollName}, "status": {status}}
	var out struct {
		Poll discoursePoll `json:"poll"`
	}
	err := c.do(ctx, http.MethodPut, "/polls/toggle_status", []byte(form.Encode()), "application/x-www-form-urlencoded", &out)
	return out.Poll, err
}

// aboutInfo is the part of /about.json the plugin keeps.
type aboutInfo struct {
	Title string `json:"title"`
}

// userRef is an entry of the admin user list.
type userRef struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

// createPostRequest is the body of POST /posts.json. IsWarning is not in
// Discourse's OpenAPI description, but PostsController accepts it from staff.
type createPostRequest struct {
	Raw              string `json:"raw"`
	Title            string `json:"title,omitempty"`
	TopicID          *int64 `json:"topic_id,omitempty"`
	Category         *int64 `json:"category,omitempty"`
	TargetRecipients string `json:"target_recipients,omitempty"`
	Archetype        string `json:"archetype,omitempty"`
	IsWarning        bool   `json:"is_warning,omitempty"`
}

// post is the part of a Discourse post the plugin reads.
type post struct {
	ID         int64           `json:"id"`
	TopicID    int64           `json:"topic_id"`
	TopicSlug  string          `json:"topic_slug"`
	PostNumber int64           `json:"post_number"`
	Polls      []discoursePoll `json:"polls"`
	Errors     []string        `json:"errors"`
}

// discoursePoll is the poll plugin's PollSerializer, as far as it is read.
type discoursePoll struct {
	Name    string       `json:"name"`
	Status  string       `json:"status"`
	Options []pollOption `json:"options"`
}

// pollOption is one option; Votes is absent when the results are hidden
// from the API user (results=on_vote or on_close).
type pollOption struct {
	ID    string `json:"id"`
	HTML  string `json:"html"`
	Votes *int64 `json:"votes"`
}

// lockResult is the answer of PUT /posts/{id}/locked.json.
type lockResult struct {
	Locked bool `json:"locked"`
}
