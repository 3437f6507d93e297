package store_test

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/store"
)

func TestProcessIDsReserve(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		t.Run("increasing blocks", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var prevEnd int64
			for _, n := range []int64{1, 10, 3, 100, 1} {
				var first int64
				b.tx(t, func(tx *store.Tx) error {
					var err error
					first, err = tx.ProcessIDsReserve(b.ctx, n)
					return err
				})
				require.Positive(t, first)
				require.Greater(t, first, prevEnd, "block of %d starts after the previous one", n)
				prevEnd = first + n - 1
			}
		})

		t.Run("concurrent blocks are disjoint", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			const workers, rounds, n = 6, 5, 7
			var mu sync.Mutex
			var firsts []int64
			var wg sync.WaitGroup
			errs := make(chan error, workers*rounds)
			for range workers {
				wg.Go(func() {
					for range rounds {
						err := b.st.InTx(b.ctx, func(tx *store.Tx) error {
							first, err := tx.ProcessIDsReserve(b.ctx, n)
							if err != nil {
								return err
							}
							mu.Lock()
							firsts = append(firsts, first)
							mu.Unlock()
							return nil
						})
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			require.Len(t, firsts, workers*rounds)
			slices.Sort(firsts)
			for i := 1; i < len(firsts); i++ {
				require.GreaterOrEqual(t, firsts[i], firsts[i-1]+n, "blocks %d and %d overlap", firsts[i-1], firsts[i])
			}
		})

		t.Run("two reservations in one transaction", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var first, second int64
			b.tx(t, func(tx *store.Tx) error {
				var err error
				if first, err = tx.ProcessIDsReserve(b.ctx, 5); err != nil {
					return err
				}
				second, err = tx.ProcessIDsReserve(b.ctx, 5)
				return err
			})
			require.Equal(t, first+5, second, "two reservations in one transaction follow each other")
		})
	})
}

