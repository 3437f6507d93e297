package vote_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugins/vote"
	"github.com/metagov/metagov-go/plugins/vote/tally"
)

const community = "town"

var header = []string{"X-Metagov-Community", community}

func start(t *testing.T, db apptest.Database, cfg app.Config) *apptest.Server {
	t.Helper()
	s := apptest.Start(t, db, cfg)
	r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{{"name": "vote"}}})
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		t.Fatalf("enabling vote: %d %s", r.Status, r.Body)
	}
	return s
}

func cast(s *apptest.Server, id float64, voter string, ballot any) apptest.Response {
	return s.Do("POST", "/api/internal/action/vote.cast",
		map[string]any{"parameters": map[string]any{"process_id": id, "voter": voter, "ballot": ballot}}, header...)
}

// waitCompleted waits for the callback of the completed process and
// returns it, checking that the callbacks came in sequence order.
func waitCompleted(t *testing.T, rcv *apptest.Receiver) map[string]any {
	t.Helper()
	var last map[string]any
	require.Eventually(t, func() bool {
		got := rcv.All()
		if len(got) == 0 {
			return false
		}
		return json.Unmarshal(got[len(got)-1].Body, &last) == nil && last["status"] == "completed"
	}, 20*time.Second, 20*time.Millisecond)
	prev := 0.0
	for _, g := range rcv.All() {
		var body map[string]any
		require.NoError(t, json.Unmarshal(g.Body, &body))
		require.Greater(t, body["sequence"].(float64), prev, "callbacks in sequence order")
		prev = body["sequence"].(float64)
	}
	return last
}

func requireField(t *testing.T, r apptest.Response, status int, field string) {
	t.Helper()
	require.Equal(t, status, r.Status, string(r.Body))
	require.Equal(t, field, r.JSON(t)["field"], string(r.Body))
}

// TestFullVote: start, ballots from several voters including a change, an
// ineligible voter and a bad ballot, early close when decided, callbacks in
// sequence, the record after close, and a recount of the export.
func TestFullVote(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		rcv := apptest.NewReceiver(t)
		s := start(t, db, app.Config{})
		r := s.Do("POST", "/api/internal/process/vote.poll", map[string]any{
			"callback_url": rcv.URL, "title": "Where do we meet?", "method": "single-choice",
			"options": []string{"lunch", "dinner", "none"}, "eligible": []string{"ana", "ben", "cy"},
			"close_early": true, "duration_minutes": 60,
		}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc := r.Header.Get("Location")
		rec := r.JSON(t)
		id := rec["id"].(float64)
		require.Equal(t, "pending", rec["status"])

		r = cast(s, id, "ana", "lunch")
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.JSONEq(t, fmt.Sprintf(`{"process_id": %v, "voter": "ana", "revision": 0, "status": "pending"}`, id), string(r.Body))
		require.Equal(t, http.StatusOK, cast(s, id, "ben", "dinner").Status)
		requireField(t, cast(s, id, "dave", "lunch"), http.StatusBadRequest, "/voter")
		requireField(t, cast(s, id, "cy", "pizza"), http.StatusBadRequest, "/ballot")
		requireField(t, cast(s, id, "cy", []string{"lunch"}), http.StatusBadRequest, "/ballot")
		// ben changes his mind: lunch has two of three eligible votes, so the
		// result can no longer change and the vote closes early.
		r = cast(s, id, "ben", "lunch")
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, 1.0, r.JSON(t)["revision"])
		require.Equal(t, "completed", r.JSON(t)["status"])
		requireField(t, cast(s, id, "cy", "dinner"), http.StatusBadRequest, "/process_id")

		// Callbacks come one at a time, in order; changes made while one
		// is on its way are coalesced into the next, and the last is the
		// final record.
		last := waitCompleted(t, rcv)
		require.Equal(t, 4.0, last["sequence"])
		rec = s.Do("GET", loc, nil).JSON(t)
		require.Equal(t, "completed", rec["status"])
		out := rec["outcome"].(map[string]any)
		require.Equal(t, []any{"lunch"}, out["winners"])
		require.Equal(t, map[string]any{"count": 2.0, "users": []any{"ana", "ben"}}, out["votes"].(map[string]any)["lunch"])
		require.NotEmpty(t, out["digest"])
		require.Equal(t, last["outcome"], rec["outcome"])

		r = s.Do("POST", "/api/internal/action/vote.export", map[string]any{"parameters": map[string]any{"process_id": id}}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var record tally.Record
		require.NoError(t, json.Unmarshal(r.Body, &record))
		require.NoError(t, tally.Verify(record))
		require.Equal(t, out["digest"], record.Digest)
		require.Len(t, record.Ballots, 2)

		// The same record from GET ?include=ballots, as `metagov tally` reads it.
		r = s.Do("GET", loc+"?include=ballots", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var fromGet tally.Record
		require.NoError(t, json.Unmarshal(r.Body, &fromGet))
		require.NoError(t, tally.Verify(fromGet))
		require.Equal(t, "completed", r.JSON(t)["status"])
		require.Equal(t, http.StatusBadRequest, s.Do("GET", loc+"?include=everything", nil).Status)
	})
}

