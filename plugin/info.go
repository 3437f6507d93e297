package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"time"
)

// Auth types a plugin can declare; drivers use them to build setup forms.
const (
	AuthNone   = "none"
	AuthAPIKey = "api_key"
	AuthOAuth  = "oauth"
)

// Schema is a JSON Schema (draft 2020-12) kept as raw JSON, so the same bytes
// validate requests and appear verbatim in the OpenAPI document. Mark secret
// config properties with "writeOnly": true, and the config properties that
// decide where those secrets are sent with [DestinationKeyword].
type Schema = json.RawMessage

// GeneratedKeyword is the JSON Schema annotation that marks a top-level
// config property the gateway fills when a config leaves it out (or sends
// null), such as the webhook_slug of a platform that cannot sign webhooks:
//
//	"webhook_slug": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,}$", "x-metagov-generated": true}
//
// An update keeps the instance's current value; a first enable gets a new
// unguessable token of 26 letters and digits ([A-Z2-7], 130 random bits),
// which the property's schema must accept. The config and the community's
// /hooks show it. Do not list the property as required.
const GeneratedKeyword = "x-metagov-generated"

// DestinationKeyword is the JSON Schema annotation that marks a config
// property deciding where the plugin sends its secrets (a server_url, an API
// host, a token endpoint):
//
//	"server_url": {"type": "string", "x-metagov-destination": true}
//
// The gateway never lets a stored secret leave for a new destination: a
// config update that keeps a secret by sending back its redacted value
// ("********") must leave every destination property unchanged, or it is
// refused with 400 secret_required naming the secrets to send again. A
// change of destination with the secrets sent again, and a first enable, are
// accepted. Mark every property that can change where a secret goes,
// including ones that only change part of the URL (a port, a path prefix).
//
// The keyword is honoured on any property reached through "properties" and
// "items" (the same places as "writeOnly"); elsewhere, or with a value that
// is not a boolean, the gateway refuses to start. Writing it false records
// that a URL-like property was considered and is not a destination (a web
// link, say); the conformance kit (plugin/plugintest) requires every
// URL-like property (format uri, or a name ending in url, uri or host) of a
// plugin with secrets to carry it, true or false.
const DestinationKeyword = "x-metagov-destination"

// Instance is the value Info.New returns for each enabled plugin instance. It
// may implement any of the optional interfaces listed in the package doc.
type Instance any

// Info describes a plugin to the gateway.
type Info struct {
	// Name is the plugin's stable identifier, used in routes and stored in the
	// database: lowercase letters, digits, '-' and '_'.
	Name string
	// Description is a one-line summary shown in the API docs.
	Description string
	// AuthType is AuthNone (the default), AuthAPIKey or AuthOAuth. A plugin
	// declaring AuthOAuth sets OAuth, and the gateway serves its install
	// routes.
	AuthType string
	// OAuth, set exactly when AuthType is AuthOAuth, talks to the platform
	// for the gateway's OAuth install routes (/auth/<plugin>/authorize and
	// /auth/<plugin>/callback).
	OAuth Installer
	// Config is the JSON Schema of the instance config. Defaults in it are
	// filled in before the config is stored. Nil accepts any JSON object.
	// A top-level property marked with [GeneratedKeyword] is filled by the
	// gateway when a config leaves it out.
	Config Schema
	// ConfigType is the Go type the instance decodes its config into with
	// [Env.DecodeConfig], such as reflect.TypeFor[Config](). The
	// conformance kit (plugin/plugintest) checks that Config and it agree.
	ConfigType reflect.Type
	// PlatformIDKey names the config property whose value identifies the
	// platform account (a Slack workspace, a Discourse server), so a community
	// can enable several instances of one plugin, one per account. Empty means
	// one instance per community. An Initializer whose property can name an
	// account several ways, or be left out, reports the account's canonical
	// id with [Call.SetPlatformID], which then identifies the instance
	// instead of the property's value.
	PlatformIDKey string
	// New returns a fresh, unprovisioned instance.
	New func() Instance
	// Actions are the synchronous operations drivers can perform.
	Actions []Action
	// Processes are the governance processes the plugin can run.
	Processes []ProcessType
	// Events documents the event types the plugin emits.
	Events []EventType
	// PollInterval is how often a [Poller] instance is polled. Zero means the
	// gateway's default (one minute).
	PollInterval time.Duration
	// Platform, if set, receives platform-wide webhooks at /api/hooks/<plugin>
	// and routes them to instances.
	Platform PlatformRouter
}

