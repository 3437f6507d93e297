package discoursefake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

// Delivery is a webhook as Discourse sends it (Jobs::EmitWebHookEvent):
// a JSON body {"<type>": {...}} and the X-Discourse-* headers, signed with
// the secret. Tests may change Header or Body before Send to forge one.
type Delivery struct {
	Header http.Header
	Body   []byte
}

// Sign returns Discourse's signature of body: "sha256=" and the hex
// HMAC-SHA256 keyed with the secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Send POSTs the delivery to url and returns the status.
func (d *Delivery) Send(url string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		return 0, err
	}
	req.Header = d.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Webhook builds a signed delivery of event (such as post_created), whose
// payload is {eventType: object}, the way Discourse's webhook job does.
func (s *Server) Webhook(eventType, event string, object map[string]any) *Delivery {
	body, err := json.Marshal(map[string]any{eventType: object})
	if err != nil {
		s.t.Fatalf("discoursefake: encoding webhook: %v", err)
	}
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	s.mu.Unlock()
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "*/*")
	h.Set("User-Agent", "Discourse/3.4.0")
	h.Set("X-Discourse-Instance", s.URL)
	h.Set("X-Discourse-Event-Id", strconv.FormatInt(id, 10))
	h.Set("X-Discourse-Event-Type", eventType)
	h.Set("X-Discourse-Event", event)
	h.Set("X-Discourse-Event-Signature", Sign(s.opts.WebhookSecret, body))
	return &Delivery{Header: h, Body: body}
}

// PostCreated builds the post_created webhook of a post, with the payload
// of Discourse's WebHookPostSerializer.
func (s *Server) PostCreated(postID int64) *Delivery {
	s.mu.Lock()
	p := s.posts[postID]
	t, u := s.topics[p.TopicID], s.users[p.UserID]
	m := postJSON(p, t, u, false)
	for _, k := range []string{"can_edit", "can_delete", "can_recover", "can_see_hidden_post", "can_wiki",
		"actions_summary", "can_view_edit_history", "yours", "flair_url", "flair_bg_color", "flair_color", "mentioned_users", "draft_sequence"} {
		delete(m, k)
	}
	m["topic_title"] = t.Title
	m["category_id"] = t.CategoryID
	m["topic_posts_count"] = t.PostsCount
	m["topic_filtered_posts_count"] = t.PostsCount
	m["topic_archetype"] = t.Archetype
	m["category_slug"] = nil
	s.mu.Unlock()
	return s.Webhook("post", "post_created", m)
}

// TopicCreated builds the topic_created webhook of a topic, with the
// payload of Discourse's WebHookTopicViewSerializer.
func (s *Server) TopicCreated(topicID int64) *Delivery {
	s.mu.Lock()
	t := s.topics[topicID]
	u := s.users[t.UserID]
	author := map[string]any{"id": u.ID, "username": u.Username, "name": u.Name, "avatar_template": avatar(u)}
	m := map[string]any{
		"tags": slices.Clone(t.Tags), "tags_descriptions": map[string]any{}, "id": t.ID, "title": t.Title,
		"fancy_title": t.Title, "posts_count": t.PostsCount, "created_at": created, "views": 0,
		"reply_count": 0, "like_count": 0, "last_posted_at": created, "visible": true, "closed": false,
		"archived": false, "archetype": t.Archetype, "slug": t.Slug, "category_id": t.CategoryID,
		"word_count": 10, "deleted_at": nil, "user_id": u.ID, "featured_link": nil,
		"pinned_globally": false, "pinned_at": nil, "pinned_until": nil, "unpinned": nil, "pinned": false,
		"highest_post_number": t.PostsCount, "deleted_by": nil, "has_deleted": false, "bookmarked": nil,
		"participant_count": 1, "thumbnails": nil, "created_by": author, "last_poster": author,
	}
	s.mu.Unlock()
	return s.Webhook("topic", "topic_created", m)
}

// UserUpdated builds the user_updated webhook of a user, with the payload
// of Discourse's WebHookUserSerializer, which carries user_fields keyed by
// field id.
func (s *Server) UserUpdated(userID int64) *Delivery {
	s.mu.Lock()
	u := s.users[userID]
	fields := map[string]any{}
	for k, v := range u.UserFields {
		fields[k] = v
	}
	m := map[string]any{
		"id": u.ID, "username": u.Username, "name": u.Name, "avatar_template": avatar(u),
		"email": u.Username + "@example.com", "secondary_emails": []any{}, "last_posted_at": nil,
		"last_seen_at": created, "created_at": created, "ignored": false, "muted": false,
		"trust_level": 1, "moderator": false, "admin": u.Admin, "title": nil, "badge_count": 0,
		"time_read": 0, "recent_time_read": 0, "primary_group_id": nil, "primary_group_name": nil,
		"flair_group_id": nil, "flair_name": nil, "featured_topic": nil, "staged": false,
		"pending_count": 0, "profile_view_count": 0, "second_factor_enabled": false,
		"can_upload_profile_header": true, "can_upload_user_card_background": true,
		"post_count": 0, "locale": nil, "muted_category_ids": []any{}, "regular_category_ids": []any{},
		"watched_tags": []any{}, "watching_first_post_tags": []any{}, "tracked_tags": []any{},
		"muted_tags": []any{}, "tracked_category_ids": []any{}, "watched_category_ids": []any{},
		"watched_first_post_category_ids": []any{}, "system_avatar_template": avatar(u),
		"muted_usernames": []any{}, "ignored_usernames": []any{}, "allowed_pm_usernames": []any{},
		"mailing_list_posts_per_day": 0, "user_notification_schedule": map[string]any{},
		"use_logo_small_as_avatar": false, "external_id": nil, "user_fields": fields,
	}
	s.mu.Unlock()
	return s.Webhook("user", "user_updated", m)
}
