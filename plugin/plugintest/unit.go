package plugintest

import (
	"encoding/json"
	"time"

	"github.com/metagov/metagov-go/internal/pluginrt"
	"github.com/metagov/metagov-go/plugin"
)

// Unit tests of a plugin's own code, outside the gateway: package plugin
// exports no way to build a Call or a Process, or to read what one
// buffered, because only the gateway needs it; these give a plugin's tests
// the gateway's own (internal/pluginrt).

// StateLoaderFunc reads one state value of a unit test's Call; found is
// false when the key was never set.
type StateLoaderFunc = pluginrt.StateLoaderFunc

// CallChanges is what a Call changed: State (a nil value is a deleted key),
// Expires, Events (data encoded), Warnings, Links and PlatformID.
type CallChanges = pluginrt.CallChanges

// ProcessRecord is a process as the gateway stores it: ID, Name, Input,
// Status, Outcome, Errors, URL and State.
type ProcessRecord = pluginrt.ProcessRecord

// ProcessChanges is a process after an invocation: its Record, whether it
// Changed (status, outcome, errors, URL), whether its state changed
// (StateChanged), and the Wakes it asked for.
type ProcessChanges = pluginrt.ProcessChanges

// NewCall returns a Call for a unit test, over the state load reads (nil:
// none) at the clock now (nil: time.Now), as the gateway builds one for an
// invocation.
func NewCall(load StateLoaderFunc, now func() time.Time) *plugin.Call {
	return pluginrt.NewCall(load, nil, now)
}

// NewCallOver returns a Call for a unit test over the stored state state
// (nil: none) at the clock now (nil: time.Now): unlike [NewCall]'s loader,
// which answers Get alone, state is seen by every read, State.List,
// State.Scan and State.Floor included, as the gateway's store would be.
// The Call does not change state; [Changes] reports what it would commit.
func NewCallOver(state map[string]json.RawMessage, now func() time.Time) *plugin.Call {
	return pluginrt.NewCallOver(state, now)
}

// Changes returns what c changed, as the gateway would commit it.
func Changes(c *plugin.Call) CallChanges { return pluginrt.Changes(c) }

// NewProcess returns a Process for a unit test, as the gateway builds one
// from the stored rec for an invocation.
func NewProcess(rec ProcessRecord) *plugin.Process { return pluginrt.NewProcess(rec) }

// ProcessChangesOf returns the process p after an invocation, as the
// gateway would commit it.
func ProcessChangesOf(p *plugin.Process) ProcessChanges { return pluginrt.ProcessChangesOf(p) }

// Lookup returns the registered plugin with the given name, for a test that
// runs an action's Run itself.
func Lookup(name string) (plugin.Info, bool) { return pluginrt.Lookup(name) }
