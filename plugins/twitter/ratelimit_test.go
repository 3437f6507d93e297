package twitter_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/plugin"
	"github.com/metagov/metagov-go/plugin/plugintest"
	"github.com/metagov/metagov-go/plugins/twitter/twitterfake"
)

// sdkInstance drives one twitter instance through the SDK, as the gateway
// would, with a clock the test moves and the state kept in a map.
type sdkInstance struct {
	inst   plugin.Instance
	state  map[string]json.RawMessage
	now    time.Time
	events int
}

func newSDKInstance(t *testing.T, fake *twitterfake.Server) *sdkInstance {
	t.Helper()
	info, ok := plugintest.Lookup("twitter")
	require.True(t, ok)
	cfg, err := json.Marshal(config(fake, false))
	require.NoError(t, err)
	inst := info.New()
	s := &sdkInstance{inst: inst, state: map[string]json.RawMessage{}, now: time.Now()}
	require.NoError(t, inst.(plugin.Provisioner).Provision(context.Background(),
		plugin.Env{Config: cfg, HTTPClient: &http.Client{Timeout: 5 * time.Second}, Now: func() time.Time { return s.now }}))
	return s
}

// poll runs one Poll and commits its changes.
func (s *sdkInstance) poll(t *testing.T) {
	t.Helper()
	c := plugintest.NewCall(func(_ context.Context, key string) (json.RawMessage, bool, error) {
		v, ok := s.state[key]
		return v, ok, nil
	}, func() time.Time { return s.now })
	require.NoError(t, s.inst.(plugin.Poller).Poll(context.Background(), c))
	ch := plugintest.Changes(c)
	for k, v := range ch.State {
		s.state[k] = v
	}
	s.events += len(ch.Events)
}

// TestRateLimit: once X says the window is used up (remaining 0, or a
// 429), no poll calls it before x-rate-limit-reset; then polling resumes
// and nothing is lost.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	const timeline = "GET /2/users/{id}/tweets"
	fake := twitterfake.New(t, creds, me)
	reset := time.Now().Add(15 * time.Minute).Truncate(time.Second)
	fake.SetTimelineLimit(2, reset)
	x := newSDKInstance(t, fake)

	x.poll(t) // reads the account and where the timeline stands
	require.Equal(t, 1, fake.Requests(timeline))
	fake.Publish("one")
	x.poll(t) // the window's last request: remaining 0
	require.Equal(t, 2, fake.Requests(timeline))
	require.Equal(t, 1, x.events)
	require.JSONEq(t, jsonInt(reset.Unix()), string(x.state["rate_limited_until"]))

	fake.Publish("two")
	x.now = reset.Add(-time.Second)
	x.poll(t)
	require.Equal(t, 2, fake.Requests(timeline), "no call before the reset")
	require.Equal(t, 1, x.events)

	// Past the reset by the gateway's clock, but X still says 429 (its
	// window has not turned): the poll records X's reset and emits nothing.
	fake.SetTimelineLimit(1, reset.Add(time.Hour))
	fake.Publish("three") // the fake's limit starts afresh: use it up
	x.now = reset.Add(time.Second)
	x.poll(t)
	require.Equal(t, 3, fake.Requests(timeline))
	require.Equal(t, 3, x.events, "two and three")
	fake.Publish("four")
	x.now = reset.Add(2 * time.Second)
	x.state["rate_limited_until"] = json.RawMessage("0") // forget the wait, to reach X's 429
	x.poll(t)
	require.Equal(t, 4, fake.Requests(timeline))
	require.Equal(t, 3, x.events, "a 429 emits nothing")
	require.JSONEq(t, jsonInt(reset.Add(time.Hour).Unix()), string(x.state["rate_limited_until"]))

	fake.SetTimelineLimit(0, time.Time{})
	x.now = reset.Add(time.Hour + time.Second)
	x.poll(t)
	require.Equal(t, 4, x.events, "four arrives after the wait, once")
	x.poll(t)
	require.Equal(t, 4, x.events)
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
