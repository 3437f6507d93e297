package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/metagov/metagov-go/plugin"
)

// signatureTolerance is how far a request's timestamp may be from the
// gateway's clock: Slack's recommendation, which bounds replays.
const signatureTolerance = 5 * time.Minute

// eventMemory is how long an event_id is remembered to drop Slack's
// retries of an event already handled (Slack retries three times within
// about an hour and a half).
const eventMemory = 2 * time.Hour

// eventTypes documents the events the Slack app subscribes to (the
// original's manifest); any other event type the app receives is passed on
// the same way.
var eventTypes = func() []plugin.EventType {
	names := []string{"app_home_opened", "app_mention", "app_uninstalled", "channel_archive", "channel_created",
		"channel_deleted", "channel_rename", "channel_unarchive", "group_archive", "group_rename", "group_unarchive",
		"member_joined_channel", "member_left_channel", "message", "pin_added", "pin_removed", "reaction_added",
		"reaction_removed", "team_domain_change", "team_rename", "user_change"}
	out := make([]plugin.EventType, 0, len(names))
	for _, n := range names {
		out = append(out, plugin.EventType{Type: n,
			Description: "Slack's " + n + " event: its event object without type and user (the user is the initiator)",
			Schema:      plugin.Schema(`{"type": "object"}`)})
	}
	return out
}()

// verifySignature checks Slack's v0 request signature: X-Slack-Signature
// is "v0=" and the hex HMAC-SHA256, keyed with the signing secret, of
// "v0:<X-Slack-Request-Timestamp>:<raw body>", and the timestamp lies
// within five minutes of now (the gateway's clock, which stamped the
// request). slack-go's SecretsVerifier does the same against the wall
// clock, not the gateway's, so the few lines are written here.
func verifySignature(req *plugin.WebhookRequest, secret string, now time.Time) error {
	if secret == "" {
		return fmt.Errorf("%w: SLACK_SIGNING_SECRET is not set, so no Slack request can be verified", plugin.ErrUnauthorized)
	}
	ts := req.Header.Get("X-Slack-Request-Timestamp")
	sig := req.Header.Get("X-Slack-Signature")
	if ts == "" || sig == "" {
		return fmt.Errorf("%w: X-Slack-Request-Timestamp and X-Slack-Signature are required", plugin.ErrUnauthorized)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: X-Slack-Request-Timestamp is not a Unix time", plugin.ErrUnauthorized)
	}
	if now.IsZero() {
		now = time.Now()
	}
	if d := now.Sub(time.Unix(secs, 0)); d > signatureTolerance || d < -signatureTolerance {
		return fmt.Errorf("%w: X-Slack-Request-Timestamp is more than 5 minutes from now", plugin.ErrUnauthorized)
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	if !ok {
		return fmt.Errorf("%w: X-Slack-Signature is not a v0 signature", plugin.ErrUnauthorized)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: X-Slack-Signature is not hex", plugin.ErrUnauthorized)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:", ts)
	mac.Write(req.Body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: X-Slack-Signature does not match", plugin.ErrUnauthorized)
	}
	return nil
}

// envelope is the part of an Events API request the gateway reads.
type envelope struct {
	Type      string                    `json:"type"`
	Challenge string                    `json:"challenge"`
	TeamID    string                    `json:"team_id"`
	APIAppID  string                    `json:"api_app_id"`
	EventID   string                    `json:"event_id"`
	Event     map[string]jsontext.Value `json:"event"`
}

// interaction is the part of an Interactivity payload the gateway reads.
type interaction struct {
	Type string `json:"type"`
	Team *struct {
		ID string `json:"id"`
	} `json:"team"`
	User struct {
		ID     string `json:"id"`
		TeamID string `json:"team_id"`
	} `json:"user"`
	APIAppID    string `json:"api_app_id"`
	ResponseURL string `json:"response_url"`
	Container   struct {
		MessageTS string `json:"message_ts"`
		ChannelID string `json:"channel_id"`
	} `json:"container"`
	Channel struct {
		ID string `json:"id"`
	} `json:"channel"`
	Message struct {
		TS string `json:"ts"`
	} `json:"message"`
	Actions []blockAction `json:"actions"`
}

// blockAction is one element's action in a block_actions payload.
type blockAction struct {
	ActionID       string `json:"action_id"`
	BlockID        string `json:"block_id"`
	Type           string `json:"type"`
	Value          string `json:"value"`
	SelectedOption *struct {
		Value string `json:"value"`
	} `json:"selected_option"`
}

// teamID is the workspace an interaction comes from.
func (in *interaction) teamID() string {
	if in.Team != nil && in.Team.ID != "" {
		return in.Team.ID
	}
	return in.User.TeamID
}

// messageTS is the ts of the message whose element was used.
func (in *interaction) messageTS() string {
	if in.Container.MessageTS != "" {
		return in.Container.MessageTS
	}
	return in.Message.TS
}

// channelID is the channel of that message.
func (in *interaction) channelID() string {
	if in.Container.ChannelID != "" {
		return in.Container.ChannelID
	}
	return in.Channel.ID
}

// parseInteraction reads an Interactivity request: a form whose payload
// field is JSON. ok is false for a request that is not one.
func parseInteraction(req *plugin.WebhookRequest) (in *interaction, ok bool, err error) {
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return nil, false, nil
	}
	form, err := url.ParseQuery(string(req.Body))
	if err != nil {
		return nil, true, &plugin.InputError{Message: "the body is not a form: " + err.Error()}
	}
	payload := form.Get("payload")
	if payload == "" {
		return nil, true, &plugin.InputError{Field: "payload", Message: "an Interactivity request needs a payload field"}
	}
	in = &interaction{}
	if err := json.Unmarshal([]byte(payload), in); err != nil {
		return nil, true, &plugin.InputError{Field: "payload", Message: "payload is not a JSON object: " + err.Error()}
	}
	return in, true, nil
}

