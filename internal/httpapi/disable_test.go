package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugin"
)

// undoer is a plugin.Disabler registered only in these tests: Initialize
// keeps a "hook" in state, as a plugin registering a webhook would, and
// Disable records what it found there, then succeeds, fails, panics or
// warns as its config's mode says. Provision needs the setting
// UNDOER_READY, so a gateway without it cannot provision the instance.
type undoer struct {
	mode      string
	community string
}

// undone holds, per community, the hook each Disable found in its state.
var undone sync.Map

// meetings holds, per community, the Disables in mode "meet" that must all
// be running at once before any returns.
var meetings sync.Map

func init() {
	// undoer-twin is the same plugin under another name, for a second
	// instance in one community.
	for _, name := range []string{"undoer", "undoer-twin"} {
		plugin.Register(plugin.Info{
			Name:        name,
			Description: "Test plugin that undoes its setup when disabled",
			Config:      plugin.Schema(`{"type": "object", "properties": {"mode": {"type": "string", "enum": ["ok", "fail", "panic", "warn", "meet"], "default": "ok"}}}`),
			New:         func() plugin.Instance { return &undoer{} },
		})
	}
}

func (u *undoer) Provision(_ context.Context, env plugin.Env) error {
	if env.Setting("UNDOER_READY") == "" {
		return &plugin.SettingsError{Plugin: "undoer", Settings: []string{"UNDOER_READY"}}
	}
	var c struct {
		Mode string `json:"mode"`
	}
	if err := env.DecodeConfig(&c); err != nil {
		return err
	}
	u.mode, u.community = c.Mode, env.Community
	return nil
}

func (u *undoer) Initialize(_ context.Context, c *plugin.Call) error {
	return c.State().Set("hook", "hook of "+u.community)
}

func (u *undoer) Disable(ctx context.Context, c *plugin.Call) error {
	var hook string
	if _, err := c.State().Get(ctx, "hook", &hook); err != nil {
		return err
	}
	undone.Store(u.community, hook)
	switch u.mode {
	case "fail":
		return &plugin.PlatformError{Platform: "undoer", Status: http.StatusForbidden, Message: "not yours to delete"}
	case "panic":
		panic("secret internal detail")
	case "warn":
		c.Warn("left the archive in place")
	case "meet":
		v, ok := meetings.Load(u.community)
		if !ok {
			return fmt.Errorf("no meeting for %s", u.community)
		}
		all := v.(*sync.WaitGroup)
		all.Done()
		met := make(chan struct{})
		go func() { all.Wait(); close(met) }()
		select {
		case <-met:
		case <-ctx.Done():
			return fmt.Errorf("the other Disables never ran alongside: %w", ctx.Err())
		}
	}
	return nil
}

// TestDisablerThroughTheAPI checks what DELETE on a plugin answers for each
// outcome of its Disable, which runs with the instance's state as it was,
// and that the instance is removed whatever Disable does.
func TestDisablerThroughTheAPI(t *testing.T) {
	t.Parallel()
	ready := func(name string) string {
		if name == "UNDOER_READY" {
			return "yes"
		}
		return ""
	}
	tests := []struct {
		mode    string
		warning string // a fragment of the one warning; empty for a 204
		hidden  string // what the warning must not show
	}{
		{mode: "ok"},
		{mode: "fail", warning: "undoing its setup on the platform failed: undoer answered 403: not yours to delete"},
		{mode: "panic", warning: "an internal error", hidden: "secret internal detail"},
		{mode: "warn", warning: "left the archive in place"},
	}
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := apptest.Start(t, db, app.Config{Settings: ready})
		for _, tt := range tests {
			slug := "undo-" + tt.mode + "-" + db.Name
			id := enableUndoer(t, s, slug, tt.mode)
			r := s.Do("DELETE", "/api/internal/plugin/undoer/"+strconv.FormatInt(id, 10), nil)
			hook, _ := undone.Load(slug)
			require.Equal(t, "hook of "+slug, hook, "%s: Disable reads the state Initialize wrote", tt.mode)
			if tt.warning == "" {
				require.Equal(t, http.StatusNoContent, r.Status, string(r.Body))
			} else {
				require.Equal(t, http.StatusOK, r.Status, string(r.Body))
				warnings := r.JSON(t)["warnings"].([]any)
				require.Len(t, warnings, 1)
				require.Contains(t, warnings[0], fmt.Sprintf("undoer (instance %d)", id))
				require.Contains(t, warnings[0], tt.warning)
				if tt.hidden != "" {
					require.NotContains(t, string(r.Body), tt.hidden)
				}
			}
			requireNoPlugins(t, s, slug)
		}
	})

	t.Run("not provisionable", func(t *testing.T) {
		t.Parallel()
		apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
			t.Parallel()
			s := apptest.Start(t, db, app.Config{Settings: ready})
			slug := "undo-unprovisioned"
			id := enableUndoer(t, s, slug, "ok")
			s.Stop()
			s = apptest.Start(t, db, app.Config{})
			r := s.Do("DELETE", "/api/internal/plugin/undoer/"+strconv.FormatInt(id, 10), nil)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			warnings := r.JSON(t)["warnings"].([]any)
			require.Len(t, warnings, 1)
			require.Contains(t, warnings[0], "could not be asked to undo its setup")
			require.Contains(t, warnings[0], "UNDOER_READY")
			requireNoPlugins(t, s, slug)
		})
	})
}

// TestDisablersRunAtOnce removes a community with two instances whose
// Disable each waits for the other to be running: run one after the other,
// the first would wait out its time limit and answer a warning.
func TestDisablersRunAtOnce(t *testing.T) {
	t.Parallel()
	ready := func(name string) string {
		if name == "UNDOER_READY" {
			return "yes"
		}
		return ""
	}
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := apptest.Start(t, db, app.Config{Settings: ready})
		slug := "undo-meet-" + db.Name
		r := s.Do("PUT", "/api/internal/community/"+slug, map[string]any{"plugins": []map[string]any{
			{"name": "undoer", "config": map[string]any{"mode": "meet"}},
			{"name": "undoer-twin", "config": map[string]any{"mode": "meet"}},
		}})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		all := &sync.WaitGroup{}
		all.Add(2)
		meetings.Store(slug, all)
		r = s.Do("DELETE", "/api/internal/community/"+slug, nil)
		require.Equal(t, http.StatusNoContent, r.Status, "both Disables ran at once, without warnings: %s", r.Body)
	})
}

// enableUndoer creates the community slug with the undoer plugin in mode
// and returns the instance's id.
func enableUndoer(t *testing.T, s *apptest.Server, slug, mode string) int64 {
	t.Helper()
	r := s.Do("PUT", "/api/internal/community/"+slug, map[string]any{"plugins": []map[string]any{
		{"name": "undoer", "config": map[string]any{"mode": mode}},
	}})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return int64(r.JSON(t)["plugins"].([]any)[0].(map[string]any)["id"].(float64))
}

func requireNoPlugins(t *testing.T, s *apptest.Server, slug string) {
	t.Helper()
	r := s.Do("GET", "/api/internal/community/"+slug, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.Empty(t, r.JSON(t)["plugins"], "the instance is removed")
}