// Action describes one synchronous operation of a plugin.
type Action struct {
	// Name is unique within the plugin; the route is <plugin>.<name>.
	Name        string
	Description string
	// Input is the schema of the request's "parameters" object; nil accepts
	// any object.
	Input Schema
	// Output is the schema of the result. A result that does not match it is
	// a bug in the plugin and answers 500.
	Output Schema
	// Public actions are also served at /api/action/<plugin>.<name>.
	Public bool
	// InputType is the Go type the parameters are decoded into, for the
	// conformance kit (plugin/plugintest), which checks that Input and the
	// type agree. [Bind] records it itself; set it (with
	// reflect.TypeFor[myParams]()) for a RunProcess action, whose
	// "process_id" the gateway reads and the type may leave out.
	InputType reflect.Type
	// Run performs the action on a provisioned instance with parameters that
	// have already been validated against Input. Use [Bind] to write it as a
	// typed method.
	Run RunFunc
	// RunProcess, set instead of Run, performs an action on one of the
	// instance's processes, such as casting a ballot: the parameters must
	// carry "process_id"; the gateway loads that process (404 when it is
	// not this instance's), serialises the action with the process's other
	// invocations, and commits the process's changes, with the callback
	// they cause, together with the call's.
	RunProcess ProcessRunFunc
}

// ProcessRunFunc is the form of an action on a process.
type ProcessRunFunc func(ctx context.Context, inst Instance, c *Call, p *Process, params json.RawMessage) (any, error)

// RunFunc is the untyped form of an action.
type RunFunc func(ctx context.Context, inst Instance, c *Call, params json.RawMessage) (any, error)

// Bind adapts a typed action method, such as (*Slack).postMessage, to a
// RunFunc: it asserts the instance's type and decodes the validated parameters
// into In with [Unmarshal], exactly as the schema saw them. It also records
// In and Out, so that the conformance kit can check them against the
// action's schemas.
func Bind[I Instance, In, Out any](fn func(I, context.Context, *Call, In) (Out, error)) RunFunc {
	run := func(ctx context.Context, inst Instance, c *Call, params json.RawMessage) (any, error) {
		if probe, ok := inst.(*typeProbe); ok {
			probe.in, probe.out = reflect.TypeFor[In](), reflect.TypeFor[Out]()
			return nil, nil
		}
		typed, ok := inst.(I)
		if !ok {
			return nil, fmt.Errorf("plugin instance is %T, action expects %T", inst, *new(I))
		}
		var in In
		if len(params) > 0 && string(params) != "null" {
			if err := Unmarshal(params, &in); err != nil {
				return nil, err
			}
		}
		return fn(typed, ctx, c, in)
	}
	boundCode.Store(reflect.ValueOf(run).Pointer(), true)
	return run
}

// boundCode holds the code pointers of the functions Bind returns, so that
// boundTypes only ever probes one of them. A code pointer is shared by
// every Bind instantiation of one shape, so it cannot name the types
// itself: the probe asks the function.
var boundCode sync.Map

// typeProbe is the instance boundTypes passes to a Bind function, which
// then records its type parameters instead of running.
type typeProbe struct{ in, out reflect.Type }

// boundTypes returns the input and output types of a RunFunc made by
// [Bind], and ok false for any other RunFunc (which it does not call). The
// conformance kit uses it, through internal/pluginrt, to compare an
// action's schemas with the Go types that decode and encode its values.
func boundTypes(run RunFunc) (in, out reflect.Type, ok bool) {
	if run == nil {
		return nil, nil, false
	}
	if _, bound := boundCode.Load(reflect.ValueOf(run).Pointer()); !bound {
		return nil, nil, false
	}
	var probe typeProbe
	if _, err := run(context.Background(), &probe, nil, nil); err != nil || probe.in == nil {
		return nil, nil, false
	}
	return probe.in, probe.out, true
}

