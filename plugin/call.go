package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/metagov/metagov-go/internal/pluginrt/hook"
)

// Call is one invocation of a plugin: an action, a webhook, a poll, a step of
// a process. It buffers what the plugin changes; the gateway commits it in
// one transaction when the invocation succeeds and drops it when it fails.
type Call struct {
	state    *State
	events   []hook.EmittedEvent[Initiator]
	warnings []string
	identity Identity
	now      func() time.Time
	// platformID is what SetPlatformID reported, or "".
	platformID string
}

// newCall starts a unit of work over the instance state that load and list
// read, at the clock now (the gateway's; time.Now only in a unit test that
// gives none). The gateway reaches it through internal/pluginrt.
func newCall(load hook.StateLoaderFunc, list hook.StateListerFunc, now func() time.Time) *Call {
	if now == nil {
		now = time.Now
	}
	st := newState(load)
	st.now = now
	st.list = list
	return &Call{state: st, now: now}
}

// setScanner lets State.Scan stream stored keys (without it, Scan reads
// through the lister). The gateway reaches it through internal/pluginrt.
func (c *Call) setScanner(scan hook.StateScannerFunc) { c.state.scan = scan }

// setFloor lets State.Floor ask the store for the one key it needs
// (without it, Floor reads through the scanner or the lister). The gateway
// reaches it through internal/pluginrt.
func (c *Call) setFloor(floor hook.StateFloorFunc) { c.state.floor = floor }

// State is the instance's durable key-value state.
func (c *Call) State() *State { return c.state }

// Identity links platform accounts to the identities of the instance's
// community (the identity API's linked accounts), committed with the call.
func (c *Call) Identity() *Identity { return &c.identity }

// Now is the gateway's clock.
func (c *Call) Now() time.Time { return c.now() }

// Emit queues an event for the driver. It is delivered only if the
// invocation succeeds.
func (c *Call) Emit(e Event) error {
	if e.Type == "" {
		return fmt.Errorf("emitting event: empty event type")
	}
	data, err := eventData(e)
	if err != nil {
		return fmt.Errorf("encoding data of event %q: %w", e.Type, err)
	}
	c.events = append(c.events, hook.EmittedEvent[Initiator]{Type: e.Type, Data: data, Initiator: e.Initiator})
	return nil
}

// Warn records a notice for people: something the invocation did only in
// part, which the caller should hear about without it failing, such as a
// webhook the platform would not accept at the gateway's public URL. The
// gateway logs every notice; those of an Initialize are also returned in the
// answer to the enable or config change, under "warnings".
func (c *Call) Warn(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

// SetPlatformID reports, from Initialize, the platform account the config
// resolves to, when the config property named by Info.PlatformIDKey may
// name one account several ways (a Loomio group by id, key or handle) or
// be left out (the key's only group). The instance's platform id (its
// community_platform_id, [Env].PlatformID, the value drivers select it by)
// is then id, not the property's value: write it the one canonical way the
// platform spells the account. The gateway applies the usual rule to it
// before writing anything: a community has one instance of a plugin per
// platform id, so a config whose id is an existing instance's updates that
// instance (prepared again with its secrets and state, which runs
// Initialize a second time: keep Initialize safe to repeat) and a plugin
// list naming it twice is refused. An empty id, and a call outside
// Initialize, change nothing; a plugin without Info.PlatformIDKey must not
// call it.
func (c *Call) SetPlatformID(id string) { c.platformID = id }

// changes returns what the invocation changed, for the gateway.
func (c *Call) changes() hook.CallChanges[Account, Initiator] {
	return hook.CallChanges[Account, Initiator]{State: maps.Clone(c.state.changes), Expires: maps.Clone(c.state.expires), Events: c.events,
		Warnings: c.warnings, Links: c.identity.links, PlatformID: c.platformID}
}

// State is a durable key-value store of JSON values. Reads see the
// invocation's own writes; writes become durable when the invocation
// succeeds. Concurrent invocations that set the same key: the last to commit
// wins.
type State struct {
	load    hook.StateLoaderFunc
	list    hook.StateListerFunc
	scan    hook.StateScannerFunc
	floor   hook.StateFloorFunc
	changes map[string]json.RawMessage
	expires map[string]time.Time
	// now is the clock SetUntil compares with; nil for a process's state,
	// which cannot expire.
	now func() time.Time
}

func newState(load hook.StateLoaderFunc) *State {
	if load == nil {
		load = func(context.Context, string) (json.RawMessage, bool, error) { return nil, false, nil }
	}
	return &State{load: load, changes: map[string]json.RawMessage{}, expires: map[string]time.Time{}}
}

// Get decodes the value stored under key into v and reports whether there was
// one.
func (s *State) Get(ctx context.Context, key string, v any) (bool, error) {
	raw, changed := s.changes[key]
	if !changed {
		var found bool
		var err error
		raw, found, err = s.load(ctx, key)
		if err != nil {
			return false, fmt.Errorf("reading state %q: %w", key, err)
		}
		if !found {
			return false, nil
		}
	}
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("decoding state %q: %w", key, err)
	}
	return true, nil
}

