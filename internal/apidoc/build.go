package apidoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// Options are the parts of the document that depend on the deployment, not
// on the plugins.
type Options struct {
	// Version is the API version shown in info.version; empty means "dev".
	Version string
	// ServerURL, when set, becomes the document's only servers entry so that
	// Swagger UI's "Try it out" targets the public address behind a proxy.
	// Empty gives "/": the host serving the document.
	ServerURL string
}

// Tags group operations in the docs UIs; the order here is the order in
// which they are shown.
const (
	tagCommunity  = "Community Configuration"
	tagPlugins    = "Plugins"
	tagActions    = "Actions"
	tagPublic     = "Actions (Public)"
	tagProcesses  = "Governance Processes"
	tagWebhooks   = "Webhooks"
	tagDocs       = "Docs"
	tagDeliveries = "Deliveries, Events and Audit"
	tagOps        = "Operations"
	tagSent       = "Sent to the Driver"
)

var tagList = []tag{
	{tagCommunity, "Create, read, replace and delete communities and list their webhook receivers."},
	{tagPlugins, "Enable, update and disable plugin instances, and read plugin schemas and metadata."},
	{tagActions, "Synchronous plugin operations. Send `X-Metagov-Community` to pick the community, and `X-Metagov-Community-Platform-Id` when it has several instances of the plugin."},
	{tagPublic, "Actions a plugin declares public, also served outside `/api/internal`. Same contract as the internal route."},
	{tagProcesses, "Long-running governance processes (votes, polls). Start one, read its state, close it early; every change is POSTed to `callback_url`."},
	{tagWebhooks, "Receivers for platform webhooks. Each platform's own signature scheme is verified before the body is parsed."},
	{tagAuth, "OAuth installs: the user's browser starts at authorize and comes back to the driver's redirect_uri; the driver fetches the installer's token once."},
	{tagIdentity, "A community's identities (MetagovIDs) and the platform accounts linked to them, as the original's identity API."},
	{tagDeliveries, "What the gateway sent drivers (signed callbacks and events, retried for days), redelivery, events to pull, and the audit log of changes."},
	{tagOps, "Health, readiness and metrics for operators."},
	{tagSent, "What the gateway POSTs to the driver (`webhooks`): process callbacks and events, signed the Standard Webhooks way and retried for days."},
	{tagDocs, "This document and the pages that render it."},
}

// The OpenAPI objects the document is made of. Schemas stay untyped (any):
// plugin schemas are arbitrary JSON Schema and must pass through unchanged.
type (
	document struct {
		OpenAPI string              `json:"openapi"`
		Info    info                `json:"info"`
		Servers []server            `json:"servers,omitempty"`
		Tags    []tag               `json:"tags"`
		Paths   map[string]pathItem `json:"paths"`
		// Webhooks are the requests the gateway sends to drivers: process
		// callbacks and events (OpenAPI 3.1).
		Webhooks   map[string]pathItem `json:"webhooks,omitempty"`
		Components components          `json:"components"`
	}
	info struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description,omitempty"`
	}
	server struct {
		URL string `json:"url"`
	}
	tag struct {
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
	}
	// pathItem maps a lowercase HTTP method to its operation.
	pathItem  map[string]*operation
	operation struct {
		OperationID string         `json:"operationId"`
		Tags        []string       `json:"tags"`
		Summary     string         `json:"summary,omitempty"`
		Description string         `json:"description,omitempty"`
		Parameters  []any          `json:"parameters,omitempty"`
		RequestBody *requestBody   `json:"requestBody,omitempty"`
		Responses   map[string]any `json:"responses"`
		// Security lists the ways in: the internal API takes an API key;
		// every other operation is public and says so with [].
		Security []map[string][]string `json:"security"`
	}
	parameter struct {
		Name        string `json:"name"`
		In          string `json:"in"`
		Description string `json:"description,omitempty"`
		Required    bool   `json:"required,omitempty"`
		Schema      any    `json:"schema"`
	}
	requestBody struct {
		Description string               `json:"description,omitempty"`
		Required    bool                 `json:"required,omitempty"`
		Content     map[string]mediaType `json:"content"`
	}
	mediaType struct {
		Schema any `json:"schema"`
	}
	response struct {
		Description string               `json:"description"`
		Headers     map[string]header    `json:"headers,omitempty"`
		Content     map[string]mediaType `json:"content,omitempty"`
	}
	header struct {
		Description string `json:"description,omitempty"`
		Required    bool   `json:"required,omitempty"`
		Schema      any    `json:"schema"`
	}
	components struct {
		Schemas         map[string]any       `json:"schemas"`
		Responses       map[string]response  `json:"responses"`
		Parameters      map[string]parameter `json:"parameters"`
		SecuritySchemes map[string]any       `json:"securitySchemes,omitempty"`
	}
)

// namePattern is the plugin SDK's rule for plugin, action and process names.
// Build re-checks it because the names become path segments and component
// names, and Build may be given plugins that never went through Register.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Build returns the OpenAPI 3.1.0 document, as indented JSON, describing the
// gateway's routes for the given plugins. It is meant to be called once at
// start with pluginrt.List(); the result does not change while the process
// runs. It fails on a plugin that could not be routed (a bad or duplicate
// name) or whose schemas are not JSON Schema documents.
func Build(plugins []plugin.Info, opts Options) ([]byte, error) {
	sorted := append([]plugin.Info(nil), plugins...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })

	b := newBuilder(opts)
	for i, p := range sorted {
		if !namePattern.MatchString(p.Name) {
			return nil, fmt.Errorf("building openapi document: plugin name %q must match %s", p.Name, namePattern)
		}
		if i > 0 && sorted[i-1].Name == p.Name {
			return nil, fmt.Errorf("building openapi document: plugin %q listed twice", p.Name)
		}
		b.pluginNames = append(b.pluginNames, p.Name)
	}
	b.addSharedComponents()
	if err := b.addStaticRoutes(); err != nil {
		return nil, fmt.Errorf("building openapi document: %w", err)
	}
	for _, p := range sorted {
		if err := b.addPlugin(p); err != nil {
			return nil, fmt.Errorf("building openapi document: plugin %q: %w", p.Name, err)
		}
	}

	if err := b.dropUnusedShared(); err != nil {
		return nil, fmt.Errorf("building openapi document: %w", err)
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b.doc); err != nil {
		return nil, fmt.Errorf("building openapi document: encoding: %w", err)
	}
	return buf.Bytes(), nil
}

