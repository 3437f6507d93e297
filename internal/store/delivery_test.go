package store_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/store"
)

func TestDeliveries(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		t.Run("insert, attempts and status", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.community(t)
			inst := b.instance(t, c.ID, "kit", "", `{}`)
			p := b.process(t, inst, "vote", "pending")
			// The payload is the exact body to send: spacing and key order
			// must survive.
			payload := []byte("{\"z\": 1,\n  \"a\": [ \"ü\" ] }")
			var eventID, callbackID, eventDeliveryID int64
			b.tx(t, func(tx *store.Tx) error {
				var err error
				eventID, err = tx.EventInsert(b.ctx, &store.EventInsertParams{CommunityID: c.ID, Source: "kit", Type: "x",
					Data: json.RawMessage(`{}`), CreatedAt: time.Now()})
				require.NoError(t, err)
				callbackID, err = tx.DeliveryInsert(b.ctx, &store.DeliveryInsertParams{CommunityID: c.ID,
					Kind: store.DeliveryCallback, ProcessID: p.ID, MessageID: "msg_1", RequestID: "req-1",
					URL: "https://driver.example/cb", Payload: payload})
				require.NoError(t, err)
				eventDeliveryID, err = tx.DeliveryInsert(b.ctx, &store.DeliveryInsertParams{CommunityID: c.ID,
					Kind: store.DeliveryEvent, EventID: eventID, MessageID: "msg_2",
					URL: "https://driver.example/events", Payload: []byte(`{}`)})
				return err
			})
			require.Greater(t, eventDeliveryID, callbackID)

			d, err := b.st.DeliveryGetByID(b.ctx, callbackID)
			require.NoError(t, err)
			require.Equal(t, callbackID, d.ID)
			require.Equal(t, c.ID, d.CommunityID)
			require.Equal(t, store.DeliveryCallback, d.Kind)
			require.Equal(t, p.ID, d.ProcessID)
			require.Zero(t, d.EventID)
			require.Equal(t, "msg_1", d.MessageID)
			require.Equal(t, "req-1", d.RequestID)
			require.Equal(t, "https://driver.example/cb", d.URL)
			require.Equal(t, string(payload), string(d.Payload), "the payload is stored byte for byte")
			require.Equal(t, store.DeliveryPending, d.Status)
			require.Zero(t, d.Attempts)
			require.Empty(t, d.LastError)
			requireRecent(t, d.CreatedAt)

			ev, err := b.st.DeliveryGetByID(b.ctx, eventDeliveryID)
			require.NoError(t, err)
			require.Equal(t, store.DeliveryEvent, ev.Kind)
			require.Equal(t, eventID, ev.EventID)
			require.Zero(t, ev.ProcessID)

			_, err = b.st.DeliveryGetByID(b.ctx, eventDeliveryID+1000)
			require.ErrorIs(t, err, store.ErrNotFound)

			attemptAt := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
			attempts := []struct {
				name      string
				attempt   store.DeliveryAttempt
				newStatus string
			}{
				{name: "refused", attempt: store.DeliveryAttempt{DeliveryID: callbackID, AttemptedAt: attemptAt,
					StatusCode: 503, Error: "503 Service Unavailable", Duration: 1500 * time.Millisecond}, newStatus: store.DeliveryPending},
				{name: "no answer", attempt: store.DeliveryAttempt{DeliveryID: callbackID, AttemptedAt: attemptAt.Add(time.Minute),
					Error: "connection refused", Duration: 3 * time.Millisecond}, newStatus: store.DeliveryPending},
				{name: "accepted", attempt: store.DeliveryAttempt{DeliveryID: callbackID, AttemptedAt: attemptAt.Add(time.Hour),
					StatusCode: 200, Duration: 20 * time.Millisecond}, newStatus: store.DeliverySucceeded},
			}
			for i, tc := range attempts {
				t.Run(tc.name, func(t *testing.T) {
					b.tx(t, func(tx *store.Tx) error {
						return tx.DeliveryRecord(b.ctx, &store.DeliveryOutcome{Attempt: tc.attempt, Status: tc.newStatus,
							NextAttempt: time.Now().Add(time.Hour)})
					})
					d, err := b.st.DeliveryGetByID(b.ctx, callbackID)
					require.NoError(t, err)
					require.Equal(t, tc.newStatus, d.Status)
					require.Equal(t, i+1, d.Attempts)
					require.Equal(t, tc.attempt.Error, d.LastError)
					require.Equal(t, string(payload), string(d.Payload))
				})
			}

			recorded, err := b.st.DeliveryAttemptList(b.ctx, callbackID, eventDeliveryID)
			require.NoError(t, err)
			require.Len(t, recorded[callbackID], len(attempts))
			require.Empty(t, recorded[eventDeliveryID])
			for i, a := range recorded[callbackID] {
				want := attempts[i].attempt
				require.Equal(t, want.DeliveryID, a.DeliveryID)
				require.True(t, want.AttemptedAt.Equal(a.AttemptedAt), "attempted_at %v, want %v", a.AttemptedAt, want.AttemptedAt)
				require.Equal(t, want.StatusCode, a.StatusCode)
				require.Equal(t, want.Error, a.Error)
				require.Equal(t, want.Duration, a.Duration)
			}

			other, err := b.st.DeliveryGetByID(b.ctx, eventDeliveryID)
			require.NoError(t, err)
			require.Equal(t, store.DeliveryPending, other.Status, "other deliveries are untouched")
			require.Zero(t, other.Attempts)
		})

		t.Run("claims lease due pending deliveries", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.community(t)
			_, ok, err := b.st.DeliveryNextDue(b.ctx)
			require.NoError(t, err)
			require.False(t, ok, "nothing pending")
			var ids []int64
			b.tx(t, func(tx *store.Tx) error {
				for i := range 4 {
					id, err := tx.DeliveryInsert(b.ctx, &store.DeliveryInsertParams{CommunityID: c.ID, Kind: store.DeliveryEvent,
						MessageID: fmt.Sprintf("msg_claim_%d", i), URL: "https://driver.example/events", Payload: []byte(`{}`)})
					ids = append(ids, id)
					if err != nil {
						return err
					}
				}
				return nil
			})
			claim := func(now time.Time, lease time.Duration, limit int) []int64 {
				t.Helper()
				var got []int64
				b.tx(t, func(tx *store.Tx) error {
					ds, err := tx.DeliveryClaim(b.ctx, now, now.Add(lease), limit)
					for _, d := range ds {
						got = append(got, d.ID)
					}
					return err
				})
				return got
			}
			now := time.Now().Add(time.Second)

			require.ElementsMatch(t, ids[:3], claim(now, time.Minute, 3), "due deliveries, oldest first, up to the limit")
			require.ElementsMatch(t, ids[3:], claim(now, time.Minute, 3), "leased deliveries are skipped")
			require.Empty(t, claim(now.Add(30*time.Second), time.Minute, 10), "until their lease ends")

			// An attempt ends the lease and decides when the delivery is due.
			b.tx(t, func(tx *store.Tx) error {
				require.NoError(t, tx.DeliveryRecord(b.ctx, &store.DeliveryOutcome{
					Attempt: store.DeliveryAttempt{DeliveryID: ids[0], AttemptedAt: now, StatusCode: 200},
					Status:  store.DeliverySucceeded}))
				return tx.DeliveryRecord(b.ctx, &store.DeliveryOutcome{
					Attempt: store.DeliveryAttempt{DeliveryID: ids[1], AttemptedAt: now, StatusCode: 500, Error: "500"},
					Status:  store.DeliveryPending, NextAttempt: now.Add(10 * time.Second)})
			})
			next, ok, err := b.st.DeliveryNextDue(b.ctx)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, now.Add(10*time.Second).UnixMilli(), next.UnixMilli(),
				"the retry is next, before the leases of the others end; the succeeded one is done")
			require.Empty(t, claim(now.Add(5*time.Second), time.Minute, 10), "a retry waits for its next attempt")
			require.Equal(t, []int64{ids[1]}, claim(now.Add(11*time.Second), time.Minute, 10))

			// After their leases, the others are handed out again; a
			// succeeded delivery never is.
			require.ElementsMatch(t, ids[1:], claim(now.Add(2*time.Minute), time.Minute, 10))

			// A reset delivery is due at once.
			b.tx(t, func(tx *store.Tx) error { return tx.DeliveryReset(b.ctx, ids[0], time.Time{}) })
			d, err := b.st.DeliveryGetByID(b.ctx, ids[0])
			require.NoError(t, err)
			require.Equal(t, store.DeliveryPending, d.Status)
			require.Equal(t, []int64{ids[0]}, claim(time.Now().Add(time.Second), time.Minute, 10))
		})

		t.Run("a process's callbacks: one in flight, the queued one replaced", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.community(t)
			inst := b.instance(t, c.ID, "kit", "", `{}`)
			p := b.process(t, inst, "vote", "pending")
			other := b.process(t, inst, "vote", "pending")
			n := 0
			enqueue := func(processID int64, payload string, now time.Time) (id int64, replaced bool) {
				t.Helper()
				n++
				return b.enqueueCallback(t, c.ID, processID, fmt.Sprintf("msg_coalesce_%d", n), payload, now)
			}
			now := time.Now().Add(time.Second) // the deliveries are due
			first, _ := enqueue(p.ID, `{"sequence": 2}`, now)
			_, replaced := enqueue(p.ID, `{"sequence": 3}`, now)
			require.True(t, replaced, "a callback nobody took yet is replaced")
			otherID, _ := enqueue(other.ID, `{"sequence": 2}`, now)
			got := b.claim(t, now)
			require.Len(t, got, 2, "one per process")
			require.Equal(t, first, got[0].ID)
			require.JSONEq(t, `{"sequence": 3}`, string(got[0].Payload), "the latest record")
			require.Equal(t, "msg_coalesce_2", got[0].MessageID, "a new message, a new webhook-id")
			require.Equal(t, otherID, got[1].ID)

			// While it is in flight, a change queues a second callback,
			// which later changes replace, and which waits its turn.
			second, replaced := enqueue(p.ID, `{"sequence": 4}`, now)
			require.False(t, replaced, "the callback in flight is left alone")
			_, replaced = enqueue(p.ID, `{"sequence": 5}`, now)
			require.True(t, replaced)
			require.Empty(t, b.claim(t, now), "not while the older one is in flight")

			// The older one fails: it waits for its retry, the newer goes.
			b.tx(t, func(tx *store.Tx) error {
				return tx.DeliveryRecord(b.ctx, &store.DeliveryOutcome{
					Attempt: store.DeliveryAttempt{DeliveryID: first, AttemptedAt: now, StatusCode: 500, Error: "500"},
					Status:  store.DeliveryPending, NextAttempt: now.Add(time.Hour)})
			})
			got = b.claim(t, now)
			require.Len(t, got, 1)
			require.Equal(t, second, got[0].ID)
			require.JSONEq(t, `{"sequence": 5}`, string(got[0].Payload), "the final record goes out")
			_, replaced = enqueue(p.ID, `{"sequence": 6}`, now)
			require.False(t, replaced, "a callback that was tried is never rewritten")

			// A retry that falls due goes before newer ones.
			b.tx(t, func(tx *store.Tx) error {
				return tx.DeliveryRecord(b.ctx, &store.DeliveryOutcome{
					Attempt: store.DeliveryAttempt{DeliveryID: second, AttemptedAt: now, StatusCode: 200},
					Status:  store.DeliverySucceeded})
			})
			var mine []int64
			for _, d := range b.claim(t, now.Add(2*time.Hour)) { // the other process's lease ran out too
				if d.ProcessID == p.ID {
					mine = append(mine, d.ID)
				}
			}
			require.Equal(t, []int64{first}, mine)
		})

		t.Run("a callback replaced after its lease ran out still sends the newer record", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.community(t)
			p := b.process(t, b.instance(t, c.ID, "kit", "", `{}`), "vote", "pending")
			enqueue := func(msg, payload string, now time.Time) (id int64, replaced bool) {
				t.Helper()
				return b.enqueueCallback(t, c.ID, p.ID, msg, payload, now)
			}
			record := func(d store.Delivery, at time.Time) {
				t.Helper()
				b.tx(t, func(tx *store.Tx) error {
					return tx.DeliveryRecord(b.ctx, &store.DeliveryOutcome{MessageID: d.MessageID,
						Attempt: store.DeliveryAttempt{DeliveryID: d.ID, AttemptedAt: at, StatusCode: 200},
						Status:  store.DeliverySucceeded})
				})
			}
			now := time.Now().Add(time.Second)
			id, _ := enqueue("msg_lease_1", `{"sequence": 2}`, now)
			sent := b.claim(t, now)
			require.Len(t, sent, 1)
			// The send outlasts its lease (a stalled database, a clock
			// moved on): the next change takes the row as still queued.
			later := now.Add(2 * time.Minute)
			_, replaced := enqueue("msg_lease_2", `{"sequence": 3}`, later)
			require.True(t, replaced)
			record(sent[0], later)

			d, err := b.st.DeliveryGetByID(b.ctx, id)
			require.NoError(t, err)
			require.Equal(t, store.DeliveryPending, d.Status, "the newer record has not gone out")
			require.Equal(t, 0, d.Attempts)
			again := b.claim(t, later)
			require.Len(t, again, 1)
			require.Equal(t, "msg_lease_2", again[0].MessageID)
			require.JSONEq(t, `{"sequence": 3}`, string(again[0].Payload))
			record(again[0], later)
			d, err = b.st.DeliveryGetByID(b.ctx, id)
			require.NoError(t, err)
			require.Equal(t, store.DeliverySucceeded, d.Status)
			require.Equal(t, 1, d.Attempts)
		})

		t.Run("an outcome for a delivery deleted meanwhile does not fail the batch", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			kept, doomed := b.community(t), b.community(t)
			var keptID, doomedID int64
			b.tx(t, func(tx *store.Tx) error {
				var err error
				for _, d := range []struct {
					c  store.Community
					id *int64
				}{{kept, &keptID}, {doomed, &doomedID}} {
					if *d.id, err = tx.DeliveryInsert(b.ctx, &store.DeliveryInsertParams{CommunityID: d.c.ID, Kind: store.DeliveryEvent,
						MessageID: fmt.Sprintf("msg_gone_%d", d.c.ID), URL: "https://driver.example/events", Payload: []byte(`{}`)}); err != nil {
						return err
					}
				}
				return nil
			})
			// The attempts are in flight when the community goes.
			b.tx(t, func(tx *store.Tx) error { return tx.CommunityDelete(b.ctx, doomed.ID) })
			now := time.Now()
			b.tx(t, func(tx *store.Tx) error {
				for _, id := range []int64{doomedID, keptID} {
					if err := tx.DeliveryRecord(b.ctx, &store.DeliveryOutcome{
						Attempt: store.DeliveryAttempt{DeliveryID: id, AttemptedAt: now, StatusCode: 200},
						Status:  store.DeliverySucceeded}); err != nil {
						return err
					}
				}
				return nil
			})
			d, err := b.st.DeliveryGetByID(b.ctx, keptID)
			require.NoError(t, err)
			require.Equal(t, store.DeliverySucceeded, d.Status, "the other outcome is recorded")
			require.Equal(t, 1, d.Attempts)
			_, err = b.st.DeliveryGetByID(b.ctx, doomedID)
			require.ErrorIs(t, err, store.ErrNotFound)
		})

		t.Run("concurrent claims never hand out a delivery twice", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.community(t)
			const total = 40
			b.tx(t, func(tx *store.Tx) error {
				for i := range total {
					if _, err := tx.DeliveryInsert(b.ctx, &store.DeliveryInsertParams{CommunityID: c.ID, Kind: store.DeliveryEvent,
						MessageID: fmt.Sprintf("msg_conc_%d", i), URL: "https://driver.example/events", Payload: []byte(`{}`)}); err != nil {
						return err
					}
				}
				return nil
			})
			now := time.Now().Add(time.Second)
			var mu sync.Mutex
			seen := map[int64]int{}
			var wg sync.WaitGroup
			errs := make(chan error, 8*10)
			for range 8 {
				wg.Go(func() {
					for range 10 {
						errs <- b.st.InTx(b.ctx, func(tx *store.Tx) error {
							ds, err := tx.DeliveryClaim(b.ctx, now, now.Add(time.Hour), 3)
							mu.Lock()
							for _, d := range ds {
								seen[d.ID]++
							}
							mu.Unlock()
							return err
						})
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			for id, n := range seen {
				require.Equal(t, 1, n, "delivery %d claimed %d times", id, n)
			}
			require.Len(t, seen, total, "every delivery is claimed once")
		})

		t.Run("message ids are unique", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.community(t)
			insert := func(msg string) error {
				return b.st.InTx(b.ctx, func(tx *store.Tx) error {
					_, err := tx.DeliveryInsert(b.ctx, &store.DeliveryInsertParams{CommunityID: c.ID, Kind: store.DeliveryEvent,
						MessageID: msg, URL: "https://driver.example/events", Payload: []byte(`{}`)})
					return err
				})
			}
			require.NoError(t, insert("msg_a"))
			require.NoError(t, insert("msg_b"))
			require.ErrorIs(t, insert("msg_a"), store.ErrConflict)
		})

		t.Run("list", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c1, c2 := b.community(t), b.community(t)
			inst := b.instance(t, c1.ID, "kit", "", `{}`)
			p := b.process(t, inst, "vote", "pending")
			var ids []int64
			b.tx(t, func(tx *store.Tx) error {
				for i, params := range []store.DeliveryInsertParams{
					{CommunityID: c1.ID, Kind: store.DeliveryCallback, ProcessID: p.ID},
					{CommunityID: c1.ID, Kind: store.DeliveryEvent},
					{CommunityID: c2.ID, Kind: store.DeliveryEvent},
					{CommunityID: c1.ID, Kind: store.DeliveryCallback, ProcessID: p.ID},
				} {
					params.MessageID = fmt.Sprintf("msg_%d", i)
					params.URL = "https://driver.example/"
					params.Payload = []byte(`{}`)
					id, err := tx.DeliveryInsert(b.ctx, &params)
					require.NoError(t, err)
					ids = append(ids, id)
				}
				return tx.DeliveryRecord(b.ctx, &store.DeliveryOutcome{Attempt: store.DeliveryAttempt{DeliveryID: ids[3],
					AttemptedAt: time.Now(), StatusCode: 204}, Status: store.DeliverySucceeded})
			})

			tests := []struct {
				name   string
				params store.DeliveryListParams
				want   []int64
			}{
				{name: "all", params: store.DeliveryListParams{Limit: 10}, want: ids},
				{name: "limit", params: store.DeliveryListParams{Limit: 2}, want: ids[:2]},
				{name: "after", params: store.DeliveryListParams{AfterID: ids[1], Limit: 10}, want: ids[2:]},
				{name: "community", params: store.DeliveryListParams{CommunityID: c2.ID, Limit: 10}, want: ids[2:3]},
				{name: "kind", params: store.DeliveryListParams{Kind: store.DeliveryCallback, Limit: 10}, want: []int64{ids[0], ids[3]}},
				{name: "process", params: store.DeliveryListParams{ProcessID: p.ID, Limit: 10}, want: []int64{ids[0], ids[3]}},
				{name: "status", params: store.DeliveryListParams{Status: store.DeliverySucceeded, Limit: 10}, want: ids[3:]},
				{name: "combined", params: store.DeliveryListParams{CommunityID: c1.ID, Status: store.DeliveryPending,
					Kind: store.DeliveryEvent, Limit: 10}, want: ids[1:2]},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					got, err := b.st.DeliveryList(b.ctx, &tc.params)
					require.NoError(t, err)
					gotIDs := []int64{}
					for _, d := range got {
						gotIDs = append(gotIDs, d.ID)
					}
					require.Equal(t, tc.want, gotIDs)
				})
			}
		})
	})
}

// enqueueCallback queues a process's record as the gateway does: replacing
// its queued callback, else inserting one.
func (b *testBundle) enqueueCallback(t *testing.T, communityID, processID int64, msg, payload string, now time.Time) (id int64, replaced bool) {
	t.Helper()
	params := &store.DeliveryInsertParams{CommunityID: communityID, Kind: store.DeliveryCallback, ProcessID: processID,
		MessageID: msg, URL: "https://driver.example/cb", Payload: []byte(payload)}
	b.tx(t, func(tx *store.Tx) error {
		var err error
		if replaced, err = tx.DeliveryReplaceQueued(b.ctx, now, params); err != nil || replaced {
			return err
		}
		id, err = tx.DeliveryInsert(b.ctx, params)
		return err
	})
	return id, replaced
}

// claim claims up to 10 due deliveries at now, leased for a minute.
func (b *testBundle) claim(t *testing.T, now time.Time) (got []store.Delivery) {
	t.Helper()
	b.tx(t, func(tx *store.Tx) error {
		var err error
		got, err = tx.DeliveryClaim(b.ctx, now, now.Add(time.Minute), 10)
		return err
	})
	return got
}
