package loomiofake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Webhook kinds the fake sends, as Loomio names its events.
const (
	StanceCreated    = "stance_created"
	PollClosedByUser = "poll_closed_by_user"
	PollExpired      = "poll_expired"
)

// SendWebhook POSTs a Loomio webhook of kind about the thing at url (a
// poll's URL from PollURL, or any other) to hookURL, in the JSON shape of
// Loomio's webhook serializer: kind and url beside text for chat apps. Like
// Loomio, it signs nothing. It returns the answer's status.
func (s *Server) SendWebhook(hookURL, kind, url string) (int, error) {
	title, pollType, group := "", "", ""
	s.mu.Lock()
	for key, p := range s.polls {
		if strings.HasPrefix(url, s.PollURL(key)) {
			title, pollType, group = p.params.Get("title"), p.pollType, p.group.Name
		}
	}
	s.mu.Unlock()
	body, err := json.Marshal(map[string]any{
		"text":        fmt.Sprintf("%s: %s %s", kind, title, url),
		"icon_url":    s.URL + "/brand/logo.png",
		"username":    "Loomio",
		"kind":        kind,
		"url":         url,
		"group_name":  group,
		"actor_name":  "Fake Voter",
		"poll_type":   pollType,
		"title":       title,
		"attachments": []any{},
	})
	if err != nil {
		return 0, err
	}
	return Post(hookURL, body)
}

// Post sends a raw body to hookURL as Loomio would, for malformed-body
// tests, and returns the answer's status.
func Post(hookURL string, body []byte) (int, error) {
	resp, err := http.Post(hookURL, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("posting webhook: %w", err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}