// Set stores v, which must marshal to JSON, under key, for good.
func (s *State) Set(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding state %q: %w", key, err)
	}
	s.changes[key] = raw
	delete(s.expires, key)
	return nil
}

// SetUntil stores v under key until the time until, by the gateway's clock:
// from then on the key reads as absent and the gateway deletes it. It is for
// many small values that matter only for a while, such as the ids of
// recently received webhooks, so that they neither pile up nor need a large
// value rewritten to prune them. Only an instance's state expires: on a
// process's state, which goes with the process, SetUntil is an error.
func (s *State) SetUntil(key string, v any, until time.Time) error {
	if s.now == nil {
		return fmt.Errorf("setting state %q: a process's state cannot expire", key)
	}
	if !until.After(s.now()) {
		s.Delete(key)
		return nil
	}
	if err := s.Set(key, v); err != nil {
		return err
	}
	s.expires[key] = until
	return nil
}

// Delete removes key.
func (s *State) Delete(key string) {
	s.changes[key] = nil
	delete(s.expires, key)
}

// List returns every value whose key starts with prefix, this invocation's
// writes included, so a plugin can keep many small values (one per ballot,
// say) instead of rewriting one large one.
func (s *State) List(ctx context.Context, prefix string) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	if s.list != nil {
		stored, err := s.list(ctx, prefix)
		if err != nil {
			return nil, fmt.Errorf("listing state %q: %w", prefix, err)
		}
		maps.Copy(out, stored)
	}
	for k, v := range s.changes {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out, nil
}

// Scan calls fn for every value whose key starts with prefix, in byte order
// of the keys, this invocation's writes included, and stops at fn's first
// error, which it returns. Unlike List it holds no map of the values, so
// reading many small values (a vote's ballots) costs one pass over them.
// The value is only valid during the call: fn must copy what it keeps.
func (s *State) Scan(ctx context.Context, prefix string, fn func(key string, value json.RawMessage) error) error {
	var pending []string // this invocation's keys under prefix, sorted
	for k := range s.changes {
		if strings.HasPrefix(k, prefix) {
			pending = append(pending, k)
		}
	}
	slices.Sort(pending)
	// emit visits this invocation's keys up to key (all of them when all
	// is set), and reports whether key itself was written by it.
	emit := func(key string, all bool) (bool, error) {
		for len(pending) > 0 && (all || pending[0] <= key) {
			k := pending[0]
			pending = pending[1:]
			if !all && k == key {
				if v := s.changes[k]; v != nil {
					return true, fn(k, v)
				}
				return true, nil
			}
			if v := s.changes[k]; v != nil {
				if err := fn(k, v); err != nil {
					return false, err
				}
			}
		}
		return false, nil
	}
	stored := func(key string, value json.RawMessage) error {
		mine, err := emit(key, false)
		if err != nil || mine {
			return err
		}
		return fn(key, value)
	}
	switch {
	case s.scan != nil:
		if err := s.scan(ctx, prefix, stored); err != nil {
			return fmt.Errorf("scanning state %q: %w", prefix, err)
		}
	case s.list != nil:
		all, err := s.list(ctx, prefix)
		if err != nil {
			return fmt.Errorf("listing state %q: %w", prefix, err)
		}
		for _, k := range slices.Sorted(maps.Keys(all)) {
			if err := stored(k, all[k]); err != nil {
				return err
			}
		}
	}
	_, err := emit("", true)
	return err
}

