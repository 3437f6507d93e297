package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/pluginrt"
	"github.com/metagov/metagov-go/plugin"
)

// storedState is a StateLoaderFunc over a map, counting its loads.
type storedState struct {
	values map[string]json.RawMessage
	loads  int
	err    error
}

func (s *storedState) load(_ context.Context, key string) (json.RawMessage, bool, error) {
	s.loads++
	if s.err != nil {
		return nil, false, s.err
	}
	v, ok := s.values[key]
	return v, ok, nil
}

func TestCallState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	type bundle struct {
		stored *storedState
		call   *plugin.Call
	}
	setup := func(t *testing.T) *bundle {
		t.Helper()
		stored := &storedState{values: map[string]json.RawMessage{
			"lucky":   json.RawMessage(`7`),
			"profile": json.RawMessage(`{"name": "alice", "tags": ["a", "b"]}`),
			"broken":  json.RawMessage(`{not json`),
		}}
		return &bundle{stored: stored, call: pluginrt.NewCall(stored.load, nil, nil)}
	}

	t.Run("reads stored values", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var profile struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}
		found, err := b.call.State().Get(ctx, "profile", &profile)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, "alice", profile.Name)
		require.Equal(t, []string{"a", "b"}, profile.Tags)

		var missing int
		found, err = b.call.State().Get(ctx, "missing", &missing)
		require.NoError(t, err)
		require.False(t, found)
		require.Empty(t, pluginrt.Changes(b.call).State, "reads change nothing")
	})

	t.Run("sees its own writes", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		st := b.call.State()
		require.NoError(t, st.Set("lucky", 42))
		require.NoError(t, st.Set("fresh", map[string]any{"x": []int{1, 2}}))

		var lucky int
		found, err := st.Get(ctx, "lucky", &lucky)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, 42, lucky, "a write hides the stored value")

		var fresh struct {
			X []int `json:"x"`
		}
		found, err = st.Get(ctx, "fresh", &fresh)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, []int{1, 2}, fresh.X)

		// Overwriting again keeps the last value.
		require.NoError(t, st.Set("lucky", 43))
		_, err = st.Get(ctx, "lucky", &lucky)
		require.NoError(t, err)
		require.Equal(t, 43, lucky)
	})

	t.Run("sees its own deletes", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		st := b.call.State()
		st.Delete("lucky")
		var lucky int
		found, err := st.Get(ctx, "lucky", &lucky)
		require.NoError(t, err)
		require.False(t, found, "a deleted key is gone even though it is stored")

		// Set after Delete brings it back.
		require.NoError(t, st.Set("lucky", 1))
		found, err = st.Get(ctx, "lucky", &lucky)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, 1, lucky)
	})

	t.Run("changes report sets and deletes", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		st := b.call.State()
		require.NoError(t, st.Set("lucky", 8))
		require.NoError(t, st.Set("new", "value"))
		st.Delete("profile")
		st.Delete("never-stored")

		changes := pluginrt.Changes(b.call).State
		require.Len(t, changes, 4)
		require.JSONEq(t, `8`, string(changes["lucky"]))
		require.JSONEq(t, `"value"`, string(changes["new"]))
		require.Contains(t, changes, "profile")
		require.Nil(t, changes["profile"], "a delete is reported as nil")
		require.Contains(t, changes, "never-stored")
		require.Nil(t, changes["never-stored"])

		// The reported map is a snapshot.
		require.NoError(t, st.Set("later", true))
		require.NotContains(t, changes, "later")
		require.Contains(t, pluginrt.Changes(b.call).State, "later")
	})

	t.Run("set rejects values that are not JSON", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		err := b.call.State().Set("fn", func() {})
		require.ErrorContains(t, err, `encoding state "fn"`)
		require.NotContains(t, pluginrt.Changes(b.call).State, "fn")
	})

	t.Run("undecodable stored value is an error", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var v map[string]any
		_, err := b.call.State().Get(ctx, "broken", &v)
		require.ErrorContains(t, err, `decoding state "broken"`)

		var wrongType string
		_, err = b.call.State().Get(ctx, "profile", &wrongType)
		require.Error(t, err)
	})

	t.Run("loader errors are returned", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("database is down")
		stored := &storedState{err: boom}
		call := pluginrt.NewCall(stored.load, nil, nil)
		var v int
		_, err := call.State().Get(ctx, "lucky", &v)
		require.ErrorIs(t, err, boom)

		// A written key does not need the loader.
		require.NoError(t, call.State().Set("lucky", 3))
		found, err := call.State().Get(ctx, "lucky", &v)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, 3, v)
	})

	t.Run("nil loader has no stored values", func(t *testing.T) {
		t.Parallel()
		call := pluginrt.NewCall(nil, nil, nil)
		var v int
		found, err := call.State().Get(ctx, "anything", &v)
		require.NoError(t, err)
		require.False(t, found)
	})
}

