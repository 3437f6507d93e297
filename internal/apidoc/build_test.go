package apidoc

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/plugin"
)

// Test-only plugins, passed to Build directly (never registered). Between
// them they use every schema feature the document must carry: "$schema",
// type unions with null, writeOnly, nested objects, $defs with local
// references, a recursive "#" reference, boolean and nil schemas.
const (
	diceConfig = `{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"type": "object",
		"properties": {"sides": {"type": "integer", "minimum": 2, "default": 6}},
		"additionalProperties": false
	}`
	diceRollInput = `{
		"type": "object",
		"properties": {"count": {"type": "integer", "minimum": 1, "maximum": 100}},
		"required": ["count"]
	}`
	diceRollOutput = `{"type": "object", "properties": {"values": {"type": "array", "items": {"type": "integer"}}}}`
	diceVoteInput  = `{
		"type": "object",
		"properties": {
			"options": {"type": "array", "items": {"type": "string"}, "minItems": 2},
			"delay": {"type": "number", "default": 0.5}
		},
		"required": ["options"],
		"additionalProperties": false
	}`
	diceVoteOutcome = `{"type": "object", "properties": {"winner": {"type": ["string", "null"]}}}`

	chatConfig = `{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"type": "object",
		"properties": {
			"workspace": {"type": "string"},
			"token": {"type": "string", "writeOnly": true, "description": "Bot token."},
			"default_channel": {"type": ["string", "null"], "default": null},
			"limits": {
				"type": "object",
				"properties": {
					"per_minute": {"type": "integer", "default": 60},
					"burst": {"type": "object", "properties": {"size": {"type": "integer"}}}
				}
			},
			"admins": {"type": "array", "items": {"$ref": "#/$defs/member"}}
		},
		"required": ["workspace", "token"],
		"$defs": {
			"member": {
				"type": "object",
				"properties": {"id": {"type": "string"}, "name": {"type": ["string", "null"]}},
				"required": ["id"]
			}
		}
	}`
	chatPostInput = `{
		"type": "object",
		"properties": {
			"channel": {"type": "string"},
			"text": {"type": "string", "maxLength": 4000},
			"mention": {"$ref": "#/$defs/member"},
			"example": {"const": {"$ref": "#/not/a/reference"}}
		},
		"required": ["channel", "text"],
		"$defs": {"member": {"type": "object", "properties": {"id": {"type": "string"}}}}
	}`
	chatPostOutput = `{"type": ["object", "null"], "properties": {"ts": {"type": "string"}}}`
	chatPollInput  = `{
		"type": "object",
		"properties": {
			"question": {"type": "string"},
			"choices": {"type": "array", "items": {"$ref": "#/$defs/choice"}, "minItems": 2},
			"closing_at": {"type": ["string", "null"], "format": "date-time"}
		},
		"required": ["question", "choices"],
		"$defs": {"choice": {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}}
	}`
	// A thread is recursive: its replies are threads.
	chatPollOutcome = `{
		"type": "object",
		"properties": {
			"votes": {"type": "object", "additionalProperties": {"type": "integer"}},
			"thread": {"$ref": "#/$defs/thread"}
		},
		"$defs": {"thread": {"type": "object", "properties": {"text": {"type": "string"}, "replies": {"type": "array", "items": {"$ref": "#/$defs/thread"}}}}}
	}`
	chatEvent = `{"type": "object", "properties": {"text": {"type": "string"}}}`
)