// builder accumulates the document and the bookkeeping that catches two
// plugins (or a plugin and a static route) claiming the same name.
type builder struct {
	doc         *document
	pluginNames []string
	opIDs       map[string]string // operation id -> "METHOD path"
}

func newBuilder(opts Options) *builder {
	version := opts.Version
	if version == "" {
		version = "dev"
	}
	doc := &document{
		OpenAPI: "3.1.0",
		Info: info{
			Title:       "Metagov API",
			Version:     version,
			Description: apiDescription,
		},
		Tags:  tagList,
		Paths: map[string]pathItem{},
		Components: components{
			Schemas:    map[string]any{},
			Responses:  map[string]response{},
			Parameters: map[string]parameter{},
		},
	}
	// "/" is the host serving the document (also what no servers means,
	// but linters and some generators want the entry).
	doc.Servers = []server{{URL: "/"}}
	if opts.ServerURL != "" {
		doc.Servers = []server{{URL: opts.ServerURL}}
	}
	return &builder{doc: doc, opIDs: map[string]string{}}
}

const apiDescription = "Metagov is a governance API gateway: a driver (a governance engine, a bot, a web app) " +
	"talks to this one API and, through plugins, to the platforms a community uses.\n\n" +
	"Routes under `/api/internal` are for the driver. Action, process-start and plugin-enable routes name the " +
	"community in the `X-Metagov-Community` header. Every error has a JSON body " +
	"`{\"detail\": ..., \"code\": ...}` (schema `Error`).\n\n" +
	"What the gateway POSTs to drivers (process callbacks and events, signed the Standard Webhooks way) " +
	"is described under `webhooks`.\n\n" +
	"Plugin schemas are JSON Schema 2020-12 and appear in `components.schemas` as " +
	"`<plugin>.config`, `<plugin>.<action>.input`, `<plugin>.<action>.output`, " +
	"`<plugin>.<process>.input` (the process's parameters plus `callback_url`: the start request's body), " +
	"`<plugin>.<process>.outcome` and `<plugin>.<event>.event` (an event's `data`)."

// addOp adds one operation, refusing a second operation on the same method
// and path or a reused operation id: either would silently hide a route.
func (b *builder) addOp(method, path string, op *operation) error {
	where := method + " " + path
	if prev, dup := b.opIDs[op.OperationID]; dup {
		return fmt.Errorf("operation id %q used by both %s and %s", op.OperationID, prev, where)
	}
	item := b.doc.Paths[path]
	if item == nil {
		item = pathItem{}
		b.doc.Paths[path] = item
	}
	key := strings.ToLower(method)
	if _, dup := item[key]; dup {
		return fmt.Errorf("route %s described twice", where)
	}
	op.Security = []map[string][]string{} // public: webhooks, public actions, docs, health
	if strings.HasPrefix(path, "/api/internal/") {
		// An API key once any exists; none, from loopback, in protected mode.
		op.Security = []map[string][]string{{"apiKey": {}}, {}}
	}
	item[key] = op
	b.opIDs[op.OperationID] = where
	return nil
}

// addWebhook describes a request the gateway sends to the driver (OpenAPI
// 3.1 webhooks), under a name unique among them.
func (b *builder) addWebhook(name string, op *operation) error {
	where := "webhook " + name
	if prev, dup := b.opIDs[op.OperationID]; dup {
		return fmt.Errorf("operation id %q used by both %s and %s", op.OperationID, prev, where)
	}
	if b.doc.Webhooks == nil {
		b.doc.Webhooks = map[string]pathItem{}
	}
	if _, dup := b.doc.Webhooks[name]; dup {
		return fmt.Errorf("%s described twice", where)
	}
	// The driver's receiver is not the gateway's to secure; deliveries are
	// signed (the webhook-signature header) instead.
	op.Security = []map[string][]string{}
	b.doc.Webhooks[name] = pathItem{"post": op}
	b.opIDs[op.OperationID] = where
	return nil
}

// dropUnusedShared removes the shared error responses and header parameters
// that no operation references (with no plugins, nothing takes the community
// header), since an unused component is noise to generators and linters.
func (b *builder) dropUnusedShared() error {
	raw, err := json.Marshal(b.doc)
	if err != nil {
		return fmt.Errorf("encoding: %w", err)
	}
	used := func(kind, name string) bool {
		return bytes.Contains(raw, []byte(`"#/components/`+kind+`/`+name+`"`))
	}
	for name := range b.doc.Components.Responses {
		if !used("responses", name) {
			delete(b.doc.Components.Responses, name)
		}
	}
	for name := range b.doc.Components.Parameters {
		if !used("parameters", name) {
			delete(b.doc.Components.Parameters, name)
		}
	}
	return nil
}

// addSchema adds a named component schema, refusing to overwrite one.
func (b *builder) addSchema(name string, s any) error {
	if _, dup := b.doc.Components.Schemas[name]; dup {
		return fmt.Errorf("schema component %q defined twice", name)
	}
	b.doc.Components.Schemas[name] = s
	return nil
}
