package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugin"
)

// schemakit is a plugin registered only in these tests: its schemas carry
// defaults at every level the gateway fills (see applyDefaults in
// internal/core/schema.go) and constraints whose violations must each be
// reported with a JSON pointer. Its actions echo what the gateway gave them.
type schemakit struct {
	config json.RawMessage
}

const schemakitConfig = `{
	"type": "object",
	"properties": {
		"name":     {"type": "string"},
		"greeting": {"type": "string", "default": "hello"},
		"token":    {"type": "string", "default": "t0k3n"},
		"retries":  {"type": "integer", "default": 0},
		"enabled":  {"type": "boolean", "default": false},
		"a": {
			"type": "object",
			"properties": {
				"b": {"type": "integer", "default": 3},
				"c": {"type": "string", "default": "fast"},
				"d": {"type": "object", "properties": {"e": {"type": "integer", "default": 5}}}
			}
		},
		"absent": {"type": "object", "properties": {"x": {"type": "integer", "default": 1}}},
		"limits": {
			"type": "object",
			"default": {"max": 5},
			"properties": {"max": {"type": "integer"}, "min": {"type": "integer", "default": 0}}
		},
		"items": {
			"type": "array",
			"items": {
				"type": "object",
				"properties": {"label": {"type": "string"}, "weight": {"type": "integer", "default": 1}}
			}
		},
		"contact":   {"type": "string", "format": "email"},
		"fromallof": {"type": "boolean"}
	},
	"required": ["name", "token"],
	"additionalProperties": false,
	"allOf": [
		{"properties": {"fromallof": {"default": true}}},
		{"properties": {"a": {"properties": {"fromallofnested": {"default": "yes"}}}}}
	]
}`

// schemakitEchoInput has defaults that actions must NOT fill.
const schemakitEchoInput = `{
	"type": "object",
	"properties": {
		"n":    {"type": "integer", "default": 7},
		"opts": {"type": "object", "properties": {"deep": {"type": "string", "default": "x"}}}
	}
}`

// schemakitStrictInput has awkward property names: JSON pointers must
// escape '~' as ~0 and '/' as ~1 and keep other characters as they are.
const schemakitStrictInput = `{
	"type": "object",
	"properties": {
		"name":   {"type": "string"},
		"ключ/~": {"type": "integer"},
		"a":      {"type": "object", "properties": {"b": {"type": "integer"}}},
		"items":  {"type": "array", "items": {"type": "integer"}},
		"ä/b~c":  {"type": "object", "properties": {"x~y/z": {"type": "integer"}}},
		"email":  {"type": "string", "format": "email"}
	},
	"required": ["name", "ключ/~"],
	"additionalProperties": false
}`

const schemakitRunInput = `{
	"type": "object",
	"properties": {
		"title":    {"type": "string"},
		"rounds":   {"type": "integer", "default": 3},
		"options":  {
			"type": "array",
			"items": {"type": "object", "properties": {"label": {"type": "string"}, "weight": {"type": "integer", "default": 1}}}
		},
		"settings": {"type": "object", "properties": {"anonymous": {"type": "boolean", "default": false}}},
		"absent":   {"type": "object", "properties": {"x": {"type": "integer", "default": 1}}}
	},
	"required": ["title"]
}`

func init() {
	plugin.Register(plugin.Info{
		Name:        "schemakit",
		Description: "Test plugin for schema defaults and violations",
		Config:      plugin.Schema(schemakitConfig),
		New:         func() plugin.Instance { return &schemakit{} },
		Actions: []plugin.Action{
			{Name: "echo", Input: plugin.Schema(schemakitEchoInput), Run: schemakitEcho},
			{Name: "strict", Input: plugin.Schema(schemakitStrictInput), Run: schemakitEcho},
		},
		Processes: []plugin.ProcessType{{
			Name:  "run",
			Input: plugin.Schema(schemakitRunInput),
			New:   func(plugin.Instance) plugin.ProcessHandler { return schemakitRun{} },
		}},
	})
}

func (k *schemakit) Provision(_ context.Context, env plugin.Env) error {
	k.config = env.Config
	return nil
}

// schemakitEcho answers the instance's config and the parameters exactly as
// the gateway passed them.
func schemakitEcho(_ context.Context, inst plugin.Instance, _ *plugin.Call, params json.RawMessage) (any, error) {
	return map[string]json.RawMessage{"config": inst.(*schemakit).config, "parameters": params}, nil
}

