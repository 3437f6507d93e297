package plugin

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// WebhookRequest is a webhook as received, with the raw body, so that a
// verifier can check a signature over the exact bytes.
type WebhookRequest struct {
	Method     string
	Path       string
	Header     http.Header
	Query      url.Values
	Body       []byte
	RemoteAddr string
	ReceivedAt time.Time
	// Setting reads a gateway setting by name, as [Env.Setting] does; the
	// gateway sets it. A [PlatformRouter], which has no instance, reads its
	// app's webhook secret with it.
	Setting func(name string) string
}

// WebhookResponse is what to answer the platform, for platforms that expect a
// particular body (a challenge, an interaction response). Nil means 200 with
// an empty body.
type WebhookResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// WebhookVerifier is implemented by instances that receive webhooks from a
// platform that signs them. VerifyWebhook runs before anything parses the
// request; an error answers 401 and nothing else runs. Return
// [ErrUnauthorized] (wrapped with the reason) for a bad signature.
type WebhookVerifier interface {
	VerifyWebhook(ctx context.Context, req *WebhookRequest) error
}

// WebhookReceiver is implemented by instances that handle webhooks at
// /api/hooks/<community>/<plugin>[/<webhook_slug>]. It runs after
// verification; the handlers of the instance's pending processes that
// implement [ProcessWebhookReceiver] run after it.
type WebhookReceiver interface {
	ReceiveWebhook(ctx context.Context, c *Call, req *WebhookRequest) (*WebhookResponse, error)
}

// PlatformRouter receives platform-wide webhooks at /api/hooks/<plugin>, such
// as a Slack app's events for every workspace that installed it. It verifies
// the request and names the platform account it concerns; the gateway then
// hands it to every instance with that platform id as an instance webhook.
type PlatformRouter interface {
	RouteWebhook(ctx context.Context, req *WebhookRequest) (Route, error)
}

// Route is where a platform-wide webhook goes.
type Route struct {
	// PlatformID selects the instances (by their Env.PlatformID). Empty
	// means the webhook is answered with Response alone.
	PlatformID string
	// Response, if set, is sent to the platform instead of the instances'.
	Response *WebhookResponse
}
