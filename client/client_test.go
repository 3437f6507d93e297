package client_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/client"
	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/core"
	_ "github.com/metagov/metagov-go/plugins/randomness"
	_ "github.com/metagov/metagov-go/plugins/webhook"
)

// testSecret signs the gateway's deliveries in these tests.
var testSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

// collector keeps what a Receiver passed on.
type collector struct {
	mu        sync.Mutex
	processes []*client.Process
	events    []*client.Event
}

func (c *collector) receiver(t *testing.T) *client.Receiver {
	t.Helper()
	r, err := client.NewReceiver(testSecret)
	require.NoError(t, err)
	r.OnProcess = func(_ context.Context, p *client.Process) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.processes = append(c.processes, p)
		return nil
	}
	r.OnEvent = func(_ context.Context, e *client.Event) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.events = append(c.events, e)
		return nil
	}
	return r
}

func (c *collector) counts() (processes, events int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.processes), len(c.events)
}

// waitFor polls cond until it holds: deliveries are asynchronous.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClientTutorialFlow walks the driver tutorial through the client, on
// both databases: community, plugins, actions (typed and raw), a process
// started, read, closed and waited for, its callback and a webhook's event
// through a Receiver, events pulled, deliveries listed and redelivered (and
// dropped as duplicates), the audit log, errors, and API keys.
func TestClientTutorialFlow(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		ctx := context.Background()
		got := &collector{}
		rcv := httptest.NewServer(got.receiver(t))
		t.Cleanup(rcv.Close)
		s := apptest.Start(t, db, app.Config{EventReceiverURL: rcv.URL + "/events", WebhookSecret: testSecret})

		c, err := client.New(s.URL, client.WithCommunity("town"))
		require.NoError(t, err)

		spec := client.CommunitySpec{ReadableName: "Town", Plugins: []client.PluginConfig{
			{Name: "randomness", Config: map[string]int{"default_low": 1, "default_high": 100}},
			{Name: "webhook", Config: map[string]string{"secret": "shared-secret", "webhook_slug": "f5c3ff8f9a"}},
		}}
		community, created, err := c.PutCommunity(ctx, "town", spec)
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, "town", community.Slug)
		require.Len(t, community.Plugins, 2)
		_, created, err = c.PutCommunity(ctx, "town", spec)
		require.NoError(t, err)
		require.False(t, created, "the second PUT replaces")
		hooks, err := c.Hooks(ctx, "town")
		require.NoError(t, err)
		require.Equal(t, []string{"/api/hooks/town/webhook/f5c3ff8f9a"}, hooks)

		p, created, err := c.EnablePlugin(ctx, "randomness", map[string]int{"default_low": 2, "default_high": 3})
		require.NoError(t, err)
		require.False(t, created, "randomness was enabled: its config is updated")
		require.JSONEq(t, `{"default_low": 2, "default_high": 3}`, string(p.Config))

		// Actions, typed and raw, and the gateway's error as an *Error.
		n, err := client.Perform[struct {
			Value int `json:"value"`
		}](ctx, c, "randomness.random-int", map[string]int{"low": 5, "high": 6})
		require.NoError(t, err)
		require.Equal(t, 5, n.Value)
		raw, err := c.Action(ctx, "randomness.random-int", map[string]int{"low": 7, "high": 8})
		require.NoError(t, err)
		require.JSONEq(t, `{"value": 7}`, string(raw))
		_, err = c.Action(ctx, "randomness.random-int", map[string]any{"low": "one"})
		var apiErr *client.Error
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusBadRequest, apiErr.Status)
		require.Equal(t, "invalid_input", apiErr.Code)
		require.Equal(t, "/low", apiErr.Field)
		require.NotEmpty(t, apiErr.RequestID)

		// A process: started (its id from Location), read, closed, waited for.
		const vote = "randomness.delayed-stochastic-vote"
		proc, err := c.StartProcess(ctx, vote, rcv.URL+"/callback", map[string]any{"options": []string{"one", "two"}, "delay": 60})
		require.NoError(t, err)
		require.Positive(t, proc.ID)
		require.Equal(t, "pending", proc.Status)
		read, err := c.GetProcess(ctx, vote, proc.ID)
		require.NoError(t, err)
		require.Equal(t, proc.ID, read.ID)
		closed, err := c.CloseProcess(ctx, vote, proc.ID)
		require.NoError(t, err)
		require.True(t, closed.Completed())
		var outcome struct{ Winner string }
		require.NoError(t, closed.DecodeOutcome(&outcome))
		require.Contains(t, []string{"one", "two"}, outcome.Winner)
		waited, err := c.WaitProcess(ctx, vote, proc.ID, 10*time.Millisecond)
		require.NoError(t, err)
		require.Equal(t, closed.Sequence, waited.Sequence)
		_, err = c.CloseProcess(ctx, vote, proc.ID)
		require.True(t, client.IsStatus(err, http.StatusConflict), "%v", err)

		// The completed record reaches the receiver, verified.
		waitFor(t, "the callback", func() bool { n, _ := got.counts(); return n == 1 })
		require.Equal(t, closed.Sequence, got.processes[0].Sequence)
		require.Equal(t, "completed", got.processes[0].Status)

		// A webhook becomes an event for the receiver, and can be pulled.
		body := `{"type":"push","ref":"refs/heads/main"}`
		mac := hmac.New(sha256.New, []byte("shared-secret"))
		mac.Write([]byte(body))
		req, err := http.NewRequest(http.MethodPost, s.URL+hooks[0], strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		waitFor(t, "the event", func() bool { _, n := got.counts(); return n == 1 })
		ev := got.events[0]
		require.Equal(t, "push", ev.EventType)
		require.Equal(t, "webhook", ev.Initiator.Provider)
		require.Nil(t, ev.Initiator.UserID)
		pulled, next, err := c.Events(ctx, client.EventFilter{Community: "town"})
		require.NoError(t, err)
		require.Len(t, pulled, 1)
		require.JSONEq(t, string(ev.Data), string(pulled[0].Data), "PostgreSQL may reorder the keys")
		pulled[0].Data = ev.Data
		require.Equal(t, *ev, pulled[0])
		require.Equal(t, ev.ID, next)
		pulled, _, err = c.Events(ctx, client.EventFilter{Community: "town", After: next})
		require.NoError(t, err)
		require.Empty(t, pulled)

		// Deliveries: the callback, sent again with the same webhook-id, is
		// dropped by the receiver as a duplicate.
		waitFor(t, "the deliveries to succeed", func() bool {
			ds, _, err := c.Deliveries(ctx, client.DeliveryFilter{Community: "town", Status: "succeeded"})
			return err == nil && len(ds) == 2
		})
		callbacks, _, err := c.Deliveries(ctx, client.DeliveryFilter{Kind: "callback", Process: proc.ID})
		require.NoError(t, err)
		require.Len(t, callbacks, 1)
		again, err := c.Redeliver(ctx, callbacks[0].ID)
		require.NoError(t, err)
		require.Equal(t, callbacks[0].MessageID, again.MessageID)
		waitFor(t, "the redelivery", func() bool {
			d, err := c.Delivery(ctx, callbacks[0].ID)
			return err == nil && d.Status == "succeeded" && len(d.Attempts) == 2
		})
		processes, _ := got.counts()
		require.Equal(t, 1, processes, "the redelivered callback is a duplicate")

		entries, _, err := c.Audit(ctx, 0, 100)
		require.NoError(t, err)
		require.NotEmpty(t, entries)
		require.Equal(t, "town", entries[0].Community)

		// Once a key exists, calls need it, in the Authorization header.
		key, _, err := core.CreateAPIKey(ctx, s.App.Store(), "driver", nil)
		require.NoError(t, err)
		waitFor(t, "the key to take effect", func() bool {
			_, err := c.GetCommunity(ctx, "town")
			return client.IsStatus(err, http.StatusUnauthorized)
		})
		keyed, err := client.New(s.URL, client.WithAPIKey(key), client.WithCommunity("town"))
		require.NoError(t, err)
		_, err = keyed.GetCommunity(ctx, "town")
		require.NoError(t, err)

		require.NoError(t, keyed.DeleteCommunity(ctx, "town"))
		_, err = keyed.GetCommunity(ctx, "town")
		require.True(t, client.IsStatus(err, http.StatusNotFound), "%v", err)
	})
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8000", "ftp://host", "http://"} {
		_, err := client.New(u)
		require.Error(t, err, u)
	}
}
