package slackfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sign returns Slack's v0 signature of body at timestamp ts: "v0=" and the
// hex HMAC-SHA256, keyed with the signing secret, of "v0:<ts>:<body>".
func Sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// Request is a request as Slack sends it to the app's Request URL, signed
// with SigningSecret at the fake's clock. Tests may change it before Send
// to forge, age or retry it.
type Request struct {
	Header http.Header
	Body   []byte
}

// Reply is the gateway's answer.
type Reply struct {
	Status int
	Header http.Header
	Body   string
}

// Send POSTs the request to target.
func (r *Request) Send(target string) (Reply, error) {
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(r.Body))
	if err != nil {
		return Reply{}, err
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}, err
}

// Resign signs the request again with secret at time at, after a test
// changed it.
func (r *Request) Resign(secret string, at time.Time) {
	ts := strconv.FormatInt(at.Unix(), 10)
	r.Header.Set("X-Slack-Request-Timestamp", ts)
	r.Header.Set("X-Slack-Signature", Sign(secret, ts, r.Body))
}

// signed builds a request with Slack's headers.
func (f *Fake) signed(contentType string, body []byte) *Request {
	f.mu.Lock()
	now := f.now()
	f.mu.Unlock()
	r := &Request{Header: http.Header{}, Body: body}
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	r.Resign(SigningSecret, now)
	return r
}

// URLVerification is the challenge Slack sends when the Request URL is set.
func (f *Fake) URLVerification(challenge string) *Request {
	body, _ := json.Marshal(map[string]string{"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": challenge, "type": "url_verification"})
	return f.signed("application/json", body)
}

// AppRateLimited is the notice Slack sends when it drops the app's events.
func (f *Fake) AppRateLimited() *Request {
	body, _ := json.Marshal(map[string]any{"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "type": "app_rate_limited",
		"team_id": TeamID, "minute_rate_limited": 1518467820, "api_app_id": AppID})
	return f.signed("application/json", body)
}

// Event builds an Events API event_callback of team carrying event (which
// must have a type), checked against Slack's envelope schema and the event
// type's payload schema. It returns the request and the event_id.
func (f *Fake) Event(team string, event map[string]any) (*Request, string) {
	f.mu.Lock()
	eventID := f.id("Ev")
	now := f.now()
	f.mu.Unlock()
	ev := map[string]any{"event_ts": fmt.Sprintf("%d.000200", now.Unix())}
	for k, v := range event {
		ev[k] = v
	}
	envelope := map[string]any{
		"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "team_id": team, "api_app_id": AppID, "event": ev,
		"type": "event_callback", "event_id": eventID, "event_time": now.Unix(), "authed_users": []string{BotUserID},
	}
	body, err := json.Marshal(envelope)
	if err != nil {
		f.t.Fatalf("slackfake: encoding event: %v", err)
	}
	f.validateEvent(body, ev["type"])
	return f.signed("application/json", body), eventID
}

// validateEvent checks an event_callback against Slack's schemas.
func (f *Fake) validateEvent(body []byte, typ any) {
	spec, _, _ := loadSpec()
	if spec == nil || spec.Wrapper == nil {
		return
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		f.t.Fatalf("slackfake: %v", err)
	}
	if err := spec.Wrapper.Validate(doc); err != nil {
		f.t.Fatalf("slackfake: the event envelope does not match Slack's schema: %v", err)
	}
	name, _ := typ.(string)
	if s := spec.Events[topic(name, doc)]; s != nil {
		if err := s.Validate(doc); err != nil {
			f.t.Fatalf("slackfake: the %s event does not match Slack's schema: %v", name, err)
		}
	}
}

// Action is what a user does to one element of a message.
type Action struct {
	// ActionID names the element.
	ActionID string
	// Value is a button's value, or the value of the option selected in a
	// static_select.
	Value string
}

// Interact builds the block_actions request Slack sends when user uses an
// element of the message at channel and ts: the element must be in the
// message (a button with that value, or a select offering it), as in
// Slack. The response_url replaces that message.
func (f *Fake) Interact(user, channel, ts string, a Action) *Request {
	f.mu.Lock()
	m, found := f.messages[channel+"/"+ts]
	var blocks []map[string]any
	if found {
		_ = json.Unmarshal(m.Blocks, &blocks)
	}
	ch := f.channels[channel]
	member := ch != nil && ch.Members[user]
	f.mu.Unlock()
	if !found {
		f.t.Fatalf("slackfake: no message %s in %s", ts, channel)
	}
	if !member {
		f.t.Fatalf("slackfake: %s is not in %s, so cannot see the message", user, channel)
	}
	var action map[string]any
	for _, b := range blocks {
		acc, _ := b["accessory"].(map[string]any)
		if acc == nil || acc["action_id"] != a.ActionID {
			continue
		}
		switch acc["type"] {
		case "button":
			if acc["value"] == a.Value {
				action = map[string]any{"type": "button", "action_id": a.ActionID, "block_id": b["block_id"],
					"text": acc["text"], "value": a.Value, "action_ts": "1700000000.000300"}
			}
		case "static_select":
			opts, _ := acc["options"].([]any)
			for _, o := range opts {
				if om, _ := o.(map[string]any); om["value"] == a.Value {
					action = map[string]any{"type": "static_select", "action_id": a.ActionID, "block_id": b["block_id"],
						"selected_option": om, "placeholder": acc["placeholder"], "action_ts": "1700000000.000300"}
				}
			}
		}
	}
	if action == nil {
		f.t.Fatalf("slackfake: the message %s has no element %s offering %q", ts, a.ActionID, a.Value)
	}
	payload := map[string]any{
		"type":       "block_actions",
		"user":       map[string]any{"id": user, "username": user, "name": user, "team_id": TeamID},
		"api_app_id": AppID, "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
		"container":    map[string]any{"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
		"trigger_id":   "1700000000.1.abc",
		"team":         map[string]any{"id": TeamID, "domain": "fake"},
		"channel":      map[string]any{"id": channel, "name": channel},
		"message":      map[string]any{"type": "message", "ts": ts, "user": m.User, "blocks": blocks},
		"response_url": f.URL + "/response/" + ts,
		"actions":      []any{action},
	}
	raw, _ := json.Marshal(payload)
	body := url.Values{"payload": {string(raw)}}.Encode()
	return f.signed("application/x-www-form-urlencoded", []byte(body))
}

// topic is the description's topic of an event: its type with dots for
// underscores, and for messages the kind of conversation (the "message"
// topic itself describes only deleted messages).
func topic(typ string, doc any) string {
	if typ == "message" {
		ev, _ := doc.(map[string]any)["event"].(map[string]any)
		kind, _ := ev["channel_type"].(string)
		return "message." + map[string]string{"channel": "channels", "group": "groups", "im": "im", "mpim": "mpim", "app_home": "app.home"}[kind]
	}
	return strings.ReplaceAll(typ, "_", ".")
}