// TestConsentAnonymousClosedByDriver: a block fails a consent proposal, an
// anonymous outcome names nobody, and DELETE closes the vote.
func TestConsentAnonymousClosedByDriver(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := start(t, db, app.Config{})
		r := s.Do("POST", "/api/internal/process/vote.poll", map[string]any{
			"method": "consent", "anonymous": true, "duration_minutes": 60, "allow_change": false,
		}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		id := r.JSON(t)["id"].(float64)
		for voter, stance := range map[string]string{"a": "agree", "b": "agree", "c": "block"} {
			require.Equal(t, http.StatusOK, cast(s, id, voter, stance).Status)
		}
		requireField(t, cast(s, id, "a", "disagree"), http.StatusBadRequest, "/voter")
		r = s.Do("DELETE", r.Header.Get("Location"), nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		out := r.JSON(t)["outcome"].(map[string]any)
		require.Equal(t, false, out["passed"], "a block fails the proposal")
		require.Equal(t, map[string]any{"count": 2.0}, out["votes"].(map[string]any)["agree"], "anonymous: no users")
		require.NotContains(t, string(r.Body), `"c"`)
	})
}

// TestVoteClosesByTimer: the deadline is a durable timer; a closing_soon
// event goes out before it.
func TestVoteClosesByTimer(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		events := apptest.NewReceiver(t)
		cb := apptest.NewReceiver(t)
		s := start(t, db, app.Config{EventReceiverURL: events.URL})
		r := s.Do("POST", "/api/internal/process/vote.poll", map[string]any{
			"method": "approval", "options": []string{"x", "y"}, "duration_minutes": 10, "closing_soon_minutes": 5,
			"callback_url": cb.URL, "title": "Pick",
		}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc := r.Header.Get("Location")
		id := r.JSON(t)["id"].(float64)
		require.Equal(t, http.StatusOK, cast(s, id, "a", []string{"x", "y"}).Status)
		require.Equal(t, http.StatusOK, cast(s, id, "b", []string{"y"}).Status)
		s.Stop()

		// Six minutes later: closing soon, not closed.
		soon := start(t, db, app.Config{EventReceiverURL: events.URL, Now: func() time.Time { return time.Now().Add(6 * time.Minute) }})
		var ev map[string]any
		require.NoError(t, json.Unmarshal(events.WaitFor(t, 1, 20*time.Second)[0].Body, &ev))
		require.Equal(t, "closing_soon", ev["event_type"])
		require.Equal(t, "pending", soon.Do("GET", loc, nil).JSON(t)["status"])
		soon.Stop()

		// Eleven minutes later: closed by its timer.
		later := start(t, db, app.Config{Now: func() time.Time { return time.Now().Add(11 * time.Minute) }})
		require.Eventually(t, func() bool { return later.Do("GET", loc, nil).JSON(t)["status"] == "completed" },
			20*time.Second, 100*time.Millisecond)
		out := later.Do("GET", loc, nil).JSON(t)["outcome"].(map[string]any)
		require.Equal(t, []any{"y"}, out["winners"])
		require.Len(t, events.All(), 1, "closing_soon is sent once")
	})
}