// schemakitRun completes at once with its input as the outcome.
type schemakitRun struct{}

func (schemakitRun) Start(_ context.Context, _ *plugin.Call, p *plugin.Process) error {
	var in json.RawMessage
	if err := p.DecodeInput(&in); err != nil {
		return err
	}
	p.Complete()
	return p.SetOutcome(map[string]json.RawMessage{"input": in})
}

var schemakitCommunities atomic.Int64

// schemakitCommunity creates a community with schemakit enabled with config
// and returns its header.
func schemakitCommunity(t *testing.T, s *apptest.Server, config string) []string {
	t.Helper()
	slug := fmt.Sprintf("schema-%d", schemakitCommunities.Add(1))
	r := s.Do("PUT", "/api/internal/community/"+slug,
		fmt.Sprintf(`{"plugins": [{"name": "schemakit", "config": %s}]}`, config))
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return []string{"X-Metagov-Community", slug}
}

// echo performs schemakit.echo and returns the config and parameters it saw.
func echo(t *testing.T, s *apptest.Server, hdr []string, body string) (config, params string) {
	t.Helper()
	r := s.Do("POST", "/api/internal/action/schemakit.echo", body, hdr...)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var out map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.Body, &out))
	return string(out["config"]), string(out["parameters"])
}

func TestConfigDefaults(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := apptest.Start(t, db, app.Config{})
		tests := []struct {
			name   string
			config string
			want   string
		}{
			{
				name:   "defaults at every level",
				config: `{"name": "n", "a": {"c": "slow"}, "items": [{"label": "x"}, {"label": "y", "weight": 9}], "contact": "not-an-email"}`,
				// greeting: a defaulted property; token: a defaulted required
				// property; a: a present object gets its children's defaults
				// (not d, which is absent); absent is not invented; limits is
				// absent with an object default, which is filled in turn;
				// items get theirs; allOf defaults apply at both levels;
				// "format" is not asserted.
				want: `{
					"name": "n", "greeting": "hello", "token": "t0k3n", "retries": 0, "enabled": false,
					"a": {"b": 3, "c": "slow", "fromallofnested": "yes"},
					"limits": {"max": 5, "min": 0},
					"items": [{"label": "x", "weight": 1}, {"label": "y", "weight": 9}],
					"contact": "not-an-email",
					"fromallof": true
				}`,
			},
			{
				name: "given values win over defaults, falsy ones too",
				config: `{"name": "n", "greeting": "", "token": "mine", "retries": 5, "enabled": true,
					"a": {"b": 0, "c": "", "d": {}, "fromallofnested": "no"}, "absent": {}, "limits": {"max": 1, "min": -1},
					"items": [], "fromallof": false}`,
				want: `{"name": "n", "greeting": "", "token": "mine", "retries": 5, "enabled": true,
					"a": {"b": 0, "c": "", "d": {"e": 5}, "fromallofnested": "no"}, "absent": {"x": 1}, "limits": {"max": 1, "min": -1},
					"items": [], "fromallof": false}`,
			},
			{
				name:   "only the required property without a default",
				config: `{"name": "only"}`,
				want: `{"name": "only", "greeting": "hello", "token": "t0k3n", "retries": 0, "enabled": false,
					"limits": {"max": 5, "min": 0}, "fromallof": true}`,
			},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				hdr := schemakitCommunity(t, s, tc.config)
				config, _ := echo(t, s, hdr, `{}`)
				require.JSONEq(t, tc.want, config, "the plugin gets its config with the defaults filled")

				r := s.Do("GET", "/api/internal/community/"+hdr[1], nil)
				require.Equal(t, http.StatusOK, r.Status, string(r.Body))
				var view struct {
					Plugins []struct {
						Config json.RawMessage `json:"config"`
					} `json:"plugins"`
				}
				require.NoError(t, json.Unmarshal(r.Body, &view))
				require.Len(t, view.Plugins, 1)
				require.JSONEq(t, tc.want, string(view.Plugins[0].Config), "the stored config has the defaults")
			})
		}

		t.Run("enable through the plugin route fills defaults too", func(t *testing.T) {
			t.Parallel()
			hdr := schemakitCommunity(t, s, `{"name": "first"}`)
			r := s.Do("POST", "/api/internal/plugin/schemakit", `{"name": "updated", "a": {}}`, hdr...)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			config, _ := echo(t, s, hdr, `{}`)
			require.JSONEq(t, `{"name": "updated", "greeting": "hello", "token": "t0k3n", "retries": 0, "enabled": false,
				"a": {"b": 3, "c": "fast", "fromallofnested": "yes"}, "limits": {"max": 5, "min": 0}, "fromallof": true}`, config)
		})
	})
}

