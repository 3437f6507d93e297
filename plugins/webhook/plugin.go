// Package webhook receives signed JSON webhooks from any system (GitHub,
// Stripe, or any sender that follows the Standard Webhooks spec) and turns
// each one into a driver event, so a driver can react to platforms that have
// no plugin of their own.
//
// The gateway routes POST /api/hooks/<community>/webhook, followed by
// /<webhook_slug> when the config sets one, to the instance. Point the
// sender there and give it the same secret as the config.
//
// What is verified, before the body is read:
//
//   - A request with a webhook-signature header is checked as Standard
//     Webhooks (https://www.standardwebhooks.com): an HMAC-SHA256 over
//     "<webhook-id>.<webhook-timestamp>.<body>", any one of the header's
//     space-separated "v1,<base64>" signatures may match (so the sender can
//     rotate secrets), and the timestamp must lie within tolerance_seconds of
//     now. A webhook-id seen within twice the tolerance is a replay: it is
//     answered 200 and emits nothing.
//   - Otherwise a request with the configured signature_header (GitHub's
//     X-Hub-Signature-256 by default) must carry "sha256=<hex HMAC-SHA256 of
//     the body>". This scheme has no timestamp, so it cannot detect replays.
//   - Anything else is refused with 401.
//
// The secret serves both schemes. A Standard Webhooks secret has the form
// whsec_<base64>; paste it as given: the decoded base64 part is the Standard
// Webhooks key. Any other secret is used as raw bytes for Standard Webhooks.
// For the sha256= header the whole secret string is the key, as GitHub uses
// it.
//
// The event's data is the JSON body, unchanged. Its type comes from the
// event_type_header if configured, else from the dot-separated
// event_type_field path into the body, else default_event_type.
package webhook

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

func init() {
	plugin.Register(plugin.Info{
		Name:        "webhook",
		Description: "Receive signed JSON webhooks from any system (GitHub, Stripe, Standard Webhooks senders) as events",
		AuthType:    plugin.AuthNone,
		Config:      configSchema,
		ConfigType:  reflect.TypeFor[Config](),
		// Each receiver has its own slug, so a community can have one per
		// sending system, each with its own secret.
		PlatformIDKey: "webhook_slug",
		New:           func() plugin.Instance { return &Webhook{} },
	})
}

// Defaults of the optional config properties; configSchema repeats them.
const (
	defaultSignatureHeader  = "X-Hub-Signature-256"
	defaultEventTypeField   = "type"
	defaultEventType        = "webhook"
	defaultToleranceSeconds = 300
)

// configSchema is the instance config. The tolerance is capped at an hour so
// the replay window, and the state that remembers it, stay small.
var configSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"secret": {"type": "string", "minLength": 1, "writeOnly": true,
			"description": "Shared signing secret. A Standard Webhooks secret (whsec_<base64>) is pasted as given: its decoded base64 part is the key of webhook-signature. Any secret, whole, is the HMAC key of the signature_header."},
		"signature_header": {"type": "string", "minLength": 1, "default": "X-Hub-Signature-256",
			"description": "Header carrying sha256=<lowercase hex HMAC-SHA256 of the raw body>, checked when there is no webhook-signature header."},
		"event_type_field": {"type": "string", "minLength": 1, "default": "type",
			"description": "Dot-separated path into the JSON body (such as data.kind) whose string value is the event type."},
		"event_type_header": {"type": "string", "minLength": 1,
			"description": "If set, the event type is this header's value (such as X-GitHub-Event) instead of event_type_field."},
		"default_event_type": {"type": "string", "minLength": 1, "default": "webhook",
			"description": "Event type when the header or field gives no non-empty string."},
		"tolerance_seconds": {"type": "integer", "minimum": 1, "maximum": 3600, "default": 300,
			"description": "How far a Standard Webhooks timestamp may be from now, in either direction."},
		"webhook_slug": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,}$", "maxLength": 128,
			"description": "Appended to the receiver path to make it unguessable; change it to rotate the URL."}
	},
	"required": ["secret"]
}`)

// Config is the instance config. The schema's descriptions, which drivers
// show in their setup forms, say more about each field.
type Config struct {
	Secret           string `json:"secret"`             // secret: signs both schemes
	SignatureHeader  string `json:"signature_header"`   // header of sha256=<hex>
	EventTypeField   string `json:"event_type_field"`   // dot path to the type in the body
	EventTypeHeader  string `json:"event_type_header"`  // header with the type, if set
	DefaultEventType string `json:"default_event_type"` // type when neither gives one
	ToleranceSeconds int64  `json:"tolerance_seconds"`  // Standard Webhooks clock skew
	WebhookSlug      string `json:"webhook_slug"`       // used by the gateway's routing only
}

// Webhook is one enabled receiver. Its keys are derived from the secret once,
// in Provision, not on every request.
type Webhook struct {
	cfg         Config
	standardKey []byte // key of the Standard Webhooks signature
	hmacKey     []byte // key of the sha256= signature header
	tolerance   time.Duration
	now         func() time.Time
}

// Provision derives the signing keys from the secret. The gateway fills the
// schema defaults first; they are applied here too so that a config built
// elsewhere (a test, an older row) cannot switch a check off with a zero.
func (w *Webhook) Provision(_ context.Context, env plugin.Env) error {
	if err := env.DecodeConfig(&w.cfg); err != nil {
		return fmt.Errorf("provisioning webhook receiver: %w", err)
	}
	if w.cfg.Secret == "" {
		return &plugin.InputError{Field: "/secret", Message: "secret is required"}
	}
	w.cfg.SignatureHeader = cmp.Or(w.cfg.SignatureHeader, defaultSignatureHeader)
	w.cfg.EventTypeField = cmp.Or(w.cfg.EventTypeField, defaultEventTypeField)
	w.cfg.DefaultEventType = cmp.Or(w.cfg.DefaultEventType, defaultEventType)
	w.cfg.ToleranceSeconds = cmp.Or(w.cfg.ToleranceSeconds, defaultToleranceSeconds)
	w.tolerance = time.Duration(w.cfg.ToleranceSeconds) * time.Second
	w.now = env.Now
	if w.now == nil {
		w.now = time.Now
	}

	w.hmacKey = []byte(w.cfg.Secret)
	w.standardKey = w.hmacKey
	if encoded, ok := strings.CutPrefix(w.cfg.Secret, "whsec_"); ok {
		key, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil || len(key) == 0 {
			return &plugin.InputError{Field: "/secret", Message: "a whsec_ secret must be followed by base64 key bytes"}
		}
		w.standardKey = key
	}
	return nil
}

// The interface guards make the compiler check that the gateway will find the
// capabilities this package means to offer.
var (
	_ plugin.Provisioner     = (*Webhook)(nil)
	_ plugin.WebhookVerifier = (*Webhook)(nil)
	_ plugin.WebhookReceiver = (*Webhook)(nil)
)