// Floor finds the greatest key that starts with prefix and is at most key
// in byte order, this invocation's writes and deletes included, decodes its
// value into v, and returns that key; ok is false when there is none. key
// need not start with prefix: below prefix nothing is found, and above
// every key under prefix the greatest of them is. A value that expired
// (SetUntil) is absent, as for Get. It is for sorted pages of values: keep
// each page under prefix plus its first entry's key, and
// Floor(ctx, prefix, prefix+entry, &page) finds the page an entry belongs
// on with one lookup, however many pages there are.
func (s *State) Floor(ctx context.Context, prefix, key string, v any) (found string, ok bool, err error) {
	if key < prefix {
		return "", false, nil
	}
	// The greatest key this invocation wrote (and did not delete) under
	// prefix and at most key; it wins over a stored key it equals.
	var pending string
	var havePending bool
	for k, raw := range s.changes {
		if raw != nil && k <= key && (!havePending || k > pending) && strings.HasPrefix(k, prefix) {
			pending, havePending = k, true
		}
	}
	stored, raw, haveStored, err := s.storedFloor(ctx, prefix, key)
	if err != nil {
		return "", false, fmt.Errorf("finding the state key at or below %q under %q: %w", key, prefix, err)
	}
	switch {
	case havePending && (!haveStored || pending >= stored):
		found, raw = pending, s.changes[pending]
	case haveStored:
		found = stored
	default:
		return "", false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return "", false, fmt.Errorf("decoding state %q: %w", found, err)
	}
	return found, true, nil
}

// storedFloor finds the greatest stored key under prefix and at most key
// that this invocation did not delete (it may have overwritten it), with
// its stored value.
func (s *State) storedFloor(ctx context.Context, prefix, key string) (string, json.RawMessage, bool, error) {
	deleted := func(k string) bool {
		raw, changed := s.changes[k]
		return changed && raw == nil
	}
	switch {
	case s.floor != nil:
		// One query, and one more below each stored key this invocation
		// deleted, which are few.
		inclusive := true
		for {
			k, raw, found, err := s.floor(ctx, prefix, key, inclusive)
			if err != nil || !found || !deleted(k) {
				return k, raw, found, err
			}
			key, inclusive = k, false
		}
	case s.scan != nil:
		var last string
		var lastRaw json.RawMessage
		var found bool
		errPast := errors.New("past key")
		err := s.scan(ctx, prefix, func(k string, raw json.RawMessage) error {
			if k > key {
				return errPast
			}
			if !deleted(k) {
				last, lastRaw, found = k, slices.Clone(raw), true
			}
			return nil
		})
		if err != nil && !errors.Is(err, errPast) {
			return "", nil, false, err
		}
		return last, lastRaw, found, nil
	case s.list != nil:
		all, err := s.list(ctx, prefix)
		if err != nil {
			return "", nil, false, err
		}
		var last string
		var found bool
		for k := range all {
			if k <= key && (!found || k > last) && !deleted(k) {
				last, found = k, true
			}
		}
		return last, all[last], found, nil
	}
	return "", nil, false, nil
}
