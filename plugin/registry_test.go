package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/pluginrt"
	"github.com/metagov/metagov-go/plugin"
)

// registered counts the plugins these tests register, so that every name is
// unique even when the tests run several times in one process (-count).
var registered atomic.Int64

// uniqueName returns a fresh plugin name with the "plugintest-" prefix.
func uniqueName(base string) string {
	return fmt.Sprintf("plugintest-%s-%d", base, registered.Add(1))
}

func newInstance() plugin.Instance { return &counter{} }

func noopRun(context.Context, plugin.Instance, *plugin.Call, json.RawMessage) (any, error) {
	return nil, nil
}

type noopHandler struct{}

func (noopHandler) Start(context.Context, *plugin.Call, *plugin.Process) error { return nil }

func newNoopHandler(plugin.Instance) plugin.ProcessHandler { return noopHandler{} }

// panicValue runs f and returns what it panicked with, or nil.
func panicValue(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

func TestRegisterRejectsProgrammingErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		info func(name string) plugin.Info
		want string // a fragment of the panic message
	}{
		{name: "empty name", info: func(string) plugin.Info {
			return plugin.Info{Name: "", New: newInstance}
		}, want: `plugin name ""`},
		{name: "upper case name", info: func(n string) plugin.Info {
			return plugin.Info{Name: strings.ToUpper(n), New: newInstance}
		}, want: "must match"},
		{name: "name with a dot", info: func(n string) plugin.Info {
			return plugin.Info{Name: n + ".x", New: newInstance}
		}, want: "must match"},
		{name: "name with a slash", info: func(n string) plugin.Info {
			return plugin.Info{Name: n + "/x", New: newInstance}
		}, want: "must match"},
		{name: "name with a space", info: func(n string) plugin.Info {
			return plugin.Info{Name: n + " x", New: newInstance}
		}, want: "must match"},
		{name: "name starting with a dash", info: func(n string) plugin.Info {
			return plugin.Info{Name: "-" + n, New: newInstance}
		}, want: "must match"},
		{name: "nil New", info: func(n string) plugin.Info {
			return plugin.Info{Name: n}
		}, want: "nil New"},
		{name: "invalid action name", info: func(n string) plugin.Info {
			return plugin.Info{Name: n, New: newInstance, Actions: []plugin.Action{{Name: "Post.Message", Run: noopRun}}}
		}, want: `action name "Post.Message"`},
		{name: "action without Run", info: func(n string) plugin.Info {
			return plugin.Info{Name: n, New: newInstance, Actions: []plugin.Action{{Name: "post"}}}
		}, want: `action "post" needs exactly one of Run and RunProcess`},
		{name: "duplicate action", info: func(n string) plugin.Info {
			return plugin.Info{Name: n, New: newInstance, Actions: []plugin.Action{
				{Name: "post", Run: noopRun}, {Name: "get", Run: noopRun}, {Name: "post", Run: noopRun},
			}}
		}, want: `duplicate action "post"`},
		{name: "invalid process name", info: func(n string) plugin.Info {
			return plugin.Info{Name: n, New: newInstance, Processes: []plugin.ProcessType{{Name: "", New: newNoopHandler}}}
		}, want: `process name ""`},
		{name: "process without New", info: func(n string) plugin.Info {
			return plugin.Info{Name: n, New: newInstance, Processes: []plugin.ProcessType{{Name: "vote"}}}
		}, want: `process "vote" has a nil New`},
		{name: "duplicate process", info: func(n string) plugin.Info {
			return plugin.Info{Name: n, New: newInstance, Processes: []plugin.ProcessType{
				{Name: "vote", New: newNoopHandler}, {Name: "vote", New: newNoopHandler},
			}}
		}, want: `duplicate process "vote"`},
		{name: "unknown auth type", info: func(n string) plugin.Info {
			return plugin.Info{Name: n, New: newInstance, AuthType: "password"}
		}, want: `unknown auth type "password"`},
		{name: "oauth without an installer", info: func(n string) plugin.Info {
			return plugin.Info{Name: n, New: newInstance, AuthType: plugin.AuthOAuth}
		}, want: "OAuth must be set exactly when AuthType is"},
		{name: "installer without oauth", info: func(n string) plugin.Info {
			return plugin.Info{Name: n, New: newInstance, AuthType: plugin.AuthAPIKey, OAuth: noopInstaller{}}
		}, want: "OAuth must be set exactly when AuthType is"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := uniqueName("invalid")
			info := tc.info(name)
			v := panicValue(func() { plugin.Register(info) })
			require.NotNil(t, v, "Register must panic")
			require.Contains(t, fmt.Sprint(v), tc.want)
			_, ok := pluginrt.Lookup(info.Name)
			require.False(t, ok, "a rejected plugin must not be registered")
		})
	}
}

