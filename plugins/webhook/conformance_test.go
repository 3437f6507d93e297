package webhook_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/metagov/metagov-go/plugin/plugintest"
	_ "github.com/metagov/metagov-go/plugins/webhook"
)

// TestConformance runs the SDK's conformance kit with Standard Webhooks
// signatures, whose webhook-id lets the plugin drop a replay. (The sha256=
// header scheme has no id or timestamp, so it cannot tell a replay; the
// kit's replay check does not apply to it.)
func TestConformance(t *testing.T) {
	t.Parallel()
	key := make([]byte, 24)
	_, _ = rand.Read(key)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	plugintest.Exercise(t, plugintest.Suite{
		Plugin: "webhook",
		Config: map[string]any{"secret": secret, "webhook_slug": "conformance-hook"},
		Webhook: &plugintest.Webhook{
			Body: []byte(`{"type": "push", "ref": "refs/heads/main"}`),
			Sign: func(body []byte) http.Header {
				id := make([]byte, 12)
				_, _ = rand.Read(id)
				msgID := "msg_" + base64.RawURLEncoding.EncodeToString(id)
				ts := strconv.FormatInt(time.Now().Unix(), 10)
				mac := hmac.New(sha256.New, key)
				mac.Write([]byte(msgID + "." + ts + "."))
				mac.Write(body)
				return http.Header{
					"Webhook-Id":        {msgID},
					"Webhook-Timestamp": {ts},
					"Webhook-Signature": {"v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))},
				}
			},
			Replay: plugintest.ReplayDropped,
		},
	})
}
