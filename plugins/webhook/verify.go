package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// Standard Webhooks headers (https://www.standardwebhooks.com).
const (
	headerID        = "webhook-id"
	headerTimestamp = "webhook-timestamp"
	headerSignature = "webhook-signature"
)

// VerifyWebhook checks the request's signature over the raw body before
// anything parses it: Standard Webhooks when the request carries a
// webhook-signature header, else the configured sha256= header. A request
// with a webhook-signature header never falls back to the weaker scheme,
// even when that signature is bad. Every failure wraps plugin.ErrUnauthorized.
func (w *Webhook) VerifyWebhook(_ context.Context, req *plugin.WebhookRequest) error {
	now := req.ReceivedAt
	if now.IsZero() {
		now = w.now()
	}
	if isStandard(req.Header) {
		return verifyStandard(w.standardKey, req.Header, req.Body, now, w.tolerance)
	}
	if v := req.Header.Get(w.cfg.SignatureHeader); v != "" {
		return verifyHMAC(w.hmacKey, v, req.Body)
	}
	return unauthorized("unsigned request: no %s or %s header", headerSignature, w.cfg.SignatureHeader)
}

// isStandard reports whether a request claims to be signed the Standard
// Webhooks way. The header's presence decides, not its value, so an empty
// signature fails instead of falling back to the other scheme.
func isStandard(h http.Header) bool {
	return len(h.Values(headerSignature)) > 0
}

// verifyStandard checks a Standard Webhooks signature: the timestamp must be
// within tolerance of now in either direction, and one of the header's
// "v1,<base64>" entries must be the HMAC-SHA256 with key of
// "<id>.<timestamp>.<body>". Other versions, such as the asymmetric v1a, are
// skipped.
func verifyStandard(key []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts := h.Get(headerID), h.Get(headerTimestamp)
	signatures := strings.Fields(strings.Join(h.Values(headerSignature), " "))
	switch {
	case id == "":
		return unauthorized("missing %s header", headerID)
	case ts == "":
		return unauthorized("missing %s header", headerTimestamp)
	case len(signatures) == 0:
		return unauthorized("missing %s header", headerSignature)
	}
	seconds, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return unauthorized("bad %s %q: not unix seconds", headerTimestamp, ts)
	}
	sent := time.Unix(seconds, 0)
	if now.Sub(sent) > tolerance {
		return unauthorized("stale %s: sent %s, more than %s ago", headerTimestamp, sent.UTC().Format(time.RFC3339), tolerance)
	}
	if sent.Sub(now) > tolerance {
		return unauthorized("%s in the future: %s, more than %s ahead", headerTimestamp, sent.UTC().Format(time.RFC3339), tolerance)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range signatures {
		version, encoded, _ := strings.Cut(s, ",")
		if version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(encoded)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return unauthorized("no matching v1 signature in %s", headerSignature)
}

// verifyHMAC checks a "sha256=<hex>" header value, GitHub's scheme: the
// HMAC-SHA256 with key of the raw body.
func verifyHMAC(key []byte, value string, body []byte) error {
	encoded, ok := strings.CutPrefix(value, "sha256=")
	if !ok {
		return unauthorized("signature is not of the form sha256=<hex>")
	}
	got, err := hex.DecodeString(encoded)
	if err != nil {
		return unauthorized("signature is not hex")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return unauthorized("sha256 signature does not match")
	}
	return nil
}

// unauthorized builds a verification error that the gateway answers with
// 401; the reason is for the gateway's log, not for the sender.
func unauthorized(format string, args ...any) error {
	return fmt.Errorf("verifying webhook: %s: %w", fmt.Sprintf(format, args...), plugin.ErrUnauthorized)
}
