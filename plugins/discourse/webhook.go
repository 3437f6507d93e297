package discourse

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// Headers of a Discourse webhook delivery.
const (
	headerEvent     = "X-Discourse-Event"
	headerEventID   = "X-Discourse-Event-Id"
	headerInstance  = "X-Discourse-Instance"
	headerSignature = "X-Discourse-Event-Signature"
)

// Delivered event ids are remembered this long, under deliveredPrefix and
// the id's SHA-256, so that a redelivery (Discourse retries failed
// deliveries, and an admin may redeliver one by hand) or a verbatim replay
// within it makes no second event. Discourse deliveries carry no timestamp,
// so the window is a choice, not a bound set by verification: a day covers
// Discourse's retries and keeps the state to a day's events.
const (
	replayWindow    = 24 * time.Hour
	deliveredPrefix = "delivered/"
)

// VerifyWebhook refuses, before anything reads the body, a delivery that
// is not signed with the webhook secret or that names another forum.
func (d *Discourse) VerifyWebhook(_ context.Context, req *plugin.WebhookRequest) error {
	return verifyWebhook([]byte(d.cfg.WebhookSecret), d.cfg.ServerURL, req.Header, req.Body)
}

// verifyWebhook checks a delivery as Discourse signs it: the
// X-Discourse-Event-Signature header must be "sha256=" and the lowercase hex
// HMAC-SHA256 of the raw body keyed with the secret, and X-Discourse-Instance
// must be the configured server URL (trailing slashes aside). Every failure
// wraps plugin.ErrUnauthorized.
func verifyWebhook(secret []byte, serverURL string, h http.Header, body []byte) error {
	if err := verifySignature(secret, h.Get(headerSignature), body); err != nil {
		return err
	}
	instance := h.Get(headerInstance)
	if instance == "" {
		return unauthorized("no %s header", headerInstance)
	}
	if normalizeServerURL(instance) != normalizeServerURL(serverURL) {
		return unauthorized("%s is %q, not the configured server", headerInstance, instance)
	}
	return nil
}

// verifySignature checks a "sha256=<hex>" signature of body in constant
// time.
func verifySignature(secret []byte, signature string, body []byte) error {
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

// unauthorized builds a verification error, answered 401; the reason is
// for the gateway's log.
func unauthorized(format string, args ...any) error {
	return fmt.Errorf("verifying discourse webhook: %s: %w", fmt.Sprintf(format, args...), plugin.ErrUnauthorized)
}

// ReceiveWebhook turns a verified delivery into an event, by its
// X-Discourse-Event header: post_created, topic_created, and user_updated
// (as user_fields_changed, when the user's fields changed). Other events,
// such as ping, are acknowledged and ignored, and so is a delivery whose
// X-Discourse-Event-Id came within replayWindow.
func (d *Discourse) ReceiveWebhook(ctx context.Context, c *plugin.Call, req *plugin.WebhookRequest) (*plugin.WebhookResponse, error) {
	name := req.Header.Get(headerEvent)
	switch name {
	case eventPostCreated, eventTopicCreated, "user_updated":
		// Checked before the event is read, so that a replayed user_updated
		// cannot put back the user fields it carried.
		if replayed, err := rememberDelivery(ctx, c, req.Header.Get(headerEventID)); err != nil || replayed {
			return nil, err
		}
	}
	var ev *plugin.Event
	var err error
	switch name {
	case eventPostCreated:
		ev, err = d.postCreated(req.Body)
	case eventTopicCreated:
		ev, err = d.topicCreated(req.Body)
	case "user_updated":
		ev, err = d.userFieldsEvent(ctx, c, req.Body)
	default:
		return nil, nil
	}
	if err != nil || ev == nil {
		return nil, err
	}
	if err := c.Emit(*ev); err != nil {
		return nil, fmt.Errorf("receiving discourse webhook: %w", err)
	}
	return nil, nil
}

// rememberDelivery records the X-Discourse-Event-Id of a delivery of an
// event the plugin handles, for replayWindow, and reports whether it was already
// there. A delivery without one is never taken for a replay. Discourse
// signs the body only, not this header: this drops redeliveries and
// verbatim replays, not a captured body replayed under a made-up id.
func rememberDelivery(ctx context.Context, c *plugin.Call, id string) (bool, error) {
	if id == "" {
		return false, nil
	}
	sum := sha256.Sum256([]byte(id))
	key := deliveredPrefix + base64.RawURLEncoding.EncodeToString(sum[:])
	var at int64
	seen, err := c.State().Get(ctx, key, &at)
	if err != nil {
		return false, fmt.Errorf("reading delivered discourse event ids: %w", err)
	}
	if seen {
		return true, nil
	}
	now := c.Now()
	if err := c.State().SetUntil(key, now.Unix(), now.Add(replayWindow)); err != nil {
		return false, fmt.Errorf("recording discourse event id: %w", err)
	}
	return false, nil
}

// initiator names the forum user behind an event, marking the gateway's own
// API user so a driver can ignore what it did itself.
func (d *Discourse) initiator(username string) *plugin.Initiator {
	if username == "" {
		return nil
	}
	return &plugin.Initiator{UserID: username, Provider: platform, IsMetagovBot: username == d.cfg.APIUsername}
}
