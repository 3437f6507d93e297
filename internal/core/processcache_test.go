package core

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/store"
)

func cachedRow(id int64, outcome string) store.Process {
	return store.Process{ID: id, Plugin: "kit", Name: "vote", Status: "pending", Outcome: json.RawMessage(outcome),
		Errors: json.RawMessage(`{}`), Input: json.RawMessage(`{"big":"input"}`), State: json.RawMessage(`{"s":1}`)}
}

func TestProcessCacheIsBounded(t *testing.T) {
	const budget = 64 * 1024
	c := newProcessCache(time.Hour, budget)
	outcome := `{"users":"` + strings.Repeat("x", 600) + `"}`
	for id := int64(1); id <= 100; id++ { // about 70 fit
		c.put(cachedRow(id, outcome), c.version(id), time.Now())
		if id == 60 {
			_, ok := c.get(1) // the oldest, used again: kept longer
			require.True(t, ok)
		}
		require.LessOrEqual(t, c.size, budget, "after %d records", id)
	}
	require.Less(t, len(c.byID), 100, "least recently used records went")
	for _, id := range []int64{1, 100} {
		_, ok := c.get(id)
		require.True(t, ok, "record %d was used lately and stays", id)
	}
	_, ok := c.get(2)
	require.False(t, ok, "an old record unused since went")

	huge := `{"users":"` + strings.Repeat("x", budget) + `"}`
	c.put(cachedRow(5000, huge), c.version(5000), time.Now())
	_, ok = c.get(5000)
	require.False(t, ok, "a record too big for the budget is not cached")
	_, ok = c.get(100)
	require.True(t, ok, "and pushes nothing out")

	got, _ := c.get(100)
	require.Nil(t, got.State, "only what the view shows is kept")
	require.Nil(t, got.Input)
}

func TestProcessCacheFreshness(t *testing.T) {
	c := newProcessCache(time.Second, 1<<20)

	v := c.version(7)
	c.invalidate(7) // a change commits while the read is under way
	c.put(cachedRow(7, `{"old":true}`), v, time.Now())
	_, ok := c.get(7)
	require.False(t, ok, "a read that raced with a change does not store what it read")

	c.put(cachedRow(7, `{"new":true}`), c.version(7), time.Now())
	got, ok := c.get(7)
	require.True(t, ok)
	require.JSONEq(t, `{"new":true}`, string(got.Outcome))

	c.invalidate(7)
	_, ok = c.get(7)
	require.False(t, ok, "a change drops the record")

	c.put(cachedRow(8, `{}`), c.version(8), time.Now().Add(-2*time.Second))
	_, ok = c.get(8)
	require.False(t, ok, "a record older than the ttl is read again")

	c.put(cachedRow(9, `{}`), c.version(9), time.Now())
	c.dropAll()
	_, ok = c.get(9)
	require.False(t, ok, "a config change drops everything")
	require.Zero(t, c.size)
}