// TestBadRules: rules the tally refuses are a 400 naming the field.
func TestBadRules(t *testing.T) {
	s := start(t, apptest.SQLite(t), app.Config{})
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no deadline", map[string]any{"method": "approval", "options": []string{"x", "y"}}, "/closing_at"},
		{"deadline passed", map[string]any{"method": "approval", "options": []string{"x", "y"}, "closing_at": "2001-01-01T00:00:00Z"}, "/closing_at"},
		{"close early without voters", map[string]any{"method": "approval", "options": []string{"x", "y"}, "duration_minutes": 5, "close_early": true}, "/close_early"},
		{"one option", map[string]any{"method": "approval", "options": []string{"x"}, "duration_minutes": 5}, "/options"},
		{"unknown method", map[string]any{"method": "lottery", "duration_minutes": 5}, "/method"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			requireField(t, s.Do("POST", "/api/internal/process/vote.poll", tc.body, header...), http.StatusBadRequest, tc.field)
		})
	}
}

// TestCallbacksCoalesced: while a callback is on its way to a slow driver,
// the changes that follow are coalesced into one callback, which carries
// the final record; nothing in between is sent.
func TestCallbacksCoalesced(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		rcv := apptest.NewReceiver(t)
		// The first callback is held until every change is made, however
		// long they take (a fixed delay let a slow run send a second one
		// in between); a failed test still lets it go before the receiver
		// closes.
		held := make(chan struct{})
		var release sync.Once
		let := func() { release.Do(func() { close(held) }) }
		rcv.Delay = func(n int) time.Duration {
			if n == 0 {
				<-held
			}
			return 0
		}
		s := start(t, db, app.Config{})
		t.Cleanup(let) // before the gateway stops, its delivery in flight
		r := s.Do("POST", "/api/internal/process/vote.poll", map[string]any{
			"callback_url": rcv.URL, "method": "approval", "options": []string{"x", "y"}, "duration_minutes": 60,
		}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		id := r.JSON(t)["id"].(float64)
		require.Equal(t, http.StatusOK, cast(s, id, "v0", []string{"x"}).Status)
		rcv.WaitFor(t, 1, 10*time.Second) // the first callback is in flight
		for i := 1; i <= 20; i++ {
			require.Equal(t, http.StatusOK, cast(s, id, fmt.Sprintf("v%d", i), []string{"y"}).Status)
		}
		r = s.Do("DELETE", r.Header.Get("Location"), nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		final := r.JSON(t)
		let()

		last := waitCompleted(t, rcv)
		require.Len(t, rcv.All(), 2, "the first callback, then one with the final record")
		require.Equal(t, final["sequence"], last["sequence"])
		require.Equal(t, final["outcome"], last["outcome"])
		require.Equal(t, 20.0, last["outcome"].(map[string]any)["totals"].(map[string]any)["y"])
	})
}

