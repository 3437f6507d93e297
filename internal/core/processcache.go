package core

import (
	"container/list"
	"sync"
	"time"

	"github.com/metagov/metagov-go/internal/store"
)

// processCache keeps recently read process records for GET, so that reading
// a process does not query the database each time. It is bounded by a byte
// budget, least recently used first out.
//
// Freshness:
//   - A change committed by this gateway process drops the record before the
//     change is answered, so whoever made it reads it back (read-your-writes).
//     A read that started before the change and finishes after it does not
//     store what it read: every change bumps a version counter for its id,
//     and a read stores its row only if the counter did not move meanwhile.
//   - A change made by another gateway process sharing the database is seen
//     once the record is older than ttl (the config watch interval, one
//     second by default), the same bound as for communities. A per-record
//     age rather than a shared change counter, because processes change far
//     more often than configuration and a counter every change bumps would
//     be one hot row that all gateways' writes queue on.
//
// Only what the process view shows is kept: not the input, state or
// callback URL.
type processCache struct {
	ttl    time.Duration
	budget int

	mu   sync.Mutex
	size int
	lru  *list.List // of *processEntry, most recently used at the front
	byID map[int64]*list.Element
	// versions counts the changes to the processes of each stripe of ids.
	versions [64]uint64
}

type processEntry struct {
	row    store.Process
	loaded time.Time
	size   int
}

// processEntryOverhead approximates an entry's memory beside its bytes: the
// struct, its list element and its map slot.
const processEntryOverhead = 320

func newProcessCache(ttl time.Duration, budget int) *processCache {
	return &processCache{ttl: ttl, budget: budget, lru: list.New(), byID: map[int64]*list.Element{}}
}

// get returns a cached record no older than the ttl.
func (c *processCache) get(id int64) (store.Process, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[id]
	if !ok {
		return store.Process{}, false
	}
	e := el.Value.(*processEntry)
	if time.Since(e.loaded) > c.ttl {
		c.remove(el)
		return store.Process{}, false
	}
	c.lru.MoveToFront(el)
	return e.row, true
}

// version is the change counter to pass to put for a read of id that is
// about to start.
func (c *processCache) version(id int64) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.versions[stripe(id)]
}

// put stores a record read from the database after version was taken,
// unless a change to it was committed since.
func (c *processCache) put(p store.Process, version uint64, loaded time.Time) {
	p.Input, p.State, p.CallbackURL = nil, nil, ""
	size := processEntryOverhead + len(p.Plugin) + len(p.Name) + len(p.Status) + len(p.Outcome) + len(p.Errors) + len(p.URL)
	if size > c.budget/64 {
		return // one huge outcome must not push out everything else
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.versions[stripe(p.ID)] != version {
		return
	}
	if el, ok := c.byID[p.ID]; ok {
		c.remove(el)
	}
	c.byID[p.ID] = c.lru.PushFront(&processEntry{row: p, loaded: loaded, size: size})
	c.size += size
	for c.size > c.budget {
		c.remove(c.lru.Back())
	}
}

// invalidate drops a process whose change was just committed (or was found
// to have been committed by another gateway process).
func (c *processCache) invalidate(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.versions[stripe(id)]++
	if el, ok := c.byID[id]; ok {
		c.remove(el)
	}
}

// dropAll empties the cache, when communities or plugin instances changed.
func (c *processCache) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.versions {
		c.versions[i]++
	}
	clear(c.byID)
	c.lru.Init()
	c.size = 0
}

func (c *processCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*processEntry)
	delete(c.byID, e.row.ID)
	c.size -= e.size
}

func stripe(id int64) uint64 { return uint64(id) % 64 }