func TestInputDefaults(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := apptest.Start(t, db, app.Config{})
		hdr := schemakitCommunity(t, s, `{"name": "n"}`)

		t.Run("process input is default-filled", func(t *testing.T) {
			t.Parallel()
			tests := []struct {
				name  string
				body  string
				input string
			}{
				{name: "defaults at every level",
					body:  `{"title": "T", "options": [{"label": "a"}, {"label": "b", "weight": 4}], "settings": {}, "callback_url": "http://127.0.0.1:9/cb"}`,
					input: `{"title": "T", "rounds": 3, "options": [{"label": "a", "weight": 1}, {"label": "b", "weight": 4}], "settings": {"anonymous": false}}`},
				{name: "absent objects are not invented", body: `{"title": "T"}`, input: `{"title": "T", "rounds": 3}`},
				{name: "given values win", body: `{"title": "T", "rounds": 0, "settings": {"anonymous": true}, "absent": {}}`,
					input: `{"title": "T", "rounds": 0, "settings": {"anonymous": true}, "absent": {"x": 1}}`},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					r := s.Do("POST", "/api/internal/process/schemakit.run", tc.body, hdr...)
					require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
					var rec struct {
						Status  string `json:"status"`
						Outcome struct {
							Input json.RawMessage `json:"input"`
						} `json:"outcome"`
					}
					require.NoError(t, json.Unmarshal(r.Body, &rec))
					require.Equal(t, "completed", rec.Status)
					require.JSONEq(t, tc.input, string(rec.Outcome.Input), "callback_url is not part of the input")
				})
			}
		})

		t.Run("action input is not default-filled", func(t *testing.T) {
			t.Parallel()
			tests := []struct {
				name   string
				body   string
				params string
			}{
				{name: "empty parameters", body: `{"parameters": {}}`, params: `{}`},
				{name: "no parameters", body: `{}`, params: `{}`},
				{name: "nested object", body: `{"parameters": {"opts": {}}}`, params: `{"opts": {}}`},
				{name: "given values", body: `{"parameters": {"n": 1, "opts": {"deep": "y"}}}`, params: `{"n": 1, "opts": {"deep": "y"}}`},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					_, params := echo(t, s, hdr, tc.body)
					require.JSONEq(t, tc.params, params)
				})
			}
		})
	})
}

