package discordfake

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Interaction is a signed interaction ready to send to an interactions
// endpoint.
type Interaction struct {
	f         *Fake
	Body      []byte
	Timestamp string
	Signature string // hex; empty sends no signature headers
}

// Reply is the endpoint's answer.
type Reply struct {
	Status int
	Body   []byte
}

// JSON decodes the reply.
func (r Reply) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Sign is Discord's signature of body at ts by key: hex Ed25519 of ts+body.
func Sign(key ed25519.PrivateKey, ts string, body []byte) string {
	return hex.EncodeToString(ed25519.Sign(key, append([]byte(ts), body...)))
}

// Headers are the signature headers of a body signed now.
func Headers(body []byte) http.Header {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	return http.Header{"X-Signature-Ed25519": {Sign(PrivateKey, ts, body)}, "X-Signature-Timestamp": {ts}}
}

// interaction builds an interaction of type typ in the fake guild.
func (f *Fake) interaction(typ int, user string, extra map[string]any) *Interaction {
	in := map[string]any{"id": f.id(), "application_id": ClientID, "type": typ, "token": "itoken-" + f.id(),
		"version": 1, "guild_id": GuildID, "channel_id": General, "locale": "en-US", "guild_locale": "en-US",
		"app_permissions": "0", "entitlements": []any{}, "authorizing_integration_owners": map[string]any{"0": GuildID},
		"context": 0}
	if user != "" {
		in["member"] = map[string]any{"user": map[string]any{"id": user, "username": "user" + user[len(user)-3:],
			"discriminator": "0", "global_name": nil, "avatar": nil, "public_flags": 0},
			"roles": []any{}, "joined_at": "2026-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false,
			"flags": 0, "pending": false, "permissions": "0", "nick": nil, "avatar": nil}
	}
	for k, v := range extra {
		in[k] = v
	}
	body, _ := json.Marshal(in)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	return &Interaction{f: f, Body: body, Timestamp: ts, Signature: Sign(PrivateKey, ts, body)}
}

// Ping is Discord's endpoint check.
func (f *Fake) Ping() *Interaction {
	in := f.interaction(1, "", nil)
	var m map[string]any
	_ = json.Unmarshal(in.Body, &m)
	delete(m, "guild_id")
	delete(m, "channel_id")
	in.Body, _ = json.Marshal(m)
	in.Signature = Sign(PrivateKey, in.Timestamp, in.Body)
	return in
}

// SlashCommand is user using the chat-input command name in General.
func (f *Fake) SlashCommand(user, name string) *Interaction {
	return f.interaction(2, user, map[string]any{"data": map[string]any{"id": f.id(), "name": name, "type": 1,
		"guild_id": GuildID, "options": []any{map[string]any{"name": "text", "type": 3, "value": "hello"}}}})
}

// Click is user pressing the button custom_id on message messageID.
func (f *Fake) Click(user, messageID, customID string) *Interaction {
	m, ok := f.Message(messageID)
	if !ok {
		m = Message{ID: messageID, ChannelID: General}
	}
	msg := f.messageJSON(&m)
	msg["id"] = messageID
	return f.interaction(3, user, map[string]any{"message": msg,
		"data": map[string]any{"custom_id": customID, "component_type": 2}})
}

// Resign signs the body again (after a test changed it) with key at ts.
func (in *Interaction) Resign(key ed25519.PrivateKey, ts string) *Interaction {
	in.Timestamp = ts
	in.Signature = Sign(key, ts, in.Body)
	return in
}

// Send posts the interaction to url as Discord does and, for a 200 with a
// body, checks the answer against Discord's description of an interaction
// response (that of POST /interactions/{id}/{token}/callback) and, for an
// UPDATE_MESSAGE, applies it to the message.
func (in *Interaction) Send(url string) (Reply, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(in.Body))
	if err != nil {
		return Reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Discord-Interactions/1.0 (+https://discord.com)")
	if in.Signature != "" {
		req.Header.Set("X-Signature-Ed25519", in.Signature)
		req.Header.Set("X-Signature-Timestamp", in.Timestamp)
	}
	client := &http.Client{Timeout: 3 * time.Second} // Discord waits 3 s
	resp, err := client.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	r := Reply{Status: resp.StatusCode, Body: body}
	if resp.StatusCode != http.StatusOK || len(body) == 0 {
		return r, nil
	}
	if doc, _ := loadSpec(); doc != nil {
		if err := validate(doc, http.MethodPost, "/interactions/{interaction_id}/{interaction_token}/callback",
			map[string]string{"interaction_id": "1", "interaction_token": "t"}, http.Header{"Content-Type": {"application/json"}}, body); err != nil {
			in.f.problem("interaction response does not fit Discord's description: %v", err)
		}
	}
	var cb struct {
		Type int `json:"type"`
		Data struct {
			Content    *string `json:"content"`
			Components []any   `json:"components"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &cb); err != nil {
		in.f.problem("interaction response is not JSON: %v", err)
		return r, nil
	}
	if cb.Type == 7 {
		var src struct {
			Message struct {
				ID string `json:"id"`
			} `json:"message"`
		}
		_ = json.Unmarshal(in.Body, &src)
		in.f.mu.Lock()
		if m, ok := in.f.messages[src.Message.ID]; ok {
			if cb.Data.Content != nil {
				m.Content = *cb.Data.Content
			}
			if cb.Data.Components != nil {
				m.Components = cb.Data.Components
			}
		} else {
			in.f.problems = append(in.f.problems, fmt.Sprintf("UPDATE_MESSAGE for unknown message %s", src.Message.ID))
		}
		in.f.mu.Unlock()
	}
	return r, nil
}