// TestRunningCountMatchesClose: the outcome published while the vote is
// open (from the running count, with users lists bounded) is the one the
// close recounts from the ballots; the export names every voter.
func TestRunningCountMatchesClose(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := start(t, db, app.Config{})
		r := s.Do("POST", "/api/internal/process/vote.poll", map[string]any{
			"method": "score", "options": []string{"x", "y", "z"}, "score_max": 3, "duration_minutes": 60,
			"threshold": map[string]any{"share": 0.4},
		}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc := r.Header.Get("Location")
		id := r.JSON(t)["id"].(float64)
		for i := range 200 {
			require.Equal(t, http.StatusOK, cast(s, id, fmt.Sprintf("v%03d", i), map[string]int{"x": i % 4, "y": 3 - i%4}).Status)
		}
		for i := range 20 { // changed ballots, some leaving full users lists
			require.Equal(t, http.StatusOK, cast(s, id, fmt.Sprintf("v%03d", i*3), map[string]int{"z": 3}).Status)
		}
		open := s.Do("GET", loc, nil).JSON(t)["outcome"].(map[string]any)
		x := open["votes"].(map[string]any)["x"].(map[string]any)
		require.Len(t, x["users"], tally.UsersLimit)
		require.Equal(t, "v001", x["users"].([]any)[0], "the first voters by id")
		require.Positive(t, x["users_truncated"])

		r = s.Do("DELETE", loc, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		closed := r.JSON(t)["outcome"].(map[string]any)
		require.NotEmpty(t, closed["digest"])
		delete(closed, "digest")
		require.Equal(t, open, closed, "the running count is the recount")

		r = s.Do("POST", "/api/internal/action/vote.export", map[string]any{"parameters": map[string]any{"process_id": id}}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var record tally.Record
		require.NoError(t, json.Unmarshal(r.Body, &record))
		require.NoError(t, tally.Verify(record))
		require.Len(t, record.Ballots, 200)

		// The full users lists, a page of ballots at a time.
		export := func(params map[string]any) apptest.Response {
			params["process_id"] = id
			return s.Do("POST", "/api/internal/action/vote.export", map[string]any{"parameters": params}, header...)
		}
		var voters []string
		after, pages := "", 0
		for {
			r := export(map[string]any{"limit": 90, "after": after})
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			var page struct {
				Ballots []tally.Ballot
				Next    string
			}
			require.NoError(t, json.Unmarshal(r.Body, &page))
			pages++
			for _, b := range page.Ballots {
				voters = append(voters, b.Voter)
			}
			if page.Next == "" {
				break
			}
			require.Len(t, page.Ballots, 90)
			require.Equal(t, voters[len(voters)-1], page.Next)
			after = page.Next
		}
		require.Equal(t, 3, pages)
		require.Len(t, voters, 200)
		require.True(t, slices.IsSorted(voters), "by voter id")
		require.Equal(t, voters, slices.Compact(slices.Clone(voters)), "each voter once")
		requireField(t, export(map[string]any{"after": "v010"}), http.StatusBadRequest, "/after")
		requireField(t, export(map[string]any{"limit": 0}), http.StatusBadRequest, "/limit")
		requireField(t, export(map[string]any{"limit": 10_001}), http.StatusBadRequest, "/limit")
	})
}

// TestRankedChoiceCountedByTimer: a ranked-choice vote publishes its last
// full count with the ballots pending since, and a timer counts them soon
// after; the close counts everything.
func TestRankedChoiceCountedByTimer(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := start(t, db, app.Config{})
		r := s.Do("POST", "/api/internal/process/vote.poll", map[string]any{
			"method": "ranked-choice", "options": []string{"a", "b", "c"}, "duration_minutes": 60,
		}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc := r.Header.Get("Location")
		id := r.JSON(t)["id"].(float64)
		for voter, ranking := range map[string][]string{"v1": {"a", "b"}, "v2": {"b", "a"}, "v3": {"c", "b"}} {
			require.Equal(t, http.StatusOK, cast(s, id, voter, ranking).Status)
		}
		out := s.Do("GET", loc, nil).JSON(t)["outcome"].(map[string]any)
		require.Equal(t, 3.0, out["participation"].(map[string]any)["voted"].(float64)+out["pending"].(float64),
			"counted or pending: %v", out)
		require.Eventually(t, func() bool {
			out = s.Do("GET", loc, nil).JSON(t)["outcome"].(map[string]any)
			return out["pending"] == nil
		}, 20*time.Second, 50*time.Millisecond, "counted by its timer")
		require.Equal(t, 3.0, out["participation"].(map[string]any)["voted"])
		require.Equal(t, []any{"b"}, out["winners"], "c goes, and v3's ballot moves to b")

		require.Equal(t, http.StatusOK, cast(s, id, "v4", []string{"a"}).Status)
		r = s.Do("DELETE", loc, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		out = r.JSON(t)["outcome"].(map[string]any)
		require.Nil(t, out["pending"])
		require.Equal(t, 4.0, out["participation"].(map[string]any)["voted"])
	})
}

// TestBallotsStoredByEarlierVersions: ballots stored as tally.Ballot objects
// (before the compact form) still count, can be changed (the revision goes
// on from theirs) and are exported as they were cast, on both databases
// (PostgreSQL keeps values as jsonb, spaces and all).
func TestBallotsStoredByEarlierVersions(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := start(t, db, app.Config{})
		r := s.Do("POST", "/api/internal/process/vote.poll", map[string]any{
			"method": "ranked-choice", "options": []string{"x", "y", "z"}, "duration_minutes": 60,
		}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc := r.Header.Get("Location")
		id := r.JSON(t)["id"].(float64)
		ctx := t.Context()
		st := s.App.Store()
		p, err := st.ProcessGetByID(ctx, int64(id))
		require.NoError(t, err)
		at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
		old := map[string]string{
			"ana": `{"voter": "ana", "choice": ["y", "x"], "revision": 2, "cast_at": "2026-01-02T03:04:05.000000006Z"}`,
			"ben": `{"voter": "ben", "choice": ["y"]}`,
			"cy":  `{"voter": "cy", "choice": ["z", "x"], "cast_at": "2026-01-02T03:04:05.000000006Z"}`,
		}
		var state map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(p.State, &state))
		require.Contains(t, state, "paged")
		delete(state, "paged") // as an earlier version started it
		unpaged, err := json.Marshal(state)
		require.NoError(t, err)
		require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error {
			for voter, v := range old {
				if err := tx.PluginStatePut(ctx, p.InstanceID, fmt.Sprintf("ballot/%d/%s", int64(id), voter), json.RawMessage(v)); err != nil {
					return err
				}
			}
			_, err := tx.SQL().ExecContext(ctx, `UPDATE processes SET state = $1 WHERE id = $2`, string(unpaged), int64(id))
			return err
		}))
		r = s.Do("GET", loc+"?include=ballots", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Len(t, r.JSON(t)["ballots"], 3, "read where they are before a cast moves them")
		r = cast(s, id, "cy", []string{"x"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, 1.0, r.JSON(t)["revision"], "cy changes the ballot stored the old way")
		// The cast moved the old ballots into a page, once.
		kept, err := st.PluginStateList(ctx, p.InstanceID, "ballot", time.Now())
		require.NoError(t, err)
		require.Equal(t, []string{fmt.Sprintf("ballots/%d/", int64(id))}, slices.Sorted(maps.Keys(kept)))
		r = cast(s, id, "dee", []string{"x", "z"})
		require.Equal(t, 0.0, r.JSON(t)["revision"])

		r = s.Do("DELETE", loc, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		out := r.JSON(t)["outcome"].(map[string]any)
		require.Equal(t, 4.0, out["participation"].(map[string]any)["voted"])
		require.Equal(t, []any{"x"}, out["winners"], "x and y tie 2 to 2 once z is out; option order keeps x")

		r = s.Do("GET", loc+"?include=ballots", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var record tally.Record
		require.NoError(t, json.Unmarshal(r.Body, &record))
		require.NoError(t, tally.Verify(record))
		require.Equal(t, out["digest"], record.Digest)
		require.Equal(t, []string{"ana", "ben", "cy", "dee"}, []string{record.Ballots[0].Voter, record.Ballots[1].Voter, record.Ballots[2].Voter, record.Ballots[3].Voter})
		require.Equal(t, 2, record.Ballots[0].Revision)
		require.True(t, at.Equal(record.Ballots[0].CastAt), "cast at %s", record.Ballots[0].CastAt)
		require.JSONEq(t, `["y","x"]`, string(record.Ballots[0].Choice))
		require.True(t, record.Ballots[1].CastAt.IsZero())
		require.JSONEq(t, `["x"]`, string(record.Ballots[2].Choice))
		require.False(t, record.Ballots[3].CastAt.IsZero())
	})
}

// TestEligibilityAndWeights: with a long eligible list and weights, a
// cast is refused for a voter not on the list (400, /voter) and counted
// with the voter's weight otherwise, changes included; participation and
// the quorum share count the list; the running count is the close's
// recount; and where anyone may vote, listed weights still apply. A poll
// started before the lists were kept apart (full rules in its state) works
// the same.
func TestEligibilityAndWeights(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := start(t, db, app.Config{})
		eligible := make([]string, 2000)
		for i := range eligible {
			eligible[i] = fmt.Sprintf("e%04d", i)
		}
		for _, oldStyle := range []bool{false, true} {
			r := s.Do("POST", "/api/internal/process/vote.poll", map[string]any{
				"method": "single-choice", "options": []string{"x", "y"}, "duration_minutes": 60,
				"eligible": eligible, "weights": map[string]any{"e0001": 5, "e0002": 0, "outsider": 7},
				"quorum": map[string]any{"share": 0.002}, "anonymous": true,
			}, header...)
			require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
			loc := r.Header.Get("Location")
			id := r.JSON(t)["id"].(float64)
			if oldStyle { // as a poll started by the previous version keeps its state
				ctx := t.Context()
				p, err := s.App.Store().ProcessGetByID(ctx, int64(id))
				require.NoError(t, err)
				var state map[string]json.RawMessage
				require.NoError(t, json.Unmarshal(p.State, &state))
				var rules tally.Rules
				require.NoError(t, json.Unmarshal(p.Input, &rules))
				state["rules"], err = json.Marshal(rules)
				require.NoError(t, err)
				delete(state, "electorate")
				raw, err := json.Marshal(state)
				require.NoError(t, err)
				require.NoError(t, s.App.Store().InTx(ctx, func(tx *store.Tx) error {
					_, err := tx.SQL().ExecContext(ctx, `UPDATE processes SET state = $1 WHERE id = $2`, string(raw), int64(id))
					return err
				}))
			}
			requireField(t, cast(s, id, "outsider", "x"), http.StatusBadRequest, "/voter")
			requireField(t, cast(s, id, "e2000", "x"), http.StatusBadRequest, "/voter")
			require.Equal(t, http.StatusOK, cast(s, id, "e0001", "y").Status)
			require.Equal(t, http.StatusOK, cast(s, id, "e0002", "y").Status)
			require.Equal(t, http.StatusOK, cast(s, id, "e0003", "x").Status)
			require.Equal(t, http.StatusOK, cast(s, id, "e1999", "x").Status)
			out := s.Do("GET", loc, nil).JSON(t)["outcome"].(map[string]any)
			require.Equal(t, map[string]any{"x": 2.0, "y": 5.0}, out["totals"], "old style %v", oldStyle)
			require.Equal(t, []any{"y"}, out["winners"])
			require.Equal(t, map[string]any{"voted": 4.0, "eligible": 2000.0, "share": 0.002}, out["participation"])
			require.Equal(t, true, out["quorum_met"])
			require.Equal(t, http.StatusOK, cast(s, id, "e0001", "x").Status, "a weighted voter changes their ballot")
			out = s.Do("GET", loc, nil).JSON(t)["outcome"].(map[string]any)
			require.Equal(t, map[string]any{"x": 7.0, "y": 0.0}, out["totals"])

			r = s.Do("DELETE", loc, nil)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			closed := r.JSON(t)["outcome"].(map[string]any)
			require.NotEmpty(t, closed["digest"])
			delete(closed, "digest")
			require.Equal(t, out, closed, "the running count is the recount")
			r = s.Do("GET", loc+"?include=ballots", nil)
			var record tally.Record
			require.NoError(t, json.Unmarshal(r.Body, &record))
			require.NoError(t, tally.Verify(record))
			require.Len(t, record.Rules.Eligible, 2000, "the export has the full rules")
			require.Equal(t, 7.0, record.Rules.Weights["outsider"])
		}

		// Anyone may vote; listed weights apply.
		r := s.Do("POST", "/api/internal/process/vote.poll", map[string]any{
			"method": "approval", "options": []string{"x", "y"}, "duration_minutes": 60, "weights": map[string]any{"big": 10},
		}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc, id := r.Header.Get("Location"), r.JSON(t)["id"].(float64)
		require.Equal(t, http.StatusOK, cast(s, id, "big", []string{"x"}).Status)
		require.Equal(t, http.StatusOK, cast(s, id, "small", []string{"x", "y"}).Status)
		out := s.Do("GET", loc, nil).JSON(t)["outcome"].(map[string]any)
		require.Equal(t, map[string]any{"x": 11.0, "y": 1.0}, out["totals"])
		require.Equal(t, map[string]any{"voted": 2.0, "eligible": 0.0, "share": 0.0}, out["participation"])
	})
}

