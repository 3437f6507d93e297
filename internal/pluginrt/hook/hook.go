// Package hook carries the gateway-only half of package plugin to package
// internal/pluginrt without exporting it from plugin, so that plugin's
// documentation shows only what a plugin author uses.
//
// Go's visibility rules force the shape. The gateway must build a
// *plugin.Call and read back what it buffered, which only code in package
// plugin can do (the fields are unexported); yet plugin cannot import
// pluginrt, which imports plugin. So plugin's init hands its gateway-only
// functions to Register here, in a package both can import, and pluginrt
// takes them with [Registered], typed by plugin's own types. The data that
// crosses (changes, process records) is declared here, generic over the
// plugin types it carries (an account, an initiator), so that it is
// written once.
//
// Nothing but package plugin and package internal/pluginrt imports it.
package hook

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

// StateLoaderFunc reads one durable state value; found is false when the
// key was never set.
type StateLoaderFunc func(ctx context.Context, key string) (value json.RawMessage, found bool, err error)

// StateListerFunc reads every durable state value whose key starts with
// prefix.
type StateListerFunc func(ctx context.Context, prefix string) (map[string]json.RawMessage, error)

// StateScannerFunc calls fn for every durable state value whose key starts
// with prefix, in byte order of the keys, stopping at fn's first error; the
// value is only valid during the call of fn.
type StateScannerFunc func(ctx context.Context, prefix string, fn func(key string, value json.RawMessage) error) error

// StateFloorFunc finds the durable state value with the greatest key that
// starts with prefix and is at most key (below key when inclusive is
// false), in byte order; found is false when there is none.
type StateFloorFunc func(ctx context.Context, prefix, key string, inclusive bool) (k string, value json.RawMessage, found bool, err error)

// EmittedEvent is an event with its data encoded; I is plugin.Initiator.
type EmittedEvent[I any] struct {
	Type      string
	Data      json.RawMessage
	Initiator *I
}

// CallChanges is what an invocation changed, for the gateway to commit; A
// is plugin.Account and I plugin.Initiator.
type CallChanges[A, I any] struct {
	// State holds the keys that were set; a nil value means the key was
	// deleted.
	State map[string]json.RawMessage
	// Expires holds, for the keys of State set with SetUntil, when they
	// expire.
	Expires map[string]time.Time
	// Events are the emitted events, in order.
	Events []EmittedEvent[I]
	// Warnings are the notices recorded with Warn, in order.
	Warnings []string
	// Links are the accounts linked with Identity().Link, in order.
	Links []A
	// PlatformID is the id reported with SetPlatformID, or "".
	PlatformID string
}

// ProcessRecord is the stored form of a process, as the gateway loads it; S
// is plugin.Status.
type ProcessRecord[S any] struct {
	ID      int64
	Name    string // the process type's name, without the plugin prefix
	Input   json.RawMessage
	Status  S
	Outcome json.RawMessage
	Errors  json.RawMessage
	URL     string
	State   map[string]json.RawMessage
}

// ProcessChanges is what an invocation changed in a process; S is
// plugin.Status.
type ProcessChanges[S any] struct {
	// Record is the process after the invocation.
	Record ProcessRecord[S]
	// Changed reports whether status, outcome, errors or URL changed.
	Changed bool
	// StateChanged reports whether the process state changed.
	StateChanged bool
	// Wakes are the requested wake-up times.
	Wakes []time.Time
}

// SDK is the gateway-only half of package plugin, instantiated with its
// types: C is plugin.Call, P plugin.Process, A plugin.Account, I
// plugin.Initiator, S plugin.Status, N plugin.Info.
type SDK[C, P, A, I, S, N any] struct {
	// NewCall starts a unit of work over the state load and list read, at
	// the clock now.
	NewCall func(load StateLoaderFunc, list StateListerFunc, now func() time.Time) *C
	// SetScanner lets the call's State.Scan stream stored values.
	SetScanner func(*C, StateScannerFunc)
	// SetFloor lets the call's State.Floor ask the store for one key.
	SetFloor func(*C, StateFloorFunc)
	// CallChanges returns what the call changed.
	CallChanges func(*C) CallChanges[A, I]
	// NewProcess wraps a stored process for one invocation.
	NewProcess func(ProcessRecord[S]) *P
	// ProcessChanges returns the process after the invocation.
	ProcessChanges func(*P) ProcessChanges[S]
	// BoundTypes returns the input and output types of a plugin.RunFunc
	// made by plugin.Bind.
	BoundTypes func(run any) (in, out reflect.Type, ok bool)
	// LinkQualityRank orders link qualities, weakest first; -1 for an
	// unknown one.
	LinkQualityRank func(quality string) int
	// List returns every registered plugin, sorted by name.
	List func() []N
	// Lookup returns the registered plugin with the given name.
	Lookup func(name string) (N, bool)
}

// registered is what package plugin passed to Register.
var registered any

// Register is called once, by package plugin's init, with its SDK.
func Register(sdk any) {
	if registered != nil {
		panic("hook: Register called twice")
	}
	registered = sdk
}

// Registered returns what package plugin registered, as an SDK of the
// types given. It panics if plugin registered nothing or other types: a
// build that cannot run plugins at all, found by any test.
func Registered[C, P, A, I, S, N any]() SDK[C, P, A, I, S, N] {
	sdk, ok := registered.(SDK[C, P, A, I, S, N])
	if !ok {
		panic(fmt.Sprintf("hook: package plugin registered %T, not %T", registered, sdk))
	}
	return sdk
}
