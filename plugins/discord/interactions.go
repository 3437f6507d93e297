package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// signatureTolerance is how far an interaction's timestamp may be from the
// gateway's clock: a signed request replayed later is refused.
const signatureTolerance = 5 * time.Minute

// Interaction types and interaction response (callback) types used here.
const (
	interactionPing             = 1
	interactionApplicationCmd   = 2
	interactionMessageComponent = 3

	callbackPong                  = 1
	callbackChannelMessage        = 4
	callbackDeferredUpdateMessage = 6
	callbackUpdateMessage         = 7

	commandChatInput = 1  // a slash command
	flagEphemeral    = 64 // message flag: only the user who acted sees it
)

// slashAck is the original's answer to a slash command.
const slashAck = "Message received!"

// verifySignature checks Discord's request signature: X-Signature-Ed25519
// is the hex Ed25519 signature, by the application's key, of
// X-Signature-Timestamp followed by the raw body; and the timestamp lies
// within five minutes of the gateway's clock.
func verifySignature(req *plugin.WebhookRequest, publicKey string, now time.Time) error {
	key, err := hex.DecodeString(publicKey)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: %s is not set to a hex Ed25519 public key, so no interaction can be verified", plugin.ErrUnauthorized, SettingPublicKey)
	}
	sigHex := req.Header.Get("X-Signature-Ed25519")
	ts := req.Header.Get("X-Signature-Timestamp")
	if sigHex == "" || ts == "" {
		return fmt.Errorf("%w: X-Signature-Ed25519 and X-Signature-Timestamp are required", plugin.ErrUnauthorized)
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: X-Signature-Ed25519 is not a hex Ed25519 signature", plugin.ErrUnauthorized)
	}
	msg := make([]byte, 0, len(ts)+len(req.Body))
	msg = append(append(msg, ts...), req.Body...)
	if !ed25519.Verify(ed25519.PublicKey(key), msg, sig) {
		return fmt.Errorf("%w: X-Signature-Ed25519 does not match", plugin.ErrUnauthorized)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: X-Signature-Timestamp is not a Unix time", plugin.ErrUnauthorized)
	}
	if now.IsZero() {
		now = time.Now()
	}
	if d := now.Sub(time.Unix(secs, 0)); d > signatureTolerance || d < -signatureTolerance {
		return fmt.Errorf("%w: X-Signature-Timestamp is more than 5 minutes from now", plugin.ErrUnauthorized)
	}
	return nil
}

// interaction is the part of an interaction the gateway reads.
type interaction struct {
	ID            Snowflake `json:"id"`
	ApplicationID Snowflake `json:"application_id"`
	Type          int       `json:"type"`
	Token         string    `json:"token"`
	GuildID       Snowflake `json:"guild_id"`
	ChannelID     Snowflake `json:"channel_id"`
	Data          struct {
		Type     int    `json:"type"`
		Name     string `json:"name"`
		CustomID string `json:"custom_id"`
	} `json:"data"`
	Member *struct {
		User user `json:"user"`
	} `json:"member"`
	User    *user `json:"user"`
	Message *struct {
		ID        Snowflake `json:"id"`
		ChannelID Snowflake `json:"channel_id"`
	} `json:"message"`
}

type user struct {
	ID       Snowflake `json:"id"`
	Username string    `json:"username"`
}

// who is the user who acted: the member in a guild, the user in a DM.
func (in *interaction) who() user {
	if in.Member != nil {
		return in.Member.User
	}
	if in.User != nil {
		return *in.User
	}
	return user{}
}

// parseInteraction reads a verified request and checks it is for this
// application.
func parseInteraction(req *plugin.WebhookRequest, st settings) (*interaction, error) {
	in := &interaction{}
	if err := json.Unmarshal(req.Body, in); err != nil {
		return nil, &plugin.InputError{Message: "the body is not an interaction: " + err.Error()}
	}
	if st.ClientID != "" && string(in.ApplicationID) != st.ClientID {
		return nil, &plugin.InputError{Field: "/application_id", Message: "the interaction is for another application"}
	}
	return in, nil
}

