package plugin_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/pluginrt"
	"github.com/metagov/metagov-go/plugin"
)

func newRecord(status plugin.Status) pluginrt.ProcessRecord {
	return pluginrt.ProcessRecord{
		ID:      12,
		Name:    "vote",
		Input:   json.RawMessage(`{"options": ["a", "b"], "delay": 5}`),
		Status:  status,
		Outcome: json.RawMessage(`{"votes": {"a": 1, "b": 2}, "winner": null}`),
		Errors:  json.RawMessage(`{}`),
		URL:     "https://vote.example/12",
		State:   map[string]json.RawMessage{"round": json.RawMessage(`1`), "voters": json.RawMessage(`["x"]`)},
	}
}

func TestProcessAccessors(t *testing.T) {
	t.Parallel()
	p := pluginrt.NewProcess(newRecord(plugin.StatusPending))
	require.Equal(t, int64(12), p.ID())
	require.Equal(t, "vote", p.Name())
	require.Equal(t, plugin.StatusPending, p.Status())
	require.Equal(t, "https://vote.example/12", p.URL())

	var in struct {
		Options []string `json:"options"`
		Delay   int      `json:"delay"`
	}
	require.NoError(t, p.DecodeInput(&in))
	require.Equal(t, []string{"a", "b"}, in.Options)
	require.Equal(t, 5, in.Delay)

	var out struct {
		Votes map[string]int `json:"votes"`
	}
	require.NoError(t, p.DecodeOutcome(&out))
	require.Equal(t, map[string]int{"a": 1, "b": 2}, out.Votes)

	var round int
	found, err := p.State().Get(context.Background(), "round", &round)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, 1, round)

	changes := pluginrt.ProcessChangesOf(p)
	require.False(t, changes.Changed, "reading changes nothing")
	require.False(t, changes.StateChanged)
	require.Empty(t, changes.Wakes)
}

func TestProcessDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		input   string
		wantErr bool
		want    int
	}{
		{name: "decodes", input: `{"delay": 9}`, want: 9},
		{name: "no input", input: ``, want: 0},
		{name: "not JSON", input: `{"delay":`, wantErr: true},
		{name: "wrong type", input: `{"delay": "soon"}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := pluginrt.NewProcess(pluginrt.ProcessRecord{Input: json.RawMessage(tc.input), Outcome: json.RawMessage(tc.input)})
			var in, out struct {
				Delay int `json:"delay"`
			}
			errIn, errOut := p.DecodeInput(&in), p.DecodeOutcome(&out)
			if tc.wantErr {
				require.ErrorContains(t, errIn, "decoding process input")
				require.ErrorContains(t, errOut, "decoding process outcome")
				return
			}
			require.NoError(t, errIn)
			require.NoError(t, errOut)
			require.Equal(t, tc.want, in.Delay)
			require.Equal(t, tc.want, out.Delay)
		})
	}
}

func TestProcessStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		from        plugin.Status
		steps       []plugin.Status
		want        plugin.Status
		wantChanged bool
	}{
		{name: "created to pending", from: plugin.StatusCreated, steps: []plugin.Status{plugin.StatusPending},
			want: plugin.StatusPending, wantChanged: true},
		{name: "pending to completed", from: plugin.StatusPending, steps: []plugin.Status{plugin.StatusCompleted},
			want: plugin.StatusCompleted, wantChanged: true},
		{name: "same status is no change", from: plugin.StatusPending, steps: []plugin.Status{plugin.StatusPending},
			want: plugin.StatusPending, wantChanged: false},
		{name: "completed stays completed", from: plugin.StatusCompleted,
			steps: []plugin.Status{plugin.StatusPending, plugin.StatusCreated}, want: plugin.StatusCompleted, wantChanged: false},
		{name: "cannot leave completed once reached", from: plugin.StatusPending,
			steps: []plugin.Status{plugin.StatusCompleted, plugin.StatusPending}, want: plugin.StatusCompleted, wantChanged: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := pluginrt.NewProcess(newRecord(tc.from))
			for _, s := range tc.steps {
				p.SetStatus(s)
			}
			require.Equal(t, tc.want, p.Status())
			changes := pluginrt.ProcessChangesOf(p)
			require.Equal(t, tc.want, changes.Record.Status)
			require.Equal(t, tc.wantChanged, changes.Changed)
		})
	}

	// The README: "Status goes created → pending → completed and never back."
	t.Run("pending cannot go back to created", func(t *testing.T) {
		t.Parallel()
		p := pluginrt.NewProcess(newRecord(plugin.StatusPending))
		p.SetStatus(plugin.StatusCreated)
		require.Equal(t, plugin.StatusPending, p.Status())
		require.False(t, pluginrt.ProcessChangesOf(p).Changed)
	})

	t.Run("complete", func(t *testing.T) {
		t.Parallel()
		p := pluginrt.NewProcess(newRecord(plugin.StatusPending))
		p.Complete()
		require.Equal(t, plugin.StatusCompleted, p.Status())
		require.True(t, pluginrt.ProcessChangesOf(p).Changed)
	})
}

func TestProcessSetOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		outcome     any
		wantChanged bool
	}{
		{name: "same value re-encoded", outcome: map[string]any{"winner": nil, "votes": map[string]int{"b": 2, "a": 1}}},
		{name: "same value, other key order and spacing",
			outcome: json.RawMessage("{ \"winner\" : null,\n\t\"votes\": {\"b\": 2.0, \"a\": 1} }")},
		{name: "different value", outcome: map[string]any{"winner": "b", "votes": map[string]int{"a": 1, "b": 2}},
			wantChanged: true},
		{name: "missing key", outcome: map[string]any{"votes": map[string]int{"a": 1, "b": 2}}, wantChanged: true},
		{name: "number changed", outcome: map[string]any{"winner": nil, "votes": map[string]int{"a": 1, "b": 3}},
			wantChanged: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := pluginrt.NewProcess(newRecord(plugin.StatusPending))
			require.NoError(t, p.SetOutcome(tc.outcome))
			changes := pluginrt.ProcessChangesOf(p)
			require.Equal(t, tc.wantChanged, changes.Changed)
			want, err := json.Marshal(tc.outcome)
			require.NoError(t, err)
			require.JSONEq(t, string(want), string(changes.Record.Outcome))
		})
	}

	t.Run("value that is not JSON", func(t *testing.T) {
		t.Parallel()
		p := pluginrt.NewProcess(newRecord(plugin.StatusPending))
		require.ErrorContains(t, p.SetOutcome(func() {}), "encoding process outcome")
		require.False(t, pluginrt.ProcessChangesOf(p).Changed)
	})
}

func TestProcessSetErrorsAndURL(t *testing.T) {
	t.Parallel()
	p := pluginrt.NewProcess(newRecord(plugin.StatusPending))
	require.NoError(t, p.SetErrors(map[string]any{}))
	p.SetURL("https://vote.example/12")
	require.False(t, pluginrt.ProcessChangesOf(p).Changed, "setting the same errors and url is no change")

	require.NoError(t, p.SetErrors(map[string]string{"text": "platform refused"}))
	changes := pluginrt.ProcessChangesOf(p)
	require.True(t, changes.Changed)
	require.JSONEq(t, `{"text": "platform refused"}`, string(changes.Record.Errors))
	require.ErrorContains(t, p.SetErrors(make(chan int)), "encoding process errors")

	q := pluginrt.NewProcess(newRecord(plugin.StatusPending))
	q.SetURL("https://vote.example/new")
	require.Equal(t, "https://vote.example/new", q.URL())
	require.True(t, pluginrt.ProcessChangesOf(q).Changed)
	require.Equal(t, "https://vote.example/new", pluginrt.ProcessChangesOf(q).Record.URL)
}

func TestProcessWakeAt(t *testing.T) {
	t.Parallel()
	p := pluginrt.NewProcess(newRecord(plugin.StatusPending))
	t1 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(-time.Hour)
	p.WakeAt(t1)
	p.WakeAt(t2)
	changes := pluginrt.ProcessChangesOf(p)
	require.Equal(t, []time.Time{t1, t2}, changes.Wakes)
	require.False(t, changes.Changed, "a wake-up alone does not change the record")

	changes.Wakes[0] = time.Time{}
	require.Equal(t, []time.Time{t1, t2}, pluginrt.ProcessChangesOf(p).Wakes, "Changes returns a copy")
}

func TestProcessStateChanges(t *testing.T) {
	t.Parallel()
	rec := newRecord(plugin.StatusPending)
	p := pluginrt.NewProcess(rec)
	st := p.State()
	require.NoError(t, st.Set("round", 2))
	require.NoError(t, st.Set("deadline", "tomorrow"))
	st.Delete("voters")

	var voters []string
	found, err := st.Get(context.Background(), "voters", &voters)
	require.NoError(t, err)
	require.False(t, found, "the process sees its own delete")

	changes := pluginrt.ProcessChangesOf(p)
	require.True(t, changes.StateChanged)
	require.False(t, changes.Changed, "state alone is not a change of the record")
	require.Len(t, changes.Record.State, 2)
	require.JSONEq(t, `2`, string(changes.Record.State["round"]))
	require.JSONEq(t, `"tomorrow"`, string(changes.Record.State["deadline"]))
	require.NotContains(t, changes.Record.State, "voters")

	// The stored record is not modified.
	require.Len(t, rec.State, 2)
	require.JSONEq(t, `1`, string(rec.State["round"]))
	require.Contains(t, rec.State, "voters")

	t.Run("nil stored state", func(t *testing.T) {
		t.Parallel()
		p := pluginrt.NewProcess(pluginrt.ProcessRecord{ID: 1})
		require.NotNil(t, pluginrt.ProcessChangesOf(p).Record.State, "state is an empty map, not nil")
		require.NoError(t, p.State().Set("k", true))
		require.Equal(t, map[string]json.RawMessage{"k": json.RawMessage(`true`)}, pluginrt.ProcessChangesOf(p).Record.State)
	})
}