// router receives the app's requests at /api/hooks/slack.
type router struct{}

// RouteWebhook verifies a request and names the workspace it concerns.
func (router) RouteWebhook(_ context.Context, req *plugin.WebhookRequest) (plugin.Route, error) {
	st := readSettings(req.Setting)
	if err := verifySignature(req, st.SigningSecret, req.ReceivedAt); err != nil {
		return plugin.Route{}, err
	}
	in, isForm, err := parseInteraction(req)
	if err != nil {
		return plugin.Route{}, err
	}
	if isForm {
		if in.Type != "block_actions" || (st.AppID != "" && in.APIAppID != "" && in.APIAppID != st.AppID) {
			return plugin.Route{}, nil
		}
		return plugin.Route{PlatformID: in.teamID()}, nil
	}
	var env envelope
	if err := plugin.Unmarshal(req.Body, &env); err != nil {
		return plugin.Route{}, &plugin.InputError{Message: "the body is not an Events API request: " + err.Error()}
	}
	switch env.Type {
	case "url_verification":
		return plugin.Route{Response: &plugin.WebhookResponse{Status: http.StatusOK,
			Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, Body: []byte(env.Challenge)}}, nil
	case "event_callback":
		if st.AppID != "" && env.APIAppID != "" && env.APIAppID != st.AppID {
			return plugin.Route{}, nil
		}
		route := plugin.Route{PlatformID: env.TeamID}
		// A retry because the gateway answered too slowly: the event is
		// handled (again, which the remembered event_id makes harmless) and
		// Slack is asked not to retry once more.
		if req.Header.Get("X-Slack-Retry-Num") != "" && req.Header.Get("X-Slack-Retry-Reason") == "http_timeout" {
			route.Response = &plugin.WebhookResponse{Status: http.StatusOK, Header: http.Header{"X-Slack-No-Retry": {"1"}}}
		}
		return route, nil
	default:
		// app_rate_limited and anything new: acknowledged, nothing to do.
		return plugin.Route{}, nil
	}
}

// VerifyWebhook verifies every request that reaches an instance, also at
// the per-community path /api/hooks/<community>/slack.
func (s *Slack) VerifyWebhook(_ context.Context, req *plugin.WebhookRequest) error {
	return verifySignature(req, s.st.SigningSecret, req.ReceivedAt)
}

// ReceiveWebhook turns an Events API callback for the instance's workspace
// into a driver event. Interactivity requests are for the votes.
func (s *Slack) ReceiveWebhook(ctx context.Context, c *plugin.Call, req *plugin.WebhookRequest) (*plugin.WebhookResponse, error) {
	if _, isForm, err := parseInteraction(req); isForm || err != nil {
		return nil, err
	}
	var env envelope
	if err := plugin.Unmarshal(req.Body, &env); err != nil {
		return nil, &plugin.InputError{Message: "the body is not an Events API request: " + err.Error()}
	}
	if env.Type == "url_verification" {
		return &plugin.WebhookResponse{Status: http.StatusOK,
			Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, Body: []byte(env.Challenge)}, nil
	}
	if env.Type != "event_callback" || env.TeamID != s.cfg.TeamID || env.Event == nil {
		return nil, nil
	}
	if env.EventID != "" {
		key := "event/" + env.EventID
		var seen bool
		if found, err := c.State().Get(ctx, key, &seen); err != nil {
			return nil, err
		} else if found {
			return nil, nil
		}
		if err := c.State().SetUntil(key, true, c.Now().Add(eventMemory)); err != nil {
			return nil, err
		}
	}
	var typ, user string
	if v, ok := env.Event["type"]; ok {
		_ = plugin.Unmarshal(v, &typ)
	}
	if v, ok := env.Event["user"]; ok && v.Kind() == '"' {
		_ = plugin.Unmarshal(v, &user)
	}
	if typ == "" {
		return nil, &plugin.InputError{Field: "/event/type", Message: "the event has no type"}
	}
	// The data is the event without type and, when it is a user id (which
	// the initiator carries), user, as the original sent it; a user object
	// (user_change) stays.
	data := make(map[string]jsontext.Value, len(env.Event))
	for k, v := range env.Event {
		if k == "type" || (k == "user" && user != "") {
			continue
		}
		data[k] = v
	}
	return nil, c.Emit(plugin.Event{Type: typ, Data: data, Initiator: &plugin.Initiator{
		UserID: user, Provider: "slack", IsMetagovBot: user != "" && user == s.cfg.BotUserID}})
}