func testPlugins() []plugin.Info {
	// Deliberately not in name order: Build sorts.
	return []plugin.Info{
		{
			Name:          "chat",
			Description:   "A chat platform with workspaces.",
			AuthType:      plugin.AuthAPIKey,
			Config:        plugin.Schema(chatConfig),
			PlatformIDKey: "workspace",
			Actions: []plugin.Action{
				{Name: "post-message", Description: "Post a message to a channel.", Input: plugin.Schema(chatPostInput), Output: plugin.Schema(chatPostOutput)},
				{Name: "whoami", Description: "Name the bot user.", Public: true},
			},
			Processes: []plugin.ProcessType{
				{Name: "poll", Description: "A poll in a channel.", Input: plugin.Schema(chatPollInput), Outcome: plugin.Schema(chatPollOutcome)},
			},
			Events: []plugin.EventType{
				{Type: "message_posted", Description: "Someone posted.", Schema: plugin.Schema(chatEvent)},
				{Type: "joined"},
			},
		},
		{
			Name:        "dice",
			Description: "Random numbers.",
			Config:      plugin.Schema(diceConfig),
			Actions: []plugin.Action{
				{Name: "roll", Description: "Roll dice.", Input: plugin.Schema(diceRollInput), Output: plugin.Schema(diceRollOutput), Public: true},
			},
			Processes: []plugin.ProcessType{
				{Name: "stochastic-vote", Description: "Picks a random winner after a delay.", Input: plugin.Schema(diceVoteInput), Outcome: plugin.Schema(diceVoteOutcome)},
			},
		},
		{
			Name: "bare",
			Actions: []plugin.Action{
				{Name: "anything", Input: plugin.Schema(`true`), Output: plugin.Schema(`null`)},
			},
			Processes: []plugin.ProcessType{{Name: "wait"}},
		},
	}
}

func buildTestDoc(t *testing.T) []byte {
	t.Helper()
	doc, err := Build(testPlugins(), Options{Version: "1.2.3", ServerURL: "https://metagov.example.org"})
	require.NoError(t, err)
	return doc
}

// decode parses JSON keeping numbers as written, so schemas compare exactly.
func decode(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v), "%s", data)
	return v
}

// at follows a JSON pointer ("/paths/~1api/post") through decoded JSON.
func at(t *testing.T, v any, pointer string) any {
	t.Helper()
	v, ok := lookup(v, pointer)
	require.True(t, ok, "no value at %s", pointer)
	return v
}

