// Package pluginrt is the gateway's side of the plugin SDK: what only the
// gateway (internal/core), the conformance kit (plugin/plugintest) and the
// plugins' own tests call, kept out of package plugin so that its
// documentation shows only what a plugin author uses.
//
// The gateway builds a *plugin.Call with [NewCall] for every invocation,
// passes it to the plugin, and commits what [Changes] reports when the
// invocation succeeds; a process invocation does the same with
// [NewProcess] and [ProcessChanges]. Package plugin implements these (the
// fields are its own) and hands them over at init through package
// internal/pluginrt/hook, which says why it takes that shape.
package pluginrt

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/metagov/metagov-go/internal/pluginrt/hook"
	"github.com/metagov/metagov-go/plugin"
)

// The SDK as package plugin registered it; plugin's init runs before this
// package's, because this package imports it.
var sdk = hook.Registered[plugin.Call, plugin.Process, plugin.Account, plugin.Initiator, plugin.Status, plugin.Info]()

// StateLoaderFunc reads one durable state value; found is false when the key
// was never set.
type StateLoaderFunc = hook.StateLoaderFunc

// StateListerFunc reads every durable state value whose key starts with
// prefix.
type StateListerFunc = hook.StateListerFunc

// StateScannerFunc calls fn for every durable state value whose key starts
// with prefix, in byte order of the keys, stopping at fn's first error; the
// value is only valid during the call of fn.
type StateScannerFunc = hook.StateScannerFunc

// StateFloorFunc finds the durable state value with the greatest key that
// starts with prefix and is at most key (below key when inclusive is
// false), in byte order; found is false when there is none.
type StateFloorFunc = hook.StateFloorFunc

// CallChanges is what an invocation changed, for the gateway to commit.
type CallChanges = hook.CallChanges[plugin.Account, plugin.Initiator]

// EmittedEvent is an event a plugin emitted, with its data encoded.
type EmittedEvent = hook.EmittedEvent[plugin.Initiator]

// ProcessRecord is the stored form of a process, as the gateway loads it.
type ProcessRecord = hook.ProcessRecord[plugin.Status]

// ProcessChanges is what an invocation changed in a process.
type ProcessChanges = hook.ProcessChanges[plugin.Status]

// NewCall starts a unit of work over the instance state that load reads and
// list lists (either may be nil: no state), at the gateway's clock now (nil
// is time.Now, for unit tests only).
func NewCall(load StateLoaderFunc, list StateListerFunc, now func() time.Time) *plugin.Call {
	return sdk.NewCall(load, list, now)
}

// NewCallOver starts a unit of work over stored state held in a map (nil:
// none), read by Get and List alike (Scan and Floor read through the
// lister): for a call whose state is already in memory, such as an
// instance being disabled, and for plugins' unit tests.
func NewCallOver(state map[string]json.RawMessage, now func() time.Time) *plugin.Call {
	return NewCall(func(_ context.Context, key string) (json.RawMessage, bool, error) {
		v, ok := state[key]
		return v, ok, nil
	}, func(_ context.Context, prefix string) (map[string]json.RawMessage, error) {
		out := map[string]json.RawMessage{}
		for k, v := range state {
			if strings.HasPrefix(k, prefix) {
				out[k] = v
			}
		}
		return out, nil
	}, now)
}

// WithScanner lets c's State.Scan stream stored values through scan
// instead of reading them all through the lister, and returns c.
func WithScanner(c *plugin.Call, scan StateScannerFunc) *plugin.Call {
	sdk.SetScanner(c, scan)
	return c
}

// WithFloor lets c's State.Floor ask floor for the one stored key it needs
// instead of reading every key under the prefix through the lister, and
// returns c.
func WithFloor(c *plugin.Call, floor StateFloorFunc) *plugin.Call {
	sdk.SetFloor(c, floor)
	return c
}

// Changes returns what the invocation c changed.
func Changes(c *plugin.Call) CallChanges { return sdk.CallChanges(c) }

// NewProcess wraps a stored process for one invocation.
func NewProcess(rec ProcessRecord) *plugin.Process { return sdk.NewProcess(rec) }

// ProcessChangesOf returns the process p after the invocation.
func ProcessChangesOf(p *plugin.Process) ProcessChanges { return sdk.ProcessChanges(p) }

// BoundTypes returns the input and output types of a RunFunc made by
// plugin.Bind, and ok false for any other RunFunc (which it does not call):
// the conformance kit compares them with the action's schemas.
func BoundTypes(run plugin.RunFunc) (in, out reflect.Type, ok bool) { return sdk.BoundTypes(run) }

// LinkQualityRank orders link qualities, weakest first: unknown (or empty)
// 0, unconfirmed 1, confirmed (weak) 2, confirmed (strong) 3; -1 for
// anything else.
func LinkQualityRank(q string) int { return sdk.LinkQualityRank(q) }

// List returns every registered plugin, sorted by name.
func List() []plugin.Info { return sdk.List() }

// Lookup returns the registered plugin with the given name.
func Lookup(name string) (plugin.Info, bool) { return sdk.Lookup(name) }
