package client_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/client"
)

// sign signs a delivery the Standard Webhooks way, written from the spec
// rather than taken from the code under test.
func sign(secret, id string, at time.Time, body string) http.Header {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.%s", id, at.Unix(), body)
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return h
}

func post(t *testing.T, h http.Handler, header http.Header, body string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// TestReceiver: signatures are checked, duplicates dropped, stale process
// records dropped, and a handler's failure leaves the delivery to be retried.
func TestReceiver(t *testing.T) {
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another key, another key, another"))
	r, err := client.NewReceiver(other + " " + testSecret)
	require.NoError(t, err)
	var sequences []int64
	var events []string
	fail := errors.New("database down")
	var failNext bool
	r.OnProcess = func(_ context.Context, p *client.Process) error {
		if failNext {
			failNext = false
			return fail
		}
		sequences = append(sequences, p.Sequence)
		return nil
	}
	r.OnEvent = func(_ context.Context, e *client.Event) error {
		events = append(events, e.EventType)
		return nil
	}
	now := time.Now()
	record := func(seq int) string {
		return fmt.Sprintf(`{"id": 7, "name": "vote.poll", "community": "town", "status": "pending", "url": null, "errors": {}, "outcome": {}, "sequence": %d}`, seq)
	}

	require.Equal(t, http.StatusOK, post(t, r, sign(testSecret, "msg_1", now, record(2)), record(2)))
	// The same delivery again, as a retry: dropped.
	require.Equal(t, http.StatusOK, post(t, r, sign(testSecret, "msg_1", now, record(2)), record(2)))
	// An older record arriving late: acknowledged, not passed on.
	require.Equal(t, http.StatusOK, post(t, r, sign(testSecret, "msg_0", now, record(1)), record(1)))
	// A newer one, signed with the other secret of a rotation.
	require.Equal(t, http.StatusOK, post(t, r, sign(other, "msg_2", now, record(3)), record(3)))
	require.Equal(t, []int64{2, 3}, sequences)

	// A handler's failure answers 500; the retry is passed on.
	failNext = true
	require.Equal(t, http.StatusInternalServerError, post(t, r, sign(testSecret, "msg_3", now, record(4)), record(4)))
	require.Equal(t, http.StatusOK, post(t, r, sign(testSecret, "msg_3", now, record(4)), record(4)))
	require.Equal(t, []int64{2, 3, 4}, sequences)

	event := `{"id": 1, "community": "town", "source": "webhook", "event_type": "push", "timestamp": "1.0", "data": {}, "initiator": {"user_id": null, "provider": "webhook"}}`
	require.Equal(t, http.StatusOK, post(t, r, sign(testSecret, "msg_4", now, event), event))
	require.Equal(t, http.StatusOK, post(t, r, sign(testSecret, "msg_4", now, event), event))
	require.Equal(t, []string{"push"}, events)

	// Forged, tampered, stale and unsigned deliveries are refused.
	wrong := "whsec_" + base64.StdEncoding.EncodeToString([]byte("not the key, not the key, not it"))
	require.Equal(t, http.StatusUnauthorized, post(t, r, sign(wrong, "msg_5", now, record(9)), record(9)))
	require.Equal(t, http.StatusUnauthorized, post(t, r, sign(testSecret, "msg_5", now, record(5)), record(9)))
	require.Equal(t, http.StatusUnauthorized, post(t, r, sign(testSecret, "msg_5", now.Add(-time.Hour), record(9)), record(9)))
	require.Equal(t, http.StatusUnauthorized, post(t, r, http.Header{}, record(9)))
	require.Equal(t, []int64{2, 3, 4}, sequences)
	// Signed, but neither kind of delivery.
	require.Equal(t, http.StatusBadRequest, post(t, r, sign(testSecret, "msg_6", now, `{"x": 1}`), `{"x": 1}`))

	_, err = client.NewReceiver("")
	require.Error(t, err)
	_, err = client.NewReceiver("not-a-secret!")
	require.Error(t, err)
}