func TestCallEmit(t *testing.T) {
	t.Parallel()
	alice := &plugin.Initiator{UserID: "u1", Provider: "slack", UserName: "Alice"}
	tests := []struct {
		name     string
		event    plugin.Event
		wantErr  string
		wantData string
	}{
		{name: "struct data", event: plugin.Event{Type: "post_created", Data: struct {
			ID    int    `json:"id"`
			Title string `json:"title"`
		}{ID: 3, Title: "Hi"}, Initiator: alice}, wantData: `{"id":3,"title":"Hi"}`},
		{name: "raw JSON data", event: plugin.Event{Type: "push", Data: json.RawMessage(`{"ref": "main"}`)},
			wantData: `{"ref":"main"}`},
		{name: "nil data is an empty object", event: plugin.Event{Type: "ping"}, wantData: `{}`},
		{name: "empty type", event: plugin.Event{Data: map[string]any{"a": 1}}, wantErr: "empty event type"},
		{name: "data that is not JSON", event: plugin.Event{Type: "bad", Data: make(chan int)}, wantErr: `event "bad"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			call := pluginrt.NewCall(nil, nil, nil)
			err := call.Emit(tc.event)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.Empty(t, pluginrt.Changes(call).Events, "a rejected event is not queued")
				return
			}
			require.NoError(t, err)
			events := pluginrt.Changes(call).Events
			require.Len(t, events, 1)
			require.Equal(t, tc.event.Type, events[0].Type)
			require.JSONEq(t, tc.wantData, string(events[0].Data))
			require.Equal(t, tc.event.Initiator, events[0].Initiator)
		})
	}

	t.Run("events keep their order", func(t *testing.T) {
		t.Parallel()
		call := pluginrt.NewCall(nil, nil, nil)
		for _, typ := range []string{"first", "second", "third"} {
			require.NoError(t, call.Emit(plugin.Event{Type: typ}))
		}
		var got []string
		for _, e := range pluginrt.Changes(call).Events {
			got = append(got, e.Type)
		}
		require.Equal(t, []string{"first", "second", "third"}, got)
	})
}

func TestCallNow(t *testing.T) {
	t.Parallel()
	fixed := time.Date(2024, 4, 1, 12, 0, 0, 0, time.UTC)
	require.Equal(t, fixed, pluginrt.NewCall(nil, nil, func() time.Time { return fixed }).Now())

	before := time.Now()
	got := pluginrt.NewCall(nil, nil, nil).Now()
	require.False(t, got.Before(before), "a nil clock is the wall clock")
	require.WithinDuration(t, time.Now(), got, time.Minute)
}

func TestEnvDecodeConfig(t *testing.T) {
	t.Parallel()
	type config struct {
		Sides int `json:"sides"`
	}
	tests := []struct {
		name    string
		config  string
		want    config
		wantErr bool
	}{
		{name: "decodes", config: `{"sides": 20}`, want: config{Sides: 20}},
		{name: "empty config leaves zero", config: ``, want: config{}},
		{name: "wrong type", config: `{"sides": "six"}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got config
			err := plugin.Env{Config: json.RawMessage(tc.config)}.DecodeConfig(&got)
			if tc.wantErr {
				require.ErrorContains(t, err, "decoding plugin config")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestIdentityLinkIsBufferedInChanges(t *testing.T) {
	t.Parallel()
	c := pluginrt.NewCall(nil, nil, nil)
	ctx := context.Background()
	require.NoError(t, c.Identity().Link(ctx, plugin.Account{
		PlatformIdentifier: "U1", LinkType: plugin.LinkTypeOAuth, LinkQuality: plugin.LinkQualityConfirmedStrong,
	}))
	require.NoError(t, c.Identity().Link(ctx, plugin.Account{PlatformIdentifier: "U2", ExternalID: 7}))
	links := pluginrt.Changes(c).Links
	require.Len(t, links, 2)
	require.Equal(t, "U1", links[0].PlatformIdentifier)
	require.Equal(t, plugin.LinkQualityConfirmedStrong, links[0].LinkQuality)
	require.Equal(t, int64(7), links[1].ExternalID)
}

func TestIdentityLinkRefusesBadAccounts(t *testing.T) {
	t.Parallel()
	for name, a := range map[string]plugin.Account{
		"empty identifier": {},
		"unknown type":     {PlatformIdentifier: "U1", LinkType: "magic"},
		"unknown quality":  {PlatformIdentifier: "U1", LinkQuality: "certain"},
		"negative id":      {PlatformIdentifier: "U1", ExternalID: -1},
	} {
		c := pluginrt.NewCall(nil, nil, nil)
		require.Error(t, c.Identity().Link(context.Background(), a), name)
		require.Empty(t, pluginrt.Changes(c).Links, name)
	}
}

func TestLinkQualityRankOrdersWeakestFirst(t *testing.T) {
	t.Parallel()
	order := []string{plugin.LinkQualityUnknown, plugin.LinkQualityUnconfirmed, plugin.LinkQualityConfirmedWeak,
		plugin.LinkQualityConfirmedStrong}
	for i, q := range order {
		require.Equal(t, i, pluginrt.LinkQualityRank(q), q)
	}
	require.Equal(t, 0, pluginrt.LinkQualityRank(""))
	require.Equal(t, -1, pluginrt.LinkQualityRank("sure"))
}
