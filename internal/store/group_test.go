package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/internal/store"
)

// sqliteStore is a fresh, migrated SQLite store: group commit is SQLite's.
func sqliteStore(t *testing.T) (context.Context, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st := openStore(t, apptest.SQLite(t).DSN)
	require.NoError(t, st.Migrate(ctx))
	return ctx, st
}

// waitQueued waits until n transactions wait for the writer.
func waitQueued(t *testing.T, st *store.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for store.GroupQueued(st) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions queued, want %d", store.GroupQueued(st), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// holdWriter starts a transaction that holds the writer until release is
// called, so that the transactions started meanwhile queue up and commit
// together after it.
func holdWriter(t *testing.T, ctx context.Context, st *store.Store) (release func()) {
	t.Helper()
	running, hold, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- st.InTx(ctx, func(tx *store.Tx) error {
			close(running)
			<-hold
			return nil
		})
	}()
	<-running
	return func() {
		close(hold)
		require.NoError(t, <-done)
	}
}

func TestGroupCommit(t *testing.T) {
	t.Parallel()
	ctx, st := sqliteStore(t)
	release := holdWriter(t, ctx, st)
	before := store.GroupCommits(st)

	type answer struct {
		name    string
		err     error
		visible bool // whether a reader saw the row when InTx answered
		panic   any
	}
	answers := make(chan answer, 10)
	start := func(name string, fn func(tx *store.Tx) error) {
		go func() {
			a := answer{name: name}
			defer func() {
				a.panic = recover()
				answers <- a
			}()
			a.err = st.InTx(ctx, fn)
			_, err := st.CommunityGetBySlug(ctx, name)
			a.visible = err == nil
		}()
	}
	insert := func(name string) func(tx *store.Tx) error {
		return func(tx *store.Tx) error {
			_, err := tx.CommunityInsert(ctx, name, "")
			return err
		}
	}
	boom := errors.New("boom")
	queued := 0
	for i := range 3 {
		start(fmt.Sprintf("ok-%d", i), insert(fmt.Sprintf("ok-%d", i)))
		queued++
		waitQueued(t, st, queued)
	}
	start("fails", func(tx *store.Tx) error {
		require.NoError(t, insert("fails")(tx))
		// It sees what the transactions before it in its group wrote.
		_, err := tx.CommunityGetBySlug(ctx, "ok-2")
		require.NoError(t, err)
		return boom
	})
	waitQueued(t, st, queued+1)
	start("panics", func(tx *store.Tx) error {
		require.NoError(t, insert("panics")(tx))
		panic("panics")
	})
	waitQueued(t, st, queued+2)
	// A failed statement is rolled back with the rest of its transaction.
	start("conflict", func(tx *store.Tx) error {
		require.NoError(t, insert("conflict")(tx))
		_, err := tx.CommunityInsert(ctx, "ok-0", "")
		return err
	})
	waitQueued(t, st, queued+3)
	cancelled, cancel := context.WithCancel(ctx)
	cancelledRan := false
	cancelledErr := make(chan error, 1)
	go func() {
		cancelledErr <- st.InTx(cancelled, func(tx *store.Tx) error {
			cancelledRan = true
			return nil
		})
	}()
	waitQueued(t, st, queued+4)
	start("last", insert("last"))
	waitQueued(t, st, queued+5)
	cancel()
	require.ErrorIs(t, <-cancelledErr, context.Canceled, "a caller whose context ends in the queue leaves it")

	release()
	got := map[string]answer{}
	for range 7 {
		a := <-answers
		got[a.name] = a
	}
	for _, name := range []string{"ok-0", "ok-1", "ok-2", "last"} {
		require.NoError(t, got[name].err, name)
		require.Nil(t, got[name].panic, name)
		require.True(t, got[name].visible, "%s was answered before its commit", name)
	}
	require.ErrorIs(t, got["fails"].err, boom)
	require.ErrorIs(t, got["conflict"].err, store.ErrConflict)
	require.Equal(t, "panics", got["panics"].panic, "a panic is raised again in the caller's goroutine")
	for _, name := range []string{"fails", "panics", "conflict"} {
		_, err := st.CommunityGetBySlug(ctx, name)
		require.ErrorIs(t, err, store.ErrNotFound, "%s's writes were rolled back", name)
	}
	require.False(t, cancelledRan, "the abandoned transaction never ran")
	// The held transaction committed alone, then the five queued ones
	// together.
	require.Equal(t, int64(2), store.GroupCommits(st)-before)
}

func TestGroupCommitFailureFailsTheGroup(t *testing.T) {
	t.Parallel()
	ctx, st := sqliteStore(t)
	release := holdWriter(t, ctx, st)

	errs := make(chan error, 3)
	for i := range 2 {
		go func() {
			errs <- st.InTx(ctx, func(tx *store.Tx) error {
				_, err := tx.CommunityInsert(ctx, fmt.Sprintf("innocent-%d", i), "")
				return err
			})
		}()
		waitQueued(t, st, i+1)
	}
	// A reference checked only at commit: the statement succeeds, the
	// commit fails, and with it the whole group.
	go func() {
		errs <- st.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.SQL().ExecContext(ctx, "PRAGMA defer_foreign_keys = ON"); err != nil {
				return err
			}
			_, err := tx.PluginInstanceInsert(ctx, &store.PluginInstanceInsertParams{
				CommunityID: 999999, Name: "kit", Config: json.RawMessage(`{}`)})
			return err
		})
	}()
	waitQueued(t, st, 3)
	release()
	for range 3 {
		err := <-errs
		require.Error(t, err)
		require.True(t, store.IsMissingReference(err), "%v", err)
	}
	for i := range 2 {
		_, err := st.CommunityGetBySlug(ctx, fmt.Sprintf("innocent-%d", i))
		require.ErrorIs(t, err, store.ErrNotFound, "nothing of a failed group is written")
	}
	// The writer goes on.
	require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.CommunityInsert(ctx, "after", "")
		return err
	}))
	_, err := st.CommunityGetBySlug(ctx, "after")
	require.NoError(t, err)
}

// TestInTxAnswersAfterCommit starts many concurrent transactions and checks
// that each one's writes are visible to other connections by the time InTx
// returns: on SQLite they commit in groups, and a caller answered before its
// group's commit would not find its row.
func TestInTxAnswersAfterCommit(t *testing.T) {
	eachDatabase(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for w := range 16 {
			wg.Go(func() {
				for i := range 40 {
					slug := fmt.Sprintf("w%d-%d", w, i)
					err := b.st.InTx(b.ctx, func(tx *store.Tx) error {
						_, err := tx.CommunityInsert(b.ctx, slug, "")
						return err
					})
					if err == nil {
						_, err = b.st.CommunityGetBySlug(b.ctx, slug)
					}
					if err != nil {
						errs <- fmt.Errorf("%s: %w", slug, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

func TestInTxAfterClose(t *testing.T) {
	t.Parallel()
	st, err := store.Open(context.Background(), apptest.SQLite(t).DSN)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	err = st.InTx(context.Background(), func(tx *store.Tx) error { return nil })
	require.ErrorIs(t, err, store.ErrClosed)
}