func TestSchemaViolations(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := apptest.Start(t, db, app.Config{})
		hdr := schemakitCommunity(t, s, `{"name": "n"}`)

		type violation struct {
			name string
			// method, path and body of the request
			path string
			body string
			code string
			// fields are JSON pointers the detail must name, each as
			// "at '<pointer>'"; the first is the error's field when only
			// one is given.
			fields []string
			// absent are fragments the detail must not contain.
			absent []string
		}
		put := func(config string) string { return `{"plugins": [{"name": "schemakit", "config": ` + config + `}]}` }
		const configPath = "/api/internal/community/schema-violations"
		const strict = "/api/internal/action/schemakit.strict"
		const run = "/api/internal/process/schemakit.run"
		tests := []violation{
			// Config, validated after the defaults are filled.
			{name: "config: required", path: configPath, body: put(`{}`), code: "invalid_config", fields: []string{"/name"},
				absent: []string{"/token"}},
			{name: "config: nested", path: configPath, body: put(`{"name": "n", "a": {"b": "three"}}`), code: "invalid_config",
				fields: []string{"/a/b"}},
			{name: "config: additional property", path: configPath, body: put(`{"name": "n", "extra": 1}`), code: "invalid_config",
				fields: []string{"/extra"}},
			{name: "config: array item", path: configPath, body: put(`{"name": "n", "items": [{}, {}, "third"]}`),
				code: "invalid_config", fields: []string{"/items/2"}},
			{name: "config: array item property", path: configPath, body: put(`{"name": "n", "items": [{}, {"weight": "w"}]}`),
				code: "invalid_config", fields: []string{"/items/1/weight"}},
			{name: "config: deep nested", path: configPath, body: put(`{"name": "n", "a": {"d": {"e": "five"}}}`),
				code: "invalid_config", fields: []string{"/a/d/e"}},
			{name: "config: unicode additional property", path: configPath, body: put(`{"name": "n", "ü~/é": 1}`),
				code: "invalid_config", fields: []string{"/ü~0~1é"}},
			{name: "config: every violation", path: configPath,
				body: put(`{"a": {"b": "x"}, "extra": 1, "items": [{}, {}, 3], "ü~/é": 1}`), code: "invalid_config",
				fields: []string{"/name", "/a/b", "/extra", "/items/2", "/ü~0~1é"}},

			// Action parameters.
			{name: "action: required", path: strict, body: `{"parameters": {"ключ/~": 1}}`, code: "invalid_input",
				fields: []string{"/name"}},
			{name: "action: unicode required", path: strict, body: `{"parameters": {"name": "n"}}`, code: "invalid_input",
				fields: []string{"/ключ~1~0"}},
			{name: "action: unicode wrong type", path: strict, body: `{"parameters": {"name": "n", "ключ/~": "one"}}`,
				code: "invalid_input", fields: []string{"/ключ~1~0"}},
			{name: "action: nested", path: strict, body: `{"parameters": {"name": "n", "ключ/~": 1, "a": {"b": 1.5}}}`,
				code: "invalid_input", fields: []string{"/a/b"}},
			{name: "action: unicode nested", path: strict,
				body: `{"parameters": {"name": "n", "ключ/~": 1, "ä/b~c": {"x~y/z": "no"}}}`, code: "invalid_input",
				fields: []string{"/ä~1b~0c/x~0y~1z"}},
			{name: "action: additional property", path: strict, body: `{"parameters": {"name": "n", "ключ/~": 1, "extra": true}}`,
				code: "invalid_input", fields: []string{"/extra"}},
			{name: "action: array item", path: strict, body: `{"parameters": {"name": "n", "ключ/~": 1, "items": [1, 2, "3"]}}`,
				code: "invalid_input", fields: []string{"/items/2"}},
			{name: "action: every violation", path: strict,
				body: `{"parameters": {"a": {"b": "x"}, "extra": 1, "items": [1, 2, "3"], "ä/b~c": {"x~y/z": "no"}}}`,
				code: "invalid_input", fields: []string{"/name", "/ключ~1~0", "/a/b", "/extra", "/items/2", "/ä~1b~0c/x~0y~1z"}},

			// Process input, validated after the defaults are filled.
			{name: "process: required", path: run, body: `{"rounds": 1}`, code: "invalid_input", fields: []string{"/title"}},
			{name: "process: wrong type", path: run, body: `{"title": "T", "rounds": "three"}`, code: "invalid_input",
				fields: []string{"/rounds"}},
			{name: "process: array item property", path: run, body: `{"title": "T", "options": [{}, {}, {"weight": "w"}]}`,
				code: "invalid_input", fields: []string{"/options/2/weight"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				method, headers := "POST", hdr
				if tc.path == configPath {
					method, headers = "PUT", nil
				}
				r := s.Do(method, tc.path, tc.body, headers...)
				fragments := make([]string, 0, len(tc.fields))
				for _, f := range tc.fields {
					fragments = append(fragments, fmt.Sprintf("at '%s'", f))
				}
				body := r.RequireError(t, http.StatusBadRequest, tc.code, fragments...)
				if len(tc.fields) == 1 {
					require.Equal(t, tc.fields[0], body["field"])
				} else {
					require.Contains(t, tc.fields, body["field"], "the field is one of the violations")
				}
				for _, a := range tc.absent {
					require.NotContains(t, body["detail"], a)
				}
			})
		}

		t.Run("format is not asserted", func(t *testing.T) {
			t.Parallel()
			r := s.Do("POST", strict, `{"parameters": {"name": "n", "ключ/~": 1, "email": "not an email"}}`, hdr...)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		})

		t.Run("nothing is written on a config violation", func(t *testing.T) {
			t.Parallel()
			r := s.Do("PUT", "/api/internal/community/schema-never", put(`{"extra": 1}`))
			r.RequireError(t, http.StatusBadRequest, "invalid_config")
			s.Do("GET", "/api/internal/community/schema-never", nil).RequireError(t, http.StatusNotFound, "community_not_found")
		})
	})
}
