package twitter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// State keys.
const (
	keyMe          = "me"                 // the account's user id
	keySinceID     = "since_id"           // the newest post seen
	keyInitialized = "timeline_read"      // the first read is done
	keyWaitUntil   = "rate_limited_until" // Unix seconds before which no poll calls X
)

// maxPages bounds one poll's reading: 5 pages of 100 posts.
const maxPages = 5

// tweetFields asks X for the post fields a driver can use.
const tweetFields = "author_id,created_at,conversation_id,in_reply_to_user_id,referenced_tweets,lang,entities"

var timelineTweetSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"id": {"type": "string"},
		"text": {"type": "string"},
		"author_id": {"type": "string"},
		"created_at": {"type": "string"}
	},
	"required": ["id", "text"]
}`)

// tweet is the part of a post the poller reads; the event carries it all.
type tweet struct {
	ID       string `json:"id"`
	AuthorID string `json:"author_id"`
}

type timelinePage struct {
	Data []json.RawMessage `json:"data"`
	Meta struct {
		NewestID  string `json:"newest_id"`
		NextToken string `json:"next_token"`
	} `json:"meta"`
}

// Poll reads the account's new posts and emits one timeline_tweet each,
// oldest first. The first poll only notes where the timeline stands, so
// that enabling the plugin does not replay old posts. While X's rate limit
// is exhausted it calls nothing.
func (tw *Twitter) Poll(ctx context.Context, c *plugin.Call) error {
	var waitUntil int64
	if _, err := c.State().Get(ctx, keyWaitUntil, &waitUntil); err != nil {
		return err
	}
	if c.Now().Unix() < waitUntil {
		return nil
	}
	err := tw.poll(ctx, c)
	var rl *rateLimited
	if errors.As(err, &rl) {
		// Remember the wait (committed, as this returns nil) and emit
		// nothing from a read cut short.
		c.Warn("X's rate limit is exhausted; the timeline is read again after %s", rl.until.UTC().Format(time.RFC3339))
		return c.State().Set(keyWaitUntil, rl.until.Unix())
	}
	return err
}

func (tw *Twitter) poll(ctx context.Context, c *plugin.Call) error {
	var me string
	if _, err := c.State().Get(ctx, keyMe, &me); err != nil {
		return err
	}
	if me == "" {
		a, err := tw.client.do(ctx, http.MethodGet, "/2/users/me", nil, nil)
		if err != nil {
			return fmt.Errorf("reading the account: %w", err)
		}
		if err := tw.noteLimit(c, a.header); err != nil {
			return err
		}
		var body struct {
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if json.Unmarshal(a.body, &body) != nil || !isDigits(body.Data.ID) {
			return &plugin.PlatformError{Platform: platform, Status: http.StatusOK, Message: "/2/users/me answered no user id"}
		}
		me = body.Data.ID
		if err := c.State().Set(keyMe, me); err != nil {
			return err
		}
	}
	var sinceID string
	var initialized bool
	if _, err := c.State().Get(ctx, keySinceID, &sinceID); err != nil {
		return err
	}
	if _, err := c.State().Get(ctx, keyInitialized, &initialized); err != nil {
		return err
	}

	q := url.Values{"tweet.fields": {tweetFields}}
	if !initialized {
		q.Set("max_results", "5") // X's smallest page; only newest_id is used
	} else {
		q.Set("max_results", "100")
		if sinceID != "" {
			q.Set("since_id", sinceID)
		}
	}
	var posts []json.RawMessage
	newest := ""
	for page := 0; page < maxPages; page++ {
		a, err := tw.client.do(ctx, http.MethodGet, "/2/users/"+me+"/tweets", q, nil)
		if err != nil {
			return fmt.Errorf("reading the timeline: %w", err)
		}
		if err := tw.noteLimit(c, a.header); err != nil {
			return err
		}
		var p timelinePage
		if err := json.Unmarshal(a.body, &p); err != nil {
			return &plugin.PlatformError{Platform: platform, Status: http.StatusOK, Message: "the timeline is not X's JSON"}
		}
		if page == 0 {
			newest = p.Meta.NewestID
		}
		posts = append(posts, p.Data...)
		if !initialized || p.Meta.NextToken == "" {
			break
		}
		q.Set("pagination_token", p.Meta.NextToken)
	}
	if !initialized {
		if err := c.State().Set(keyInitialized, true); err != nil {
			return err
		}
		posts = nil
	}
	// X lists newest first; the driver hears them in order.
	for i := len(posts) - 1; i >= 0; i-- {
		var t tweet
		if err := json.Unmarshal(posts[i], &t); err != nil || t.ID == "" {
			continue
		}
		if err := c.Emit(plugin.Event{Type: "timeline_tweet", Data: posts[i],
			Initiator: &plugin.Initiator{UserID: t.AuthorID, Provider: "twitter"}}); err != nil {
			return err
		}
	}
	if newest != "" && (sinceID == "" || newerID(newest, sinceID)) {
		return c.State().Set(keySinceID, newest)
	}
	return nil
}

// noteLimit records x-rate-limit-reset when the answer used the window's
// last request.
func (tw *Twitter) noteLimit(c *plugin.Call, h http.Header) error {
	if h.Get("x-rate-limit-remaining") == "0" {
		return c.State().Set(keyWaitUntil, resetTime(h, c.Now()).Unix())
	}
	return nil
}

// newerID compares post ids, which grow with time.
func newerID(a, b string) bool {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	return errA == nil && errB == nil && x > y
}