func lookup(v any, pointer string) (any, bool) {
	if pointer == "" {
		return v, true
	}
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func esc(path string) string { return strings.ReplaceAll(path, "/", "~1") }

func TestBuildIsValidOpenAPI31(t *testing.T) {
	for name, plugins := range map[string][]plugin.Info{"test plugins": testPlugins(), "no plugins": nil} {
		t.Run(name, func(t *testing.T) {
			data, err := Build(plugins, Options{Version: "1.2.3"})
			require.NoError(t, err)
			loader := openapi3.NewLoader()
			doc, err := loader.LoadFromData(data)
			require.NoError(t, err)
			require.True(t, doc.IsOpenAPI31OrLater(), "openapi is %q", doc.OpenAPI)
			require.NoError(t, doc.Validate(context.Background()))
			assert.Equal(t, "Metagov API", doc.Info.Title)
			assert.Equal(t, "1.2.3", doc.Info.Version)
		})
	}
}

func TestBuildServersAndVersion(t *testing.T) {
	doc := decode(t, buildTestDoc(t))
	assert.Equal(t, "3.1.0", at(t, doc, "/openapi"))
	assert.Equal(t, []any{map[string]any{"url": "https://metagov.example.org"}}, at(t, doc, "/servers"))

	data, err := Build(nil, Options{})
	require.NoError(t, err)
	bare := decode(t, data)
	assert.Equal(t, "dev", at(t, bare, "/info/version"))
	assert.Equal(t, []any{map[string]any{"url": "/"}}, at(t, bare, "/servers"), "the serving host without a ServerURL")
}

func TestBuildIsDeterministic(t *testing.T) {
	a, b := buildTestDoc(t), buildTestDoc(t)
	assert.Equal(t, string(a), string(b))
}

// Every plugin schema is in components exactly as the plugin wrote it, minus
// "$schema" and with local references rebased onto the component.
func TestPluginSchemasEmbeddedVerbatim(t *testing.T) {
	doc := decode(t, buildTestDoc(t))
	schemas := at(t, doc, "/components/schemas")

	verbatim := map[string]string{
		"dice.config":                  diceConfig,
		"dice.roll.input":              diceRollInput,
		"dice.roll.output":             diceRollOutput,
		"dice.stochastic-vote.outcome": diceVoteOutcome,
		"chat.post-message.output":     chatPostOutput,
		"chat.message_posted.event":    chatEvent,
		"chat.whoami.output":           `{}`,
		"bare.anything.input":          `{}`,
		"bare.anything.output":         `{}`,
		"bare.wait.outcome":            `{}`,
		// Left out, an object of any properties, spelled out for generators.
		"bare.config":       `{"type": "object", "additionalProperties": true}`,
		"chat.whoami.input": `{"type": "object", "additionalProperties": true}`,
	}
	for name, src := range verbatim {
		want := decode(t, []byte(src)).(map[string]any)
		delete(want, "$schema")
		assert.Equal(t, want, at(t, schemas, "/"+name), "schema %s", name)
	}

	// Schemas with $defs: the same, with "#/..." references made absolute
	// within the document. The "$ref" inside "const" is data and stays.
	rebased := map[string]struct{ src, from, to string }{
		"chat.config":             {chatConfig, `"#/$defs/`, `"#/components/schemas/chat.config/$defs/`},
		"chat.post-message.input": {chatPostInput, `"#/$defs/`, `"#/components/schemas/chat.post-message.input/$defs/`},
		"chat.poll.outcome":       {chatPollOutcome, `"#/$defs/`, `"#/components/schemas/chat.poll.outcome/$defs/`},
	}
	for name, c := range rebased {
		require.Contains(t, c.src, c.from)
		want := decode(t, []byte(strings.ReplaceAll(c.src, c.from, c.to))).(map[string]any)
		delete(want, "$schema")
		assert.Equal(t, want, at(t, schemas, "/"+name), "schema %s", name)
	}
	assert.Equal(t, "#/not/a/reference", at(t, schemas, "/chat.post-message.input/properties/example/const/$ref"))
	assert.Equal(t, true, at(t, schemas, "/chat.config/properties/token/writeOnly"))

	for name, s := range schemas.(map[string]any) {
		_, has := s.(map[string]any)["$schema"]
		assert.False(t, has, "%s keeps $schema", name)
	}
}

// Every "$ref" in the document points at something that exists, including
// references into a plugin schema's $defs.
func TestAllReferencesResolve(t *testing.T) {
	doc := decode(t, buildTestDoc(t))
	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				if r, ok := child.(string); ok && k == "$ref" {
					refs = append(refs, r)
				}
				if k != "const" {
					walk(child)
				}
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(doc)
	require.NotEmpty(t, refs)
	for _, r := range refs {
		require.True(t, strings.HasPrefix(r, "#/"), "non-local reference %q", r)
		pointer, err := url.PathUnescape(strings.TrimPrefix(r, "#"))
		require.NoError(t, err)
		_, ok := lookup(doc, pointer)
		assert.True(t, ok, "reference %q does not resolve", r)
	}
	assert.True(t, slices.Contains(refs, "#/components/schemas/chat.poll.outcome/$defs/thread"),
		"no reference into a plugin schema's $defs")
}

type wantOp struct {
	method, path, id, tag string
	body                  string // pointer of the request schema's $ref, or ""
	success               string // status of the success response
	successRef            string // its schema's $ref, or ""
}

func TestPluginOperations(t *testing.T) {
	doc := decode(t, buildTestDoc(t))
	want := []wantOp{
		{"post", "/api/internal/plugin/chat", "enable.chat", tagPlugins, "#/components/schemas/chat.config", "201", "#/components/schemas/Plugin"},
		{"post", "/api/internal/plugin/dice", "enable.dice", tagPlugins, "#/components/schemas/dice.config", "200", "#/components/schemas/Plugin"},
		{"post", "/api/internal/plugin/bare", "enable.bare", tagPlugins, "#/components/schemas/bare.config", "201", "#/components/schemas/Plugin"},
		{"post", "/api/internal/action/chat.post-message", "chat.post-message", tagActions, "", "200", "#/components/schemas/chat.post-message.output"},
		{"post", "/api/internal/action/chat.whoami", "chat.whoami", tagActions, "", "200", "#/components/schemas/chat.whoami.output"},
		{"post", "/api/action/chat.whoami", "chat.whoami.public", tagPublic, "", "200", "#/components/schemas/chat.whoami.output"},
		{"post", "/api/internal/action/dice.roll", "dice.roll", tagActions, "", "200", "#/components/schemas/dice.roll.output"},
		{"post", "/api/action/dice.roll", "dice.roll.public", tagPublic, "", "200", "#/components/schemas/dice.roll.output"},
		{"post", "/api/internal/action/bare.anything", "bare.anything", tagActions, "", "200", "#/components/schemas/bare.anything.output"},
		{"post", "/api/internal/process/chat.poll", "start.chat.poll", tagProcesses, "#/components/schemas/chat.poll.input", "202", ""},
		{"get", "/api/internal/process/chat.poll/{id}", "get.chat.poll", tagProcesses, "", "200", ""},
		{"delete", "/api/internal/process/chat.poll/{id}", "close.chat.poll", tagProcesses, "", "200", ""},
		{"post", "/api/internal/process/dice.stochastic-vote", "start.dice.stochastic-vote", tagProcesses, "#/components/schemas/dice.stochastic-vote.input", "202", ""},
		{"get", "/api/internal/process/dice.stochastic-vote/{id}", "get.dice.stochastic-vote", tagProcesses, "", "200", ""},
		{"delete", "/api/internal/process/dice.stochastic-vote/{id}", "close.dice.stochastic-vote", tagProcesses, "", "200", ""},
		{"post", "/api/internal/process/bare.wait", "start.bare.wait", tagProcesses, "#/components/schemas/bare.wait.input", "202", ""},
	}
	for _, w := range want {
		t.Run(w.id, func(t *testing.T) {
			op := at(t, doc, "/paths/"+esc(w.path)+"/"+w.method)
			assert.Equal(t, w.id, at(t, op, "/operationId"))
			assert.Equal(t, []any{w.tag}, at(t, op, "/tags"))
			if w.body != "" {
				assert.Equal(t, w.body, at(t, op, "/requestBody/content/application~1json/schema/$ref"))
			}
			resp := at(t, op, "/responses/"+w.success)
			if w.successRef != "" {
				assert.Equal(t, w.successRef, at(t, resp, "/content/application~1json/schema/$ref"))
			}
		})
	}

	// Actions take {"parameters": <input>} and name the community.
	action := at(t, doc, "/paths/"+esc("/api/internal/action/chat.post-message")+"/post")
	assert.Equal(t, "#/components/schemas/chat.post-message.input",
		at(t, action, "/requestBody/content/application~1json/schema/properties/parameters/$ref"))
	assert.Equal(t, []any{
		map[string]any{"$ref": "#/components/parameters/CommunityHeader"},
		map[string]any{"$ref": "#/components/parameters/PlatformIdHeader"},
	}, at(t, action, "/parameters"))
	for _, code := range []string{"400", "404", "422", "500", "502", "504"} {
		assert.Equal(t, "#/components/responses/"+errorResponses[atoi(t, code)].name, at(t, action, "/responses/"+code+"/$ref"))
	}

	// The process record carries the process name and outcome schema.
	get := at(t, doc, "/paths/"+esc("/api/internal/process/chat.poll/{id}")+"/get")
	assert.Equal(t, []any{
		map[string]any{"$ref": "#/components/schemas/Process"},
		map[string]any{"properties": map[string]any{
			"name":    map[string]any{"const": "chat.poll"},
			"outcome": map[string]any{"$ref": "#/components/schemas/chat.poll.outcome"},
		}},
	}, at(t, get, "/responses/200/content/application~1json/schema/allOf"))
	assert.Equal(t, map[string]any{"type": "integer", "format": "int64"}, at(t, get, "/parameters/0/schema"))
	start := at(t, doc, "/paths/"+esc("/api/internal/process/chat.poll")+"/post")
	assert.Equal(t, true, at(t, start, "/responses/202/headers/Location/required"))

	// Public routes say they need no key; internal ones name the API key.
	assert.Equal(t, []any{}, at(t, doc, "/paths/"+esc("/api/action/dice.roll")+"/post/security"))
	assert.Equal(t, []any{map[string]any{"apiKey": []any{}}, map[string]any{}},
		at(t, doc, "/paths/"+esc("/api/internal/action/dice.roll")+"/post/security"))

	// No operation for what the plugins do not have.
	_, ok := lookup(doc, "/paths/"+esc("/api/action/chat.post-message"))
	assert.False(t, ok, "private action has a public route")
	_, ok = lookup(doc, "/paths/"+esc("/api/action/bare.anything"))
	assert.False(t, ok, "private action has a public route")
}

func atoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

// The start request's body is the component <plugin>.<process>.input: the
// plugin's input schema, flat, plus callback_url.
func TestProcessStartBodyIsFlat(t *testing.T) {
	doc := decode(t, buildTestDoc(t))
	schemas := at(t, doc, "/components/schemas")
	body := at(t, schemas, "/dice.stochastic-vote.input")
	want := decode(t, []byte(`{
		"type": "object",
		"properties": {
			"options": {"type": "array", "items": {"type": "string"}, "minItems": 2},
			"delay": {"type": "number", "default": 0.5},
			"callback_url": {"type": "string", "format": "uri", "maxLength": 2048, "description": "Where the gateway POSTs the process record whenever it changes."}
		},
		"required": ["options"],
		"additionalProperties": false
	}`))
	assert.Equal(t, want, body)

	// A process without an input schema still takes callback_url.
	bare := at(t, schemas, "/bare.wait.input")
	assert.Equal(t, "uri", at(t, bare, "/properties/callback_url/format"))
	_, hasRequired := lookup(bare, "/required")
	assert.False(t, hasRequired)

	// References into the input's $defs resolve within the component.
	poll := at(t, schemas, "/chat.poll.input")
	assert.Equal(t, "#/components/schemas/chat.poll.input/$defs/choice", at(t, poll, "/properties/choices/items/$ref"))
	assert.Equal(t, []any{"question", "choices"}, at(t, poll, "/required"))
	assert.Equal(t, "object", at(t, poll, "/$defs/choice/type"))
}

func TestStaticOperations(t *testing.T) {
	doc := decode(t, buildTestDoc(t))
	want := []struct{ method, path, id, tag string }{
		{"get", "/openapi.json", "getOpenAPIDocument", tagDocs},
		{"get", "/swagger.json", "getSwaggerJSON", tagDocs},
		{"get", "/swagger", "getSwaggerUI", tagDocs},
		{"get", "/redoc", "getReference", tagDocs},
		{"post", "/api/internal/community", "createCommunity", tagCommunity},
		{"get", "/api/internal/community/{slug}", "getCommunity", tagCommunity},
		{"put", "/api/internal/community/{slug}", "replaceCommunity", tagCommunity},
		{"delete", "/api/internal/community/{slug}", "deleteCommunity", tagCommunity},
		{"get", "/api/internal/community/{slug}/hooks", "listCommunityHooks", tagCommunity},
		{"delete", "/api/internal/plugin/{name}/{id}", "deletePlugin", tagPlugins},
		{"get", "/api/internal/plugin-schemas", "getPluginSchemas", tagPlugins},
		{"get", "/api/internal/plugin/{name}/metadata", "getPluginMetadata", tagPlugins},
		{"post", "/api/hooks/{community}/{plugin}", "receiveCommunityWebhook", tagWebhooks},
		{"post", "/api/hooks/{community}/{plugin}/{webhook_slug}", "receiveCommunityWebhookWithSlug", tagWebhooks},
		{"post", "/api/hooks/{plugin}", "receivePlatformWebhook", tagWebhooks},
		{"get", "/api/internal/deliveries", "listDeliveries", tagDeliveries},
		{"get", "/api/internal/deliveries/{id}", "getDelivery", tagDeliveries},
		{"post", "/api/internal/deliveries/{id}/redeliver", "redeliver", tagDeliveries},
		{"get", "/api/internal/events", "listEvents", tagDeliveries},
		{"get", "/api/internal/audit", "listAudit", tagDeliveries},
		{"get", "/healthz", "healthz", tagOps},
		{"get", "/readyz", "readyz", tagOps},
		{"get", "/metrics", "metrics", tagOps},
		{"get", "/auth/{plugin}/authorize", "oauthAuthorize", tagAuth},
		{"get", "/auth/{plugin}/callback", "oauthCallback", tagAuth},
		{"post", "/api/internal/oauth/token", "oauthUserToken", tagAuth},
		{"post", "/api/internal/identity/create_id", "identityCreateID", tagIdentity},
		{"post", "/api/internal/identity/merge_ids", "identityMergeIDs", tagIdentity},
		{"post", "/api/internal/identity/link_account", "identityLinkAccount", tagIdentity},
		{"post", "/api/internal/identity/unlink_account", "identityUnlinkAccount", tagIdentity},
		{"get", "/api/internal/identity/get_user", "identityGetUser", tagIdentity},
		{"get", "/api/internal/identity/get_users", "identityGetUsers", tagIdentity},
		{"get", "/api/internal/identity/filter_users_by_account", "identityFilterUsersByAccount", tagIdentity},
		{"get", "/api/internal/identity/get_linked_account", "identityGetLinkedAccount", tagIdentity},
	}
	for _, w := range want {
		op := at(t, doc, "/paths/"+esc(w.path)+"/"+w.method)
		assert.Equal(t, w.id, at(t, op, "/operationId"), "%s %s", w.method, w.path)
		assert.Equal(t, []any{w.tag}, at(t, op, "/tags"), "%s %s", w.method, w.path)
	}

	put := at(t, doc, "/paths/"+esc("/api/internal/community/{slug}")+"/put/responses")
	assert.Contains(t, put, "200")
	assert.Contains(t, put, "201")
	assert.Contains(t, put, "409")
	// Removing plugins with pending processes takes force=true.
	for _, op := range []string{"/api/internal/community/{slug} put", "/api/internal/plugin/{name}/{id} delete"} {
		path, method, _ := strings.Cut(op, " ")
		params := at(t, doc, "/paths/"+esc(path)+"/"+method+"/parameters").([]any)
		force := params[len(params)-1].(map[string]any)
		assert.Equal(t, "force", force["name"], op)
		assert.Equal(t, "query", force["in"], op)
		assert.Equal(t, map[string]any{"type": "boolean", "default": false}, force["schema"], op)
	}
	assert.Contains(t, at(t, doc, "/paths/"+esc("/api/internal/community/{slug}")+"/delete/responses"), "204")
	// The OAuth routes are public redirects; the identity API needs a key.
	authorize := at(t, doc, "/paths/"+esc("/auth/{plugin}/authorize")+"/get")
	assert.Contains(t, at(t, authorize, "/responses"), "302")
	assert.Equal(t, []any{}, at(t, authorize, "/security"))
	assert.NotEmpty(t, at(t, doc, "/paths/"+esc("/api/internal/identity/get_user")+"/get/security"))
	hooks := at(t, doc, "/paths/"+esc("/api/hooks/{plugin}")+"/post/responses")
	for _, code := range []string{"200", "401", "404", "413"} {
		assert.Contains(t, hooks, code)
	}
	assert.Equal(t, []any{"bare", "chat", "dice"}, at(t, doc, "/paths/"+esc("/api/hooks/{plugin}")+"/post/parameters/0/schema/enum"))
	assert.Equal(t, []any{"bare", "chat", "dice"},
		at(t, doc, "/paths/"+esc("/api/internal/plugin-schemas")+"/get/responses/200/content/application~1json/schema/required"))

	errSchema := at(t, doc, "/components/schemas/Error")
	assert.Equal(t, []any{"detail", "code"}, at(t, errSchema, "/required"))
	assert.Equal(t, []any{"string", "null"}, at(t, doc, "/components/schemas/Plugin/properties/community_platform_id/type"))
	assert.Equal(t, []any{"created", "pending", "completed"}, at(t, doc, "/components/schemas/Process/properties/status/enum"))

	var tags []any
	for _, tg := range at(t, doc, "/tags").([]any) {
		tags = append(tags, tg.(map[string]any)["name"])
	}
	assert.Equal(t, []any{tagCommunity, tagPlugins, tagActions, tagPublic, tagProcesses, tagWebhooks, tagAuth, tagIdentity, tagDeliveries, tagOps, tagSent, tagDocs}, tags)
}

func TestBuildRejectsBadPlugins(t *testing.T) {
	ok := func() plugin.Info { return plugin.Info{Name: "good"} }
	cases := map[string]struct {
		plugins []plugin.Info
		want    string
	}{
		"bad plugin name":  {[]plugin.Info{{Name: "Bad Name"}}, `plugin name "Bad Name"`},
		"duplicate plugin": {[]plugin.Info{ok(), ok()}, `plugin "good" listed twice`},
		"bad action name": {[]plugin.Info{{Name: "p", Actions: []plugin.Action{{Name: "a/b"}}}},
			`plugin "p": action "a/b": name must match`},
		"duplicate action": {[]plugin.Info{{Name: "p", Actions: []plugin.Action{{Name: "a"}, {Name: "a"}}}},
			`defined twice`},
		"config not JSON": {[]plugin.Info{{Name: "p", Config: plugin.Schema(`{"type":`)}},
			`plugin "p": schema p.config is not valid JSON`},
		"config trailing data": {[]plugin.Info{{Name: "p", Config: plugin.Schema(`{} {}`)}},
			`schema p.config has data after the JSON value`},
		"input is an array": {[]plugin.Info{{Name: "p", Actions: []plugin.Action{{Name: "a", Input: plugin.Schema(`[1]`)}}}},
			`schema p.a.input must be a JSON object or boolean, not an array`},
		"reserved callback_url": {[]plugin.Info{{Name: "p", Processes: []plugin.ProcessType{{Name: "q",
			Input: plugin.Schema(`{"type":"object","properties":{"callback_url":{"type":"string"}}}`)}}}},
			`process "q": input schema declares callback_url`},
		"action and process share a name": {[]plugin.Info{{Name: "p",
			Actions: []plugin.Action{{Name: "x"}}, Processes: []plugin.ProcessType{{Name: "x"}}}},
			`schema component "p.x.input" defined twice`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			doc, err := Build(c.plugins, Options{})
			require.Error(t, err)
			assert.Nil(t, doc)
			assert.True(t, strings.HasPrefix(err.Error(), "building openapi document: "), err.Error())
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestPrepareSchemaKeepsOtherResources(t *testing.T) {
	// A schema with its own $id resolves references against it: untouched.
	src := `{"$id": "urn:example:x", "$defs": {"a": {}}, "items": {"$ref": "#/$defs/a"}}`
	got, err := prepareSchema(json.RawMessage(src), "p.x", anyObject())
	require.NoError(t, err)
	assert.Equal(t, decode(t, []byte(src)), got)

	// Anchors, "#" and nested resources.
	src = `{"properties": {
		"self": {"$ref": "#"},
		"anchored": {"$ref": "#node"},
		"nested": {"$id": "urn:example:n", "items": {"$ref": "#/$defs/b"}},
		"const": {"$ref": "#/$defs/c"}
	}}`
	got, err = prepareSchema(json.RawMessage(src), "p.y", anyObject())
	require.NoError(t, err)
	props := at(t, got, "/properties")
	assert.Equal(t, "#/components/schemas/p.y", at(t, props, "/self/$ref"))
	assert.Equal(t, "#node", at(t, props, "/anchored/$ref"))
	assert.Equal(t, "#/$defs/b", at(t, props, "/nested/items/$ref"))
	// "const" here is a property name, so its value is a schema.
	assert.Equal(t, "#/components/schemas/p.y/$defs/c", at(t, props, "/const/$ref"))

	got, err = prepareSchema(json.RawMessage(`false`), "p.z", anyObject())
	require.NoError(t, err)
	assert.Equal(t, obj{"not": obj{}}, got)
}

// The document keeps the rules of Redocly's recommended ruleset (see Lint),
// with plugins of every shape and with none.
func TestBuildLintsClean(t *testing.T) {
	for name, plugins := range map[string][]plugin.Info{"test plugins": testPlugins(), "no plugins": nil} {
		t.Run(name, func(t *testing.T) {
			data, err := Build(plugins, Options{Version: "1.2.3"})
			require.NoError(t, err)
			problems, err := Lint(data)
			require.NoError(t, err)
			assert.Empty(t, problems)
		})
	}
}