// ProcessType describes a kind of governance process, such as a vote.
type ProcessType struct {
	// Name is unique within the plugin; the route is <plugin>.<name>.
	Name        string
	Description string
	// Input is the schema of the start parameters (callback_url excluded).
	// Defaults are filled in before Start sees them.
	Input Schema
	// InputType is the Go type the handler decodes the start parameters
	// into with [Process.DecodeInput], such as reflect.TypeFor[pollInput]().
	// The conformance kit (plugin/plugintest) checks that Input and it
	// agree, and requires it whenever Input is set.
	InputType reflect.Type
	// Outcome documents the shape of the process outcome.
	Outcome Schema
	// PollInterval is how often pending processes whose handler implements
	// [ProcessPoller] are polled. Zero means the gateway's default.
	PollInterval time.Duration
	// New returns a handler bound to the plugin instance that owns the
	// process. It is called for every invocation, so it should be cheap.
	New func(inst Instance) ProcessHandler
}

// EventType documents one kind of event a plugin emits to the driver.
type EventType struct {
	Type        string
	Description string
	Schema      Schema
}

// Provisioner is implemented by instances that need their config or the
// gateway's services. Provision runs whenever the gateway builds the instance:
// at first use after start and after every config change.
type Provisioner interface {
	Provision(ctx context.Context, env Env) error
}

// Initializer is implemented by instances that must do something once when
// they are enabled or their config changes, such as fetching platform data
// into state or registering a webhook. An error refuses the enable or update;
// Call.Warn lets it succeed with a caveat the caller reads in the answer;
// Call.SetPlatformID reports the platform account the config resolved to.
type Initializer interface {
	Initialize(ctx context.Context, c *Call) error
}

// Disabler is implemented by instances that set something up on the
// platform that must not outlive them, such as a webhook they registered.
// Disable runs when the instance goes away: disabled (DELETE on the plugin,
// with force or not), left out of a community's plugin list (PUT on the
// community, which is also how a config naming another platform account
// replaces an instance), or deleted with its community. It runs after the
// removal is committed, with the instance as it was (its config, and its
// state as it was just before, through c.State()), and it cannot stop the
// removal: an error, a timeout (the gateway gives it a bounded time) or a
// [Call.Warn] is logged and returned to the caller as a warning, and
// nothing Disable changes through c is kept. A config change that keeps
// the instance does not call it: Initialize runs again instead, and undoes
// what the old config set up itself.
type Disabler interface {
	Disable(ctx context.Context, c *Call) error
}

// Poller is implemented by instances that fetch events from a platform that
// cannot push them. Poll runs every Info.PollInterval, once across all
// gateway processes sharing a database.
type Poller interface {
	Poll(ctx context.Context, c *Call) error
}

// ProcessHandler runs one governance process. Start must leave the process
// pending or completed (or return an error, and the process is discarded).
//
// Invocations on one process never overlap, but one may run again: when
// several gateway processes share a PostgreSQL database and another changed
// the process first, what an invocation (Close, Wake, Poll, a webhook, a
// RunProcess action) changed is discarded and it runs again on the process
// as it now is; a failed job runs again too. So what it asks of a platform
// must bear repeating (closing a closed poll, posting with an idempotency
// key), and what it decides must come from the process it is given.
type ProcessHandler interface {
	Start(ctx context.Context, c *Call, p *Process) error
}

// ProcessCloser is implemented by handlers that can close a process early
// when the driver asks (DELETE on the process). Close must complete it.
type ProcessCloser interface {
	Close(ctx context.Context, c *Call, p *Process) error
}

// ProcessWaker is implemented by handlers that schedule wake-ups with
// Process.WakeAt. Wake runs at (or after) the requested time, even if the
// gateway was down when it fell due.
type ProcessWaker interface {
	Wake(ctx context.Context, c *Call, p *Process) error
}

// ProcessPoller is implemented by handlers that fetch their state from the
// platform every ProcessType.PollInterval while the process is pending.
type ProcessPoller interface {
	Poll(ctx context.Context, c *Call, p *Process) error
}

// ProcessExporter is implemented by handlers that can show more of a
// process than its record, such as a vote's rules and ballots. GET on the
// process with ?include=ballots merges the fields of the JSON object Export
// returns into the record. Export must not change the process.
type ProcessExporter interface {
	Export(ctx context.Context, c *Call, p *Process) (any, error)
}

// ProcessWebhookReceiver is implemented by handlers that update a pending
// process from webhooks received by its plugin instance (after the instance
// verified them).
type ProcessWebhookReceiver interface {
	ReceiveWebhook(ctx context.Context, c *Call, p *Process, req *WebhookRequest) error
}
