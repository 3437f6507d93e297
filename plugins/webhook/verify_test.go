package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/metagov/metagov-go/plugin"
	"github.com/stretchr/testify/require"
)

var (
	testKey  = []byte("0123456789abcdef0123456789abcdef")
	otherKey = []byte("fedcba9876543210fedcba9876543210")
	testNow  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// signStandard signs like a Standard Webhooks sender, independently of the
// code under test.
func signStandard(key []byte, id string, ts int64, body string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "." + body))
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// signHMAC signs like GitHub.
func signHMAC(key []byte, body string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// standardHeader builds the headers of a Standard Webhooks delivery; an
// empty value leaves the header out.
func standardHeader(id, ts, signature string) http.Header {
	h := http.Header{}
	for name, v := range map[string]string{headerID: id, headerTimestamp: ts, headerSignature: signature} {
		if v != "" {
			h.Set(name, v)
		}
	}
	return h
}

func TestVerifyStandard(t *testing.T) {
	t.Parallel()
	const body = `{"type":"invoice.paid"}`
	now := testNow.Unix()
	ts := strconv.FormatInt(now, 10)
	valid := signStandard(testKey, "msg_1", now, body)
	tests := []struct {
		name    string
		header  http.Header
		body    string
		wantErr string // empty: the request must pass
	}{
		{name: "valid", header: standardHeader("msg_1", ts, valid), body: body},
		{name: "rotated secrets", header: standardHeader("msg_1", ts, signStandard(otherKey, "msg_1", now, body)+" "+valid), body: body},
		{name: "asymmetric entry skipped", header: standardHeader("msg_1", ts, "v1a,AAAA "+valid), body: body},
		{name: "at the tolerance", header: standardHeader("msg_1", strconv.FormatInt(now-300, 10), signStandard(testKey, "msg_1", now-300, body)), body: body},
		{name: "wrong secret", header: standardHeader("msg_1", ts, signStandard(otherKey, "msg_1", now, body)), body: body, wantErr: "no matching v1 signature"},
		{name: "tampered body", header: standardHeader("msg_1", ts, valid), body: `{"type":"invoice.refunded"}`, wantErr: "no matching v1 signature"},
		{name: "tampered id", header: standardHeader("msg_2", ts, valid), body: body, wantErr: "no matching v1 signature"},
		{name: "other version", header: standardHeader("msg_1", ts, "v2"+valid[2:]), body: body, wantErr: "no matching v1 signature"},
		{name: "signature without version", header: standardHeader("msg_1", ts, valid[3:]), body: body, wantErr: "no matching v1 signature"},
		{name: "stale", header: standardHeader("msg_1", strconv.FormatInt(now-301, 10), signStandard(testKey, "msg_1", now-301, body)), body: body, wantErr: "stale webhook-timestamp"},
		{name: "future", header: standardHeader("msg_1", strconv.FormatInt(now+301, 10), signStandard(testKey, "msg_1", now+301, body)), body: body, wantErr: "webhook-timestamp in the future"},
		{name: "timestamp not a number", header: standardHeader("msg_1", "yesterday", valid), body: body, wantErr: "bad webhook-timestamp"},
		{name: "missing id", header: standardHeader("", ts, valid), body: body, wantErr: "missing webhook-id"},
		{name: "missing timestamp", header: standardHeader("msg_1", "", valid), body: body, wantErr: "missing webhook-timestamp"},
		{name: "missing signature", header: standardHeader("msg_1", ts, ""), body: body, wantErr: "missing webhook-signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := verifyStandard(testKey, tt.header, []byte(tt.body), testNow, 300*time.Second)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, plugin.ErrUnauthorized)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestVerifyHMAC(t *testing.T) {
	t.Parallel()
	const body = `{"action":"opened"}`
	tests := []struct {
		name    string
		value   string
		body    string
		wantErr string
	}{
		{name: "valid", value: signHMAC(testKey, body), body: body},
		{name: "wrong secret", value: signHMAC(otherKey, body), body: body, wantErr: "does not match"},
		{name: "tampered body", value: signHMAC(testKey, body), body: `{"action":"closed"}`, wantErr: "does not match"},
		{name: "sha1", value: "sha1=" + signHMAC(testKey, body)[7:], body: body, wantErr: "not of the form"},
		{name: "not hex", value: "sha256=zz", body: body, wantErr: "not hex"},
		{name: "empty signature", value: "sha256=", body: body, wantErr: "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := verifyHMAC(testKey, tt.value, []byte(tt.body))
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, plugin.ErrUnauthorized)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// TestVerifyWebhook checks which scheme the instance picks and which keys
// it derives from the secret.
func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	whsec := "whsec_" + base64.StdEncoding.EncodeToString(testKey)
	const body = `{"type":"ping"}`
	now := testNow.Unix()
	ts := strconv.FormatInt(now, 10)
	tests := []struct {
		name    string
		config  string
		header  http.Header
		wantErr bool
	}{
		{name: "standard with whsec secret", config: `{"secret":"` + whsec + `"}`,
			header: standardHeader("msg_1", ts, signStandard(testKey, "msg_1", now, body))},
		{name: "standard with raw secret", config: `{"secret":"` + string(testKey) + `"}`,
			header: standardHeader("msg_1", ts, signStandard(testKey, "msg_1", now, body))},
		{name: "whsec secret is not raw bytes", config: `{"secret":"` + whsec + `"}`,
			header: standardHeader("msg_1", ts, signStandard([]byte(whsec), "msg_1", now, body)), wantErr: true},
		{name: "hmac with whole whsec secret", config: `{"secret":"` + whsec + `"}`,
			header: http.Header{"X-Hub-Signature-256": {signHMAC([]byte(whsec), body)}}},
		{name: "hmac in configured header", config: `{"secret":"s3cret","signature_header":"X-Signature"}`,
			header: http.Header{"X-Signature": {signHMAC([]byte("s3cret"), body)}}},
		{name: "hmac in unconfigured header", config: `{"secret":"s3cret","signature_header":"X-Signature"}`,
			header: http.Header{"X-Hub-Signature-256": {signHMAC([]byte("s3cret"), body)}}, wantErr: true},
		{name: "bad standard does not fall back", config: `{"secret":"s3cret"}`,
			header: http.Header{"Webhook-Signature": {"v1,AAAA"}, "X-Hub-Signature-256": {signHMAC([]byte("s3cret"), body)}}, wantErr: true},
		{name: "empty standard signature does not fall back", config: `{"secret":"s3cret"}`,
			header: http.Header{"Webhook-Signature": {""}, "X-Hub-Signature-256": {signHMAC([]byte("s3cret"), body)}}, wantErr: true},
		{name: "unsigned", config: `{"secret":"s3cret"}`, header: http.Header{}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := provision(t, tt.config)
			req := &plugin.WebhookRequest{Method: http.MethodPost, Header: tt.header, Body: []byte(body), ReceivedAt: testNow}
			err := w.VerifyWebhook(context.Background(), req)
			if tt.wantErr {
				require.ErrorIs(t, err, plugin.ErrUnauthorized)
			} else {
				require.NoError(t, err)
			}
		})
	}
}

func TestProvisionRejectsBadSecret(t *testing.T) {
	t.Parallel()
	for _, config := range []string{`{"secret":"whsec_not base64!"}`, `{"secret":"whsec_"}`, `{}`} {
		inst := &Webhook{}
		err := inst.Provision(context.Background(), plugin.Env{Config: []byte(config)})
		var inputErr *plugin.InputError
		require.ErrorAs(t, err, &inputErr, config)
		require.Equal(t, "/secret", inputErr.Field)
	}
}