func TestProcesses(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		t.Run("insert with a reserved id and get", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.community(t)
			inst := b.instance(t, c.ID, "kit", "", `{}`)
			var first int64
			b.tx(t, func(tx *store.Tx) error {
				var err error
				first, err = tx.ProcessIDsReserve(b.ctx, 3)
				return err
			})
			p := store.Process{
				ID: first + 2, CommunityID: c.ID, InstanceID: inst.ID, Plugin: "kit", Name: "vote", Status: "pending",
				Input:       json.RawMessage(`{"options": ["ja", "nein", "ü"], "delay": 60, "nested": {"deep": [null]}}`),
				Outcome:     json.RawMessage(`{"votes": {"ja": 0}}`),
				Errors:      json.RawMessage(`{}`),
				URL:         "https://vote.example/3",
				State:       json.RawMessage(`{"round": 1, "voters": []}`),
				CallbackURL: "https://driver.example/receive-outcome/4",
				Sequence:    1,
			}
			b.tx(t, func(tx *store.Tx) error { return tx.ProcessInsert(b.ctx, &p) })

			got, err := b.st.ProcessGetByID(b.ctx, first+2)
			require.NoError(t, err)
			require.Equal(t, p.ID, got.ID)
			require.Equal(t, c.ID, got.CommunityID)
			require.Equal(t, inst.ID, got.InstanceID)
			require.Equal(t, "kit", got.Plugin)
			require.Equal(t, "vote", got.Name)
			require.Equal(t, "pending", got.Status)
			require.JSONEq(t, string(p.Input), string(got.Input))
			require.JSONEq(t, string(p.Outcome), string(got.Outcome))
			require.JSONEq(t, string(p.Errors), string(got.Errors))
			require.JSONEq(t, string(p.State), string(got.State))
			require.Equal(t, p.URL, got.URL)
			require.Equal(t, p.CallbackURL, got.CallbackURL)
			require.Equal(t, int64(1), got.Sequence)
			requireRecent(t, got.CreatedAt)
			requireRecent(t, got.UpdatedAt)

			_, err = b.st.ProcessGetByID(b.ctx, first)
			require.ErrorIs(t, err, store.ErrNotFound, "a reserved id is not a process")

			err = b.st.InTx(b.ctx, func(tx *store.Tx) error { return tx.ProcessInsert(b.ctx, &p) })
			require.ErrorIs(t, err, store.ErrConflict, "an id is used once")
		})

		t.Run("update is a compare-and-set", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.community(t)
			inst := b.instance(t, c.ID, "kit", "", `{}`)
			p := b.process(t, inst, "vote", "pending")
			update := func(status string, oldSeq int64, outcome string) (int64, error) {
				var seq int64
				err := b.st.InTx(b.ctx, func(tx *store.Tx) error {
					var err error
					seq, err = tx.ProcessUpdate(b.ctx, &store.ProcessUpdateParams{
						ID: p.ID, OldSequence: oldSeq, Status: status, Outcome: json.RawMessage(outcome),
						Errors: json.RawMessage(`{"text": "none"}`), URL: "https://vote.example/u", State: json.RawMessage(`{"s": 1}`),
					})
					return err
				})
				return seq, err
			}

			seq, err := update("pending", p.Sequence, `{"votes": 1}`)
			require.NoError(t, err)
			require.Equal(t, p.Sequence+1, seq)
			got, err := b.st.ProcessGetByID(b.ctx, p.ID)
			require.NoError(t, err)
			require.Equal(t, seq, got.Sequence)
			require.JSONEq(t, `{"votes": 1}`, string(got.Outcome))
			require.JSONEq(t, `{"text": "none"}`, string(got.Errors))
			require.JSONEq(t, `{"s": 1}`, string(got.State))
			require.Equal(t, "https://vote.example/u", got.URL)
			require.Equal(t, p.CallbackURL, got.CallbackURL, "the callback url is kept")
			require.JSONEq(t, string(p.Input), string(got.Input), "the input is kept")

			// A writer that read the old sequence loses.
			_, err = update("completed", p.Sequence, `{"votes": 99}`)
			require.ErrorIs(t, err, store.ErrConflict)
			got, err = b.st.ProcessGetByID(b.ctx, p.ID)
			require.NoError(t, err)
			require.Equal(t, "pending", got.Status)
			require.JSONEq(t, `{"votes": 1}`, string(got.Outcome))
			require.Equal(t, seq, got.Sequence)

			// A sequence from the future loses too.
			_, err = update("pending", seq+1, `{}`)
			require.ErrorIs(t, err, store.ErrConflict)

			seq, err = update("completed", seq, `{"winner": "a"}`)
			require.NoError(t, err)
			got, err = b.st.ProcessGetByID(b.ctx, p.ID)
			require.NoError(t, err)
			require.Equal(t, "completed", got.Status)

			// A completed process cannot go back, even with the right sequence.
			for _, status := range []string{"pending", "created"} {
				_, err = update(status, seq, `{"winner": "b"}`)
				require.ErrorIs(t, err, store.ErrConflict, status)
			}
			got, err = b.st.ProcessGetByID(b.ctx, p.ID)
			require.NoError(t, err)
			require.Equal(t, "completed", got.Status)
			require.JSONEq(t, `{"winner": "a"}`, string(got.Outcome))
			require.Equal(t, seq, got.Sequence)

			// It may still change while staying completed.
			seq2, err := update("completed", seq, `{"winner": "a", "final": true}`)
			require.NoError(t, err)
			require.Equal(t, seq+1, seq2)

			// Updating a process that does not exist.
			err = b.st.InTx(b.ctx, func(tx *store.Tx) error {
				_, err := tx.ProcessUpdate(b.ctx, &store.ProcessUpdateParams{ID: p.ID + 1000, OldSequence: 1, Status: "pending",
					Outcome: json.RawMessage(`{}`), Errors: json.RawMessage(`{}`), State: json.RawMessage(`{}`)})
				return err
			})
			require.Error(t, err)
		})

		t.Run("lists", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c1, c2 := b.community(t), b.community(t)
			inst := b.instance(t, c1.ID, "kit", "", `{}`)
			otherInst := b.instance(t, c1.ID, "other", "", `{}`)
			inst2 := b.instance(t, c2.ID, "kit", "", `{}`)
			created := b.process(t, inst, "vote", "created")
			pending := b.process(t, inst, "vote", "pending")
			b.process(t, inst, "vote", "completed")
			pendingPoll := b.process(t, inst, "poll", "pending")
			pendingOther := b.process(t, otherInst, "vote", "pending")
			pendingC2 := b.process(t, inst2, "vote", "pending")

			open, err := b.st.ProcessListOpenByInstance(b.ctx, inst.ID)
			require.NoError(t, err)
			var ids []int64
			for _, p := range open {
				ids = append(ids, p.ID)
				require.NotEqual(t, "completed", p.Status)
				require.Equal(t, inst.ID, p.InstanceID)
			}
			require.Equal(t, []int64{created.ID, pending.ID, pendingPoll.ID}, ids)

			open, err = b.st.ProcessListOpenByInstance(b.ctx, inst.ID+otherInst.ID+inst2.ID)
			require.NoError(t, err)
			require.Empty(t, open)

			tests := []struct {
				name   string
				plugin string
				typ    string
				want   []int64
			}{
				{name: "pending votes of kit in every community", plugin: "kit", typ: "vote", want: []int64{pending.ID, pendingC2.ID}},
				{name: "another type", plugin: "kit", typ: "poll", want: []int64{pendingPoll.ID}},
				{name: "another plugin", plugin: "other", typ: "vote", want: []int64{pendingOther.ID}},
				{name: "no such type", plugin: "kit", typ: "budget", want: nil},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					got, err := b.st.ProcessListPendingIDsByType(b.ctx, tc.plugin, tc.typ)
					require.NoError(t, err)
					if tc.want == nil {
						require.Empty(t, got)
						return
					}
					require.Equal(t, tc.want, got)
				})
			}
		})
	})
}

