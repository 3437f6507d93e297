package github

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// Headers of a GitHub webhook delivery.
const (
	headerEvent     = "X-GitHub-Event"
	headerDelivery  = "X-GitHub-Delivery"
	headerSignature = "X-Hub-Signature-256"
)

// Delivery ids (X-GitHub-Delivery) are remembered this long, one expiring
// state value each, so that a redelivery makes no second event. GitHub
// keeps deliveries for redelivery for three days.
const (
	replayWindow    = 72 * time.Hour
	deliveredPrefix = "delivered/"
)

var eventTypes = []plugin.EventType{{
	Type: "<action> <event>",
	Description: "Every webhook event of the installation, named \"<action> <event>\" as the original did (such as \"opened issues\" or \"created issue_comment\"), " +
		"or \"<event>\" for events without an action (such as \"push\"); data is GitHub's payload, initiator its sender.",
}}

// router receives the app's webhooks at /api/hooks/github.
type router struct{}

// RouteWebhook checks X-Hub-Signature-256 with GITHUB_WEBHOOK_SECRET
// before anything parses the body (the original checked nothing),
// answers ping, and routes every other delivery by installation.id.
// A delivery without an installation (some app-level events) is
// acknowledged and dropped.
func (router) RouteWebhook(_ context.Context, req *plugin.WebhookRequest) (plugin.Route, error) {
	if err := verify(req); err != nil {
		return plugin.Route{}, err
	}
	if req.Header.Get(headerEvent) == "ping" {
		return plugin.Route{Response: &plugin.WebhookResponse{Status: http.StatusOK,
			Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"msg":"pong"}`)}}, nil
	}
	payload, err := payloadOf(req)
	if err != nil {
		return plugin.Route{}, err
	}
	var p struct {
		Installation *struct {
			ID json.Number `json:"id"`
		} `json:"installation"`
	}
	if err := decodeNumbers(payload, &p); err != nil {
		return plugin.Route{}, &plugin.InputError{Message: "the webhook body is not a GitHub payload: " + err.Error()}
	}
	if p.Installation == nil || p.Installation.ID == "" {
		return plugin.Route{}, nil
	}
	if _, err := strconv.ParseInt(p.Installation.ID.String(), 10, 64); err != nil {
		return plugin.Route{}, &plugin.InputError{Field: "/installation/id", Message: "not an installation id"}
	}
	return plugin.Route{PlatformID: p.Installation.ID.String()}, nil
}

// VerifyWebhook checks the signature again on the instance's own path
// (/api/hooks/<community>/github), which receives the same deliveries.
func (g *GitHub) VerifyWebhook(_ context.Context, req *plugin.WebhookRequest) error {
	return verifySignature([]byte(g.settings.WebhookSecret), req.Header.Get(headerSignature), req.Body)
}

// verify checks a delivery with the gateway's webhook secret.
func verify(req *plugin.WebhookRequest) error {
	secret := ""
	if req.Setting != nil {
		secret = req.Setting(SettingWebhookSecret)
	}
	return verifySignature([]byte(secret), req.Header.Get(headerSignature), req.Body)
}

// verifySignature checks "sha256=<hex HMAC-SHA256 of the body>" in constant
// time. Without a secret nothing verifies: an app without a webhook secret
// would accept anyone's events.
func verifySignature(secret []byte, signature string, body []byte) error {
	if len(secret) == 0 {
		return unauthorized("%s is not set, so no delivery can be verified", SettingWebhookSecret)
	}
	if signature == "" {
		return unauthorized("unsigned: no %s header", headerSignature)
	}
	encoded, ok := strings.CutPrefix(signature, "sha256=")
	if !ok {
		return unauthorized("%s is not of the form sha256=<hex>", headerSignature)
	}
	got, err := hex.DecodeString(encoded)
	if err != nil {
		return unauthorized("%s is not hex", headerSignature)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return unauthorized("%s does not match the body", headerSignature)
	}
	return nil
}

func unauthorized(format string, args ...any) error {
	return fmt.Errorf("verifying github webhook: %s: %w", fmt.Sprintf(format, args...), plugin.ErrUnauthorized)
}

// payloadOf returns the JSON payload: the body, or its payload field when
// the webhook was configured with the form content type.
func payloadOf(req *plugin.WebhookRequest) ([]byte, error) {
	ct := req.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		form, err := url.ParseQuery(string(req.Body))
		if err != nil {
			return nil, &plugin.InputError{Message: "the webhook form is malformed: " + err.Error()}
		}
		return []byte(form.Get("payload")), nil
	}
	return req.Body, nil
}

// decodeNumbers unmarshals keeping numbers as json.Number, so that ids
// beyond 2^53 survive.
func decodeNumbers(raw []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	return dec.Decode(v)
}

// payload is what the plugin reads of a delivery.
type payload struct {
	Action       string `json:"action"`
	Installation *struct {
		ID json.Number `json:"id"`
	} `json:"installation"`
	Sender *struct {
		ID    json.Number `json:"id"`
		Login string      `json:"login"`
		Type  string      `json:"type"`
	} `json:"sender"`
	Repository *struct {
		Name  string `json:"name"`
		Owner struct {
			Login string `json:"login"`
		} `json:"owner"`
	} `json:"repository"`
	Issue *struct {
		Number int `json:"number"`
	} `json:"issue"`
}

// forInstallation reports whether a delivery belongs to installation id.
func (p payload) forInstallation(id int64) bool {
	return p.Installation != nil && p.Installation.ID.String() == strconv.FormatInt(id, 10)
}

// ReceiveWebhook sends a verified delivery to the driver as an event
// ("<action> <event>", or "<event>" when the payload has no action, such
// as push, on which the original crashed), unless it is another
// installation's or its X-GitHub-Delivery id came within replayWindow.
func (g *GitHub) ReceiveWebhook(ctx context.Context, c *plugin.Call, req *plugin.WebhookRequest) (*plugin.WebhookResponse, error) {
	event := req.Header.Get(headerEvent)
	if event == "" {
		return nil, &plugin.InputError{Message: "no " + headerEvent + " header"}
	}
	if event == "ping" {
		return nil, nil
	}
	raw, err := payloadOf(req)
	if err != nil {
		return nil, err
	}
	var p payload
	if err := decodeNumbers(raw, &p); err != nil {
		return nil, &plugin.InputError{Message: "the webhook body is not a GitHub payload: " + err.Error()}
	}
	if !p.forInstallation(g.installationID) {
		// A genuine delivery of another installation, replayed to this
		// instance's own path: not this community's business.
		return nil, nil
	}
	if replayed, err := rememberDelivery(ctx, c, req.Header.Get(headerDelivery)); err != nil || replayed {
		return nil, err
	}
	eventType := event
	if p.Action != "" {
		eventType = p.Action + " " + event
	}
	var initiator *plugin.Initiator
	if p.Sender != nil && p.Sender.ID != "" {
		initiator = &plugin.Initiator{UserID: p.Sender.ID.String(), UserName: p.Sender.Login, Provider: platform}
	}
	if err := c.Emit(plugin.Event{Type: eventType, Data: json.RawMessage(raw), Initiator: initiator}); err != nil {
		return nil, fmt.Errorf("receiving github webhook: %w", err)
	}
	return nil, nil
}

// rememberDelivery records a delivery id for replayWindow and reports
// whether it was already there. A delivery without one is never taken for
// a replay. GitHub signs the body, not this header: this drops
// redeliveries and verbatim replays.
func rememberDelivery(ctx context.Context, c *plugin.Call, id string) (bool, error) {
	if id == "" {
		return false, nil
	}
	sum := sha256.Sum256([]byte(id))
	key := deliveredPrefix + base64.RawURLEncoding.EncodeToString(sum[:])
	var at int64
	seen, err := c.State().Get(ctx, key, &at)
	if err != nil {
		return false, fmt.Errorf("reading delivered github ids: %w", err)
	}
	if seen {
		return true, nil
	}
	now := c.Now()
	if err := c.State().SetUntil(key, now.Unix(), now.Add(replayWindow)); err != nil {
		return false, fmt.Errorf("recording github delivery id: %w", err)
	}
	return false, nil
}
