package discourse

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// Headers of a Discourse webhook delivery.
const (
	headerEvent     = "X-Discourse-Event"
	headerInstance  = "X-Discourse-Instance"
	headerSignature = "X-Discourse-Event-Signature"
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
// such as ping, are acknowledged and ignored.
func (d *Discourse) ReceiveWebhook(ctx context.Context, c *plugin.Call, req *plugin.WebhookRequest) (*plugin.WebhookResponse, error) {
	var ev *plugin.Event
	var err error
	switch name := req.Header.Get(headerEvent); name {
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

// initiator names the forum user behind an event, marking the gateway's own
// API user so a driver can ignore what it did itself.
func (d *Discourse) initiator(username string) *plugin.Initiator {
	if username == "" {
		return nil
	}
	return &plugin.Initiator{UserID: username, Provider: platform, IsMetagovBot: username == d.cfg.APIUsername}
}