func TestTimers(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		c := b.community(t)
		inst := b.instance(t, c.ID, "kit", "", `{}`)
		p1 := b.process(t, inst, "vote", "pending")
		p2 := b.process(t, inst, "vote", "pending")

		now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
		// Inserted out of order; p2's and p1's timers share a due time.
		type timer struct {
			process int64
			due     time.Time
		}
		inserts := []timer{
			{p1.ID, now.Add(time.Hour)},                                 // not due
			{p2.ID, now.Add(-time.Minute)},                              // due third (same time as the fourth, lower id)
			{p1.ID, now.Add(-time.Hour)},                                // due first
			{p1.ID, now.Add(-time.Minute)},                              // due fourth
			{p2.ID, now.Add(-30*time.Minute + 1234567*time.Nanosecond)}, // due second, sub-millisecond part dropped
			{p2.ID, now},                       // due at exactly now: due
			{p1.ID, now.Add(time.Millisecond)}, // one millisecond late: not due
			{p2.ID, time.Date(2030, 6, 1, 14, 0, 0, 0, time.FixedZone("CEST", 2*3600))}, // now, in another zone
		}
		b.tx(t, func(tx *store.Tx) error {
			for _, in := range inserts {
				if err := tx.TimerInsert(b.ctx, in.process, in.due); err != nil {
					return err
				}
			}
			return nil
		})

		due, err := b.st.TimerListDue(b.ctx, now, 100)
		require.NoError(t, err)
		var got []timer
		for _, tm := range due {
			require.Positive(t, tm.ID)
			require.Equal(t, time.UTC, tm.Due.Location())
			got = append(got, timer{tm.ProcessID, tm.Due})
		}
		require.Equal(t, []timer{
			{p1.ID, now.Add(-time.Hour)},
			{p2.ID, now.Add(-30*time.Minute + time.Millisecond)},
			{p2.ID, now.Add(-time.Minute)},
			{p1.ID, now.Add(-time.Minute)},
			{p2.ID, now},
			{p2.ID, now},
		}, got)
		require.Less(t, due[2].ID, due[3].ID, "ties are ordered by id")

		limited, err := b.st.TimerListDue(b.ctx, now, 2)
		require.NoError(t, err)
		require.Equal(t, due[:2], limited)

		none, err := b.st.TimerListDue(b.ctx, now.Add(-2*time.Hour), 10)
		require.NoError(t, err)
		require.Empty(t, none)
		isDue, err := b.st.TimerDue(b.ctx, now.Add(-2*time.Hour))
		require.NoError(t, err)
		require.False(t, isDue, "nothing is due two hours ago")
		isDue, err = b.st.TimerDue(b.ctx, now.Add(-time.Hour))
		require.NoError(t, err)
		require.True(t, isDue, "the oldest is due an hour ago")

		b.tx(t, func(tx *store.Tx) error {
			for _, step := range []struct {
				id   int64
				took bool
			}{{due[0].ID, true}, {due[3].ID, true}, {due[0].ID, false}} {
				took, err := tx.TimerDelete(b.ctx, step.id)
				require.NoError(t, err)
				require.Equal(t, step.took, took, "timer %d: deleting twice takes it once", step.id)
			}
			return nil
		})
		after, err := b.st.TimerListDue(b.ctx, now, 100)
		require.NoError(t, err)
		require.Equal(t, []store.Timer{due[1], due[2], due[4], due[5]}, after)

		later, err := b.st.TimerListDue(b.ctx, now.Add(2*time.Hour), 100)
		require.NoError(t, err)
		require.Len(t, later, 6)
		require.Equal(t, now.Add(time.Hour), later[len(later)-1].Due)
	})
}