// jsonResponse is a 200 with a JSON body.
func jsonResponse(v any) *plugin.WebhookResponse {
	body, _ := json.Marshal(v)
	return &plugin.WebhookResponse{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
}

// firstResponse is the answer to an interaction before any vote looked at
// it: PONG, the slash command's acknowledgement, or, for a button, a
// deferred update (Discord's "acknowledged, no change") that a vote
// replaces. Nil for the types the gateway does not handle.
func firstResponse(in *interaction) *plugin.WebhookResponse {
	switch in.Type {
	case interactionPing:
		return jsonResponse(map[string]any{"type": callbackPong})
	case interactionApplicationCmd:
		return jsonResponse(map[string]any{"type": callbackChannelMessage,
			"data": map[string]any{"content": slashAck, "flags": flagEphemeral}})
	case interactionMessageComponent:
		return jsonResponse(map[string]any{"type": callbackDeferredUpdateMessage})
	}
	return nil
}

// replies holds the answer of each button interaction being handled, so
// that the vote that handles it can put its UPDATE_MESSAGE there: the
// gateway sends the router's (or, at the per-community path, the
// instance's) response after the processes ran, and a process handler has
// no response of its own. Entries are taken by the vote, or dropped after a
// minute (Discord waits 3 s).
var replies = struct {
	sync.Mutex
	m map[Snowflake]pendingReply
}{m: map[Snowflake]pendingReply{}}

type pendingReply struct {
	resp *plugin.WebhookResponse
	at   time.Time
}

// maxPendingReplies bounds the table.
const maxPendingReplies = 10000

// holdReply registers resp as the answer to interaction id, unless one is
// registered already; it returns the registered one.
func holdReply(id Snowflake, resp *plugin.WebhookResponse, now time.Time) *plugin.WebhookResponse {
	replies.Lock()
	defer replies.Unlock()
	for k, r := range replies.m {
		if now.Sub(r.at) > time.Minute || now.Before(r.at.Add(-time.Minute)) {
			delete(replies.m, k)
		}
	}
	if r, ok := replies.m[id]; ok {
		return r.resp
	}
	if len(replies.m) < maxPendingReplies {
		replies.m[id] = pendingReply{resp: resp, at: now}
	}
	return resp
}

// answer replaces the held answer to interaction id with v; false when
// none is held.
func answer(id Snowflake, v any) bool {
	replies.Lock()
	defer replies.Unlock()
	r, ok := replies.m[id]
	if !ok {
		return false
	}
	delete(replies.m, id)
	*r.resp = *jsonResponse(v)
	return true
}

// router receives the application's interactions at /api/hooks/discord.
type router struct{}

// RouteWebhook verifies an interaction and names the guild it concerns.
func (router) RouteWebhook(_ context.Context, req *plugin.WebhookRequest) (plugin.Route, error) {
	st := readSettings(req.Setting)
	if err := verifySignature(req, st.PublicKey, req.ReceivedAt); err != nil {
		return plugin.Route{}, err
	}
	in, err := parseInteraction(req, st)
	if err != nil {
		return plugin.Route{}, err
	}
	resp := firstResponse(in)
	if in.Type == interactionMessageComponent {
		resp = holdReply(in.ID, resp, receivedAt(req))
	}
	if in.Type == interactionPing || in.GuildID == "" {
		return plugin.Route{Response: resp}, nil
	}
	return plugin.Route{PlatformID: string(in.GuildID), Response: resp}, nil
}

func receivedAt(req *plugin.WebhookRequest) time.Time {
	if req.ReceivedAt.IsZero() {
		return time.Now()
	}
	return req.ReceivedAt
}

// VerifyWebhook verifies every request that reaches an instance, also at
// the per-community path /api/hooks/<community>/discord.
func (d *Discord) VerifyWebhook(_ context.Context, req *plugin.WebhookRequest) error {
	return verifySignature(req, d.st.PublicKey, req.ReceivedAt)
}

// ReceiveWebhook turns a slash command used in the instance's guild into
// the driver event slash_command, whose data is the whole interaction and
// whose initiator is the member who used it.
func (d *Discord) ReceiveWebhook(ctx context.Context, c *plugin.Call, req *plugin.WebhookRequest) (*plugin.WebhookResponse, error) {
	in, err := parseInteraction(req, d.st)
	if err != nil {
		return nil, err
	}
	resp := firstResponse(in)
	if in.Type == interactionMessageComponent {
		resp = holdReply(in.ID, resp, receivedAt(req))
	}
	if in.Type != interactionApplicationCmd || in.GuildID != d.cfg.GuildID || in.Data.Type != commandChatInput {
		return resp, nil
	}
	// A replay of a signed interaction (within the five minutes its
	// timestamp allows) makes no second event.
	key := "interaction/" + string(in.ID)
	var seen bool
	if found, err := c.State().Get(ctx, key, &seen); err != nil {
		return nil, err
	} else if found {
		return resp, nil
	}
	if err := c.State().SetUntil(key, true, c.Now().Add(2*signatureTolerance)); err != nil {
		return nil, err
	}
	who := in.who()
	// The data is the interaction as Discord sent it (already parsed once,
	// so it is JSON), its snowflakes untouched.
	return resp, c.Emit(plugin.Event{Type: "slash_command", Data: json.RawMessage(req.Body), Initiator: &plugin.Initiator{
		UserID: string(who.ID), UserName: who.Username, Provider: "discord"}})
}