// TestEveryMethodCastsAndChanges: for every method, with an eligible list
// and weights, many casts and changed ballots keep the running count
// right (its outcome is the close's recount, for all but ranked-choice,
// whose outcome is counted by timer), voters off the list are refused, the
// close counts every latest ballot (a single-choice total checked by hand),
// the export verifies, and the coalesced callbacks end with the final
// record.
func TestEveryMethodCastsAndChanges(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := start(t, db, app.Config{})
		const voters, changes = 150, 60
		eligible := make([]string, voters+20)
		for i := range eligible {
			eligible[i] = fmt.Sprintf("v%03d", i)
		}
		weights := map[string]any{"v001": 3, "v002": 0, "v010": 2}
		for _, poll := range benchPolls {
			method := poll["method"].(string)
			t.Run(method, func(t *testing.T) {
				rcv := apptest.NewReceiver(t)
				body := map[string]any{"options": benchOptions, "duration_minutes": 60, "callback_url": rcv.URL,
					"eligible": eligible, "weights": weights}
				for k, v := range poll {
					body[k] = v
				}
				if method == "consent" {
					delete(body, "options")
				}
				r := s.Do("POST", "/api/internal/process/vote.poll", body, header...)
				require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
				loc, id := r.Header.Get("Location"), r.JSON(t)["id"].(float64)
				latest := map[string]any{}
				for i := range voters {
					v := eligible[i]
					latest[v] = benchBallot(method, i)
					require.Equal(t, http.StatusOK, cast(s, id, v, latest[v]).Status)
				}
				for i := range changes {
					v := eligible[(i*7)%voters]
					latest[v] = benchBallot(method, i*7+3)
					r := cast(s, id, v, latest[v])
					require.Equal(t, http.StatusOK, r.Status, string(r.Body))
					require.Positive(t, r.JSON(t)["revision"])
				}
				requireField(t, cast(s, id, "stranger", benchBallot(method, 0)), http.StatusBadRequest, "/voter")
				open := s.Do("GET", loc, nil).JSON(t)["outcome"].(map[string]any)

				r = s.Do("DELETE", loc, nil)
				require.Equal(t, http.StatusOK, r.Status, string(r.Body))
				final := r.JSON(t)
				closed := final["outcome"].(map[string]any)
				require.Equal(t, float64(voters), closed["participation"].(map[string]any)["voted"])
				require.Equal(t, float64(len(eligible)), closed["participation"].(map[string]any)["eligible"])
				if method != "ranked-choice" {
					withoutDigest := maps.Clone(closed)
					delete(withoutDigest, "digest")
					require.Equal(t, open, withoutDigest, "the running count is the recount")
				}
				if method == "single-choice" {
					want := map[string]float64{}
					for _, o := range benchOptions {
						want[o] = 0
					}
					for v, b := range latest {
						w := 1.0
						if x, ok := weights[v]; ok {
							w = float64(x.(int))
						}
						want[b.(string)] += w
					}
					got := map[string]float64{}
					for o, x := range closed["totals"].(map[string]any) {
						got[o] = x.(float64)
					}
					require.Equal(t, want, got)
				}

				r = s.Do("GET", loc+"?include=ballots", nil)
				var record tally.Record
				require.NoError(t, json.Unmarshal(r.Body, &record))
				require.NoError(t, tally.Verify(record))
				require.Len(t, record.Ballots, voters)
				for _, b := range record.Ballots {
					want, err := json.Marshal(latest[b.Voter])
					require.NoError(t, err)
					norm, err := record.Rules.CheckBallot(b.Voter, want)
					require.NoError(t, err)
					require.JSONEq(t, string(norm), string(b.Choice), "%s's latest ballot", b.Voter)
				}

				last := waitCompleted(t, rcv)
				require.Equal(t, final["sequence"], last["sequence"])
				require.Equal(t, final["outcome"], last["outcome"], "the last callback is the final record")
			})
		}
	})
}

