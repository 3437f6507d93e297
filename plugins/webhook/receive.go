package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// seenPrefix begins the instance state keys of the Standard Webhooks ids
// received recently: one key per id, the prefix followed by the id's SHA-256
// (so a long id makes no long key), holding the unix time it was first
// received and expiring when a replay could no longer pass verification.
const seenPrefix = "seen/"

// ReceiveWebhook emits the verified body as one event. It runs only after
// VerifyWebhook passed, so the body is trusted; it must still be JSON, and a
// body that is not is the sender's mistake (400). A Standard Webhooks
// delivery whose id was already received is answered 200 without a second
// event, so senders that retry after a lost answer do not duplicate it.
func (w *Webhook) ReceiveWebhook(ctx context.Context, c *plugin.Call, req *plugin.WebhookRequest) (*plugin.WebhookResponse, error) {
	var body any
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return nil, &plugin.InputError{Message: "body is not JSON: " + err.Error()}
	}
	if isStandard(req.Header) {
		replayed, err := w.remember(ctx, c, req.Header.Get(headerID))
		if err != nil {
			return nil, err
		}
		if replayed {
			return nil, nil
		}
	}
	// The raw body, not the decoded one, so large numbers keep their digits.
	event := plugin.Event{Type: w.eventType(req, body), Data: json.RawMessage(req.Body)}
	if err := c.Emit(event); err != nil {
		return nil, fmt.Errorf("receiving webhook: %w", err)
	}
	return nil, nil
}

// remember records a Standard Webhooks id and reports whether it was already
// there. Verification refuses timestamps more than the tolerance from now in
// either direction, so a replay can get through up to twice the tolerance
// after the first delivery (a second more, as timestamps are whole seconds);
// the id is remembered that long and then expires. Each id is its own key,
// so a request reads and writes one small value however many came before.
func (w *Webhook) remember(ctx context.Context, c *plugin.Call, id string) (bool, error) {
	sum := sha256.Sum256([]byte(id))
	key := seenPrefix + base64.RawURLEncoding.EncodeToString(sum[:])
	var first int64
	seen, err := c.State().Get(ctx, key, &first)
	if err != nil {
		return false, fmt.Errorf("reading received webhook ids: %w", err)
	}
	if seen {
		return true, nil
	}
	now := c.Now()
	if err := c.State().SetUntil(key, now.Unix(), now.Add(2*w.tolerance+time.Second)); err != nil {
		return false, fmt.Errorf("recording webhook id: %w", err)
	}
	return false, nil
}

// eventType names the event: from the configured header if there is one,
// else from the field path into the body, else the default. A value that is
// not a non-empty string falls back to the default.
func (w *Webhook) eventType(req *plugin.WebhookRequest, body any) string {
	if w.cfg.EventTypeHeader != "" {
		if t := strings.TrimSpace(req.Header.Get(w.cfg.EventTypeHeader)); t != "" {
			return t
		}
		return w.cfg.DefaultEventType
	}
	v := body
	for name := range strings.SplitSeq(w.cfg.EventTypeField, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return w.cfg.DefaultEventType
		}
		v = obj[name]
	}
	if t, ok := v.(string); ok && t != "" {
		return t
	}
	return w.cfg.DefaultEventType
}
