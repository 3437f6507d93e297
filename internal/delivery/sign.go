package delivery

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Signer signs deliveries the Standard Webhooks way: webhook-id,
// webhook-timestamp and webhook-signature headers, with one "v1,"
// signature per active secret, so a driver can rotate its secret with no
// gap.
type Signer struct {
	hooks []*standardwebhooks.Webhook
}

// NewSigner returns a signer for one or more whsec_ secrets, given space- or
// comma-separated (the first is the current one, the others are being
// rotated out).
func NewSigner(secrets string) (*Signer, error) {
	s := &Signer{}
	for _, secret := range strings.FieldsFunc(secrets, func(r rune) bool { return r == ',' || r == ' ' }) {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return nil, fmt.Errorf("webhook secret %q...: %w", secret[:min(len(secret), 6)], err)
		}
		s.hooks = append(s.hooks, wh)
	}
	if len(s.hooks) == 0 {
		return nil, fmt.Errorf("no webhook secret given")
	}
	return s, nil
}

// Sign sets the signature headers of a delivery.
func (s *Signer) Sign(h http.Header, msgID string, at time.Time, payload []byte) error {
	sigs := make([]string, 0, len(s.hooks))
	for _, wh := range s.hooks {
		sig, err := wh.Sign(msgID, at, payload)
		if err != nil {
			return fmt.Errorf("signing delivery %s: %w", msgID, err)
		}
		sigs = append(sigs, sig)
	}
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	h.Set("webhook-signature", strings.Join(sigs, " "))
	return nil
}

// NewSecret returns a fresh secret in the whsec_ form: 32 random bytes.
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}