// TestBallotPages: ballots cast in no particular order, some of them
// changed, end up in pages of at most 64 ballots each (the plugin splits
// a page as it fills), each page's key naming the voter its range starts
// at, the pages' ranges in order and apart; every ballot is counted once
// and exported, sorted by voter, with its latest revision.
func TestBallotPages(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := start(t, db, app.Config{})
		r := s.Do("POST", "/api/internal/process/vote.poll", map[string]any{
			"method": "approval", "options": []string{"x", "y", "z"}, "duration_minutes": 60, "allow_change": true,
		}, header...)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		loc := r.Header.Get("Location")
		id := r.JSON(t)["id"].(float64)
		const voters = 300
		order := make([]int, voters)
		for i := range order {
			order[i] = (i * 7919) % voters // a fixed shuffle
		}
		voter := func(i int) string { return fmt.Sprintf("v%03d", i) }
		for _, i := range order {
			r := cast(s, id, voter(i), []string{"x"})
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		}
		for i := 0; i < voters; i += 10 { // every tenth voter changes to y
			r := cast(s, id, voter(i), []string{"y"})
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			require.Equal(t, 1.0, r.JSON(t)["revision"])
		}

		p, err := s.App.Store().ProcessGetByID(t.Context(), int64(id))
		require.NoError(t, err)
		prefix := fmt.Sprintf("ballots/%d/", int64(id))
		var keys []string
		var pages [][]tally.Ballot
		err = s.App.Store().PluginStateScan(t.Context(), p.InstanceID, prefix, time.Now(), func(key string, raw json.RawMessage) error {
			var page []tally.Ballot
			if err := vote.ReadPage(raw, func(b tally.Ballot) error { page = append(page, b); return nil }); err != nil {
				return err
			}
			keys, pages = append(keys, key), append(pages, page)
			return nil
		})
		require.NoError(t, err)
		require.Greater(t, len(pages), voters/64, "the pages split")
		require.Equal(t, prefix, keys[0], "the first page starts at the empty voter id")
		var all []string
		for i, page := range pages {
			require.NotEmpty(t, page)
			require.LessOrEqual(t, len(page), 64, "page %s", keys[i])
			require.LessOrEqual(t, keys[i][len(prefix):], page[0].Voter, "page %s", keys[i])
			if i+1 < len(pages) {
				require.Less(t, page[len(page)-1].Voter, keys[i+1][len(prefix):], "page %s ends before the next starts", keys[i])
			}
			for _, b := range page {
				all = append(all, b.Voter)
			}
		}
		require.Len(t, all, voters)
		require.True(t, slices.IsSorted(all))

		r = s.Do("DELETE", loc, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		out := r.JSON(t)["outcome"].(map[string]any)
		require.Equal(t, float64(voters), out["participation"].(map[string]any)["voted"])
		require.Equal(t, map[string]any{"x": float64(voters - voters/10), "y": float64(voters / 10), "z": 0.0}, out["totals"])
		r = s.Do("GET", loc+"?include=ballots", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var record tally.Record
		require.NoError(t, json.Unmarshal(r.Body, &record))
		require.NoError(t, tally.Verify(record))
		require.Len(t, record.Ballots, voters)
		for i, b := range record.Ballots {
			require.Equal(t, voter(i), b.Voter)
			require.Equal(t, map[bool]int{true: 1, false: 0}[i%10 == 0], b.Revision, b.Voter)
		}
	})
}
