package plugin

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Env is what the gateway gives an instance when it provisions it.
type Env struct {
	// Community is the slug of the community that enabled the instance.
	Community string
	// InstanceID is the instance's stable numeric id.
	InstanceID int64
	// PlatformID is the instance's platform id: what its Initialize reported
	// with Call.SetPlatformID, else the value of the config property named
	// by Info.PlatformIDKey, or empty. While a new or changed config is
	// being initialised it is the property's value.
	PlatformID string
	// Config is the validated instance config with schema defaults filled in.
	Config json.RawMessage
	// Logger already carries the plugin, community and instance.
	Logger *slog.Logger
	// HTTPClient has timeouts set and enforces the gateway's egress policy
	// (refusals match ErrEgressRefused); use it for every platform call.
	HTTPClient *http.Client
	// Now is the gateway's clock, the one clock a plugin reads the time
	// from: Call.Now, the expiry of State.SetUntil,
	// WebhookRequest.ReceivedAt and InstallRequest.Now are the same clock,
	// and so are the gateway's process wake-ups (Process.WakeAt), job
	// schedules and deliveries. Tests move it (app.Config.Now) to travel
	// in time, so a plugin never calls time.Now for a time of day: a
	// deadline, a signature's age, a rate limit's reset. (Measuring how
	// long something took, which no test moves, may use time.Since.) The
	// gateway always sets it; it is nil only in an Env a unit test built
	// by hand.
	Now func() time.Time
	// PublicURL is the gateway's externally reachable base URL, without a
	// trailing slash, for registering webhooks on a platform.
	PublicURL string
	// HookPath is the path of this instance's webhook receiver, such as
	// /api/hooks/my-community/loomio/f5c3ff8f.
	HookPath string
	// Settings reads a gateway setting by name; read it with
	// [Env.Setting].
	Settings func(name string) string
}

// Setting returns the gateway setting name, such as "SLACK_CLIENT_ID" (from
// the environment or the .env file), or "" when it is unset.
func (e Env) Setting(name string) string {
	if e.Settings == nil {
		return ""
	}
	return e.Settings(name)
}

// DecodeConfig unmarshals the validated config into v with [Unmarshal],
// exactly as the schema saw it; an error is an [*InputError] naming the
// property.
func (e Env) DecodeConfig(v any) error {
	if len(e.Config) == 0 {
		return nil
	}
	if err := Unmarshal(e.Config, v); err != nil {
		return fmt.Errorf("decoding plugin config: %w", err)
	}
	return nil
}
