package plugin_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/pluginrt"
	"github.com/metagov/metagov-go/plugin"
)

type bindInst struct{ calls int }

type bindIn struct {
	N int `json:"n"`
}

type bindOut struct {
	Twice int `json:"twice"`
}

func (b *bindInst) double(_ context.Context, _ *plugin.Call, in bindIn) (bindOut, error) {
	b.calls++
	return bindOut{Twice: 2 * in.N}, nil
}

func (b *bindInst) echo(_ context.Context, _ *plugin.Call, in string) (string, error) {
	b.calls++
	return in, nil
}

// TestBoundTypes checks that the types of a Bind function can be read back
// without running the method, and that other RunFuncs are never called.
func TestBoundTypes(t *testing.T) {
	in, out, ok := pluginrt.BoundTypes(plugin.Bind((*bindInst).double))
	require.True(t, ok)
	require.Equal(t, reflect.TypeFor[bindIn](), in)
	require.Equal(t, reflect.TypeFor[bindOut](), out)

	// Two functions of one shape keep their own types.
	in, out, ok = pluginrt.BoundTypes(plugin.Bind((*bindInst).echo))
	require.True(t, ok)
	require.Equal(t, reflect.TypeFor[string](), in)
	require.Equal(t, reflect.TypeFor[string](), out)

	called := false
	plain := func(context.Context, plugin.Instance, *plugin.Call, json.RawMessage) (any, error) {
		called = true
		return nil, nil
	}
	_, _, ok = pluginrt.BoundTypes(plain)
	require.False(t, ok)
	require.False(t, called, "BoundTypes must not run a function Bind did not make")
	_, _, ok = pluginrt.BoundTypes(nil)
	require.False(t, ok)

	// The bound function still runs the method.
	inst := &bindInst{}
	got, err := plugin.Bind((*bindInst).double)(context.Background(), inst, nil, json.RawMessage(`{"n": 4}`))
	require.NoError(t, err)
	require.Equal(t, bindOut{Twice: 8}, got)
	require.Equal(t, 1, inst.calls)
}