func TestRegisterAllowsSameNameForActionAndProcess(t *testing.T) {
	t.Parallel()
	name := uniqueName("shared")
	require.NotPanics(t, func() {
		plugin.Register(plugin.Info{
			Name:      name,
			New:       newInstance,
			Actions:   []plugin.Action{{Name: "vote", Run: noopRun}},
			Processes: []plugin.ProcessType{{Name: "vote", New: newNoopHandler}},
			AuthType:  plugin.AuthAPIKey,
		})
	})
	_, ok := pluginrt.Lookup(name)
	require.True(t, ok)
}

func TestRegisterDuplicatePlugin(t *testing.T) {
	t.Parallel()
	name := uniqueName("dup")
	plugin.Register(plugin.Info{Name: name, Description: "first", New: newInstance})
	v := panicValue(func() { plugin.Register(plugin.Info{Name: name, Description: "second", New: newInstance}) })
	require.NotNil(t, v, "registering a name twice must panic")
	require.Contains(t, fmt.Sprint(v), name)
	info, ok := pluginrt.Lookup(name)
	require.True(t, ok)
	require.Equal(t, "first", info.Description, "the first registration stays")
}

func TestLookupAndList(t *testing.T) {
	t.Parallel()
	// Registered out of order; List must sort.
	names := []string{uniqueName("zeta"), uniqueName("alpha"), uniqueName("mid")}
	for _, n := range names {
		plugin.Register(plugin.Info{Name: n, Description: "desc of " + n, New: newInstance})
	}

	for _, n := range names {
		info, ok := pluginrt.Lookup(n)
		require.True(t, ok, n)
		require.Equal(t, n, info.Name)
		require.Equal(t, "desc of "+n, info.Description)
	}
	_, ok := pluginrt.Lookup("plugintest-never-registered")
	require.False(t, ok)

	list := pluginrt.List()
	require.True(t, slices.IsSortedFunc(list, func(a, b plugin.Info) int { return strings.Compare(a.Name, b.Name) }),
		"List must be sorted by name")
	var listed []string
	for _, info := range list {
		listed = append(listed, info.Name)
	}
	for _, n := range names {
		require.Contains(t, listed, n)
	}
	require.Equal(t, len(listed), len(slices.Compact(slices.Clone(listed))), "no plugin is listed twice")
}

// counter is an instance type for Bind.
type counter struct{ base int }

type addIn struct {
	N    int    `json:"n"`
	Note string `json:"note"`
}

type addOut struct {
	Sum  int    `json:"sum"`
	Note string `json:"note"`
}

func (c *counter) add(_ context.Context, _ *plugin.Call, in addIn) (addOut, error) {
	return addOut{Sum: c.base + in.N, Note: in.Note}, nil
}

type other struct{}

func TestBind(t *testing.T) {
	t.Parallel()
	run := plugin.Bind((*counter).add)
	tests := []struct {
		name      string
		inst      plugin.Instance
		params    string
		want      any
		wantErr   string
		wantInput bool // the error is an *InputError
	}{
		{name: "typed input", inst: &counter{base: 10}, params: `{"n": 5, "note": "hi"}`, want: addOut{Sum: 15, Note: "hi"}},
		{name: "unknown fields ignored", inst: &counter{base: 1}, params: `{"n": 1, "extra": true}`, want: addOut{Sum: 2}},
		{name: "empty parameters", inst: &counter{base: 3}, params: ``, want: addOut{Sum: 3}},
		{name: "null parameters", inst: &counter{base: 4}, params: `null`, want: addOut{Sum: 4}},
		{name: "wrong input type", inst: &counter{}, params: `{"n": "five"}`, wantErr: "'/n' must be an integer, not a JSON string", wantInput: true},
		{name: "wrong instance type", inst: &other{}, params: `{"n": 1}`, wantErr: "*plugin_test.other"},
		{name: "nil instance", inst: nil, params: `{}`, wantErr: "action expects"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := run(context.Background(), tc.inst, pluginrt.NewCall(nil, nil, nil), json.RawMessage(tc.params))
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
			var inputErr *plugin.InputError
			require.Equal(t, tc.wantInput, errors.As(err, &inputErr))
		})
	}
}

// noopInstaller is an Installer that never talks to a platform.
type noopInstaller struct{}

func (noopInstaller) AuthorizeURL(context.Context, *plugin.AuthorizeRequest) (string, error) {
	return "https://platform.example/authorize", nil
}

func (noopInstaller) Install(context.Context, *plugin.InstallRequest) (*plugin.Installation, error) {
	return &plugin.Installation{}, nil
}
