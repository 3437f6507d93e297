// Package plugin is the public SDK for Metagov plugins: the contract between
// the gateway and the code that talks to one platform.
//
// A plugin is a Go package that registers an [Info] in its init function, much
// as a database/sql driver registers itself:
//
//	func init() {
//		plugin.Register(plugin.Info{
//			Name:   "randomness",
//			Config: configSchema,
//			New:    func() plugin.Instance { return &Randomness{} },
//			Actions: []plugin.Action{{
//				Name: "random-int",
//				Run:  plugin.Bind((*Randomness).randomInt),
//			}},
//		})
//	}
//
// The gateway builds one value with Info.New for every enabled plugin
// instance (a community's connection to a platform). Everything else a plugin
// can do is an optional interface that the gateway discovers by type
// assertion, so a plugin implements only what it needs:
//
//   - [Provisioner]: receives its validated config and its dependencies
//     (logger, HTTP client with timeouts, clock) in an [Env].
//   - [Initializer]: runs when the instance is enabled or its config changes;
//     an error refuses the change and nothing is stored; [Call.Warn] accepts
//     it with a notice the caller reads in the answer's "warnings";
//     [Call.SetPlatformID] names the platform account the config resolved
//     to, when it can name one several ways (see Info.PlatformIDKey).
//   - [WebhookVerifier]: checks a platform webhook's signature before anything
//     parses it; an error answers 401 and nothing runs.
//   - [WebhookReceiver]: turns a verified webhook into events and state.
//   - [Poller]: runs every Info.PollInterval, once across the cluster.
//   - [Disabler]: runs when the instance is disabled or replaced, to undo
//     what it set up on the platform (a webhook it registered); it cannot
//     refuse, and a failure reaches the caller as a warning.
//
// Governance processes are described by a [ProcessType] whose New returns a
// [ProcessHandler]; the handler may also implement [ProcessCloser],
// [ProcessWaker], [ProcessPoller] and [ProcessWebhookReceiver].
//
// Plugins never write SQL or routes. Every invocation gets a [Call], a unit of
// work: state changes, emitted events, process changes and wake-ups are
// buffered and committed by the gateway in one database transaction when the
// invocation returns without error, together with the callbacks and driver
// events they cause. An invocation that returns an error changes nothing.
// [Call.State] is the instance's durable key-value state: besides
// [State.Get] and [State.Set], [State.List] and [State.Scan] read many small
// values under a prefix (one per ballot), and [State.Floor] finds the
// greatest key at or below a key, so that values kept in sorted pages are
// found with one lookup.
//
// Secrets are config properties marked "writeOnly": true in Info.Config: the
// gateway stores them encrypted and shows them as "********". The config
// properties that decide where a secret is sent (a server URL) must carry
// the annotation [DestinationKeyword] ("x-metagov-destination": true), so
// that no caller can keep a stored secret while pointing it at a server of
// its own choosing.
//
// Errors a plugin returns tell the gateway what to answer: an [*InputError]
// is the caller's fault (400), [ErrNotFound] a missing object (404),
// [ErrUnauthorized] a webhook that failed verification (401), and a
// [*PlatformError] a failing platform (502, or 504 on timeout) or, with
// Rejected set, a platform that refused the input (422 platform_rejected,
// with the platform's message and Field). A [*SettingsError] names gateway
// settings the plugin lacks (500 plugin_not_configured, names only, for the
// operator). Anything else is an internal error (500); its text is logged,
// not sent.
//
// # OAuth installs and identity
//
// A plugin whose platform is installed by OAuth (a Slack app, say) declares
// AuthType [AuthOAuth] and sets Info.OAuth to an [Installer]. The gateway
// serves GET /auth/<plugin>/authorize and /auth/<plugin>/callback with the
// original Metagov's parameters, signs and expires the state it hands the
// platform, refuses replays and foreign redirect_uris, and redirects back to
// the driver. The Installer only talks to the platform:
//
//   - AuthorizeURL builds the platform's authorization URL from the
//     gateway's [AuthorizeRequest] (its State and RedirectURI passed on
//     unchanged; app credentials read with Setting, such as
//     Setting("SLACK_CLIENT_ID")).
//   - Install exchanges the callback's code (with the request's HTTPClient,
//     which enforces the egress policy) and returns an [Installation]: for
//     an app install the instance Config (tokens in writeOnly properties;
//     its Info.PlatformIDKey property is the community_platform_id), for a
//     user login the PlatformID of the instance the user belongs to; the
//     Accounts to link; extra Redirect parameters; and the UserToken the
//     driver fetches once with its API key. An [*InstallError] reaches the
//     driver as error and error_description.
//   - A platform that may call back without a code (a GitHub App that
//     does not request user authorization) implements [CodelessInstaller].
//
// The gateway creates the instance (or replaces the config of the
// community's instance with the same platform id; an account installed in
// another community is refused), runs its [Initializer], and links the
// accounts, all in one transaction.
//
// Any invocation links platform accounts to the community's identities
// (the identity API's MetagovIDs) with [Call.Identity]:
//
//	c.Identity().Link(ctx, plugin.Account{PlatformIdentifier: userID,
//		LinkType: plugin.LinkTypeOAuth, LinkQuality: plugin.LinkQualityConfirmedStrong})
//
// A link only ever raises an account's quality: one already linked at an
// equal or higher quality is left as it is.
//
// Gateway settings (environment or .env) are read with [Env.Setting].
//
// Call the platform only with [Env].HTTPClient: it enforces the gateway's
// egress policy (no link-local or cloud metadata addresses, and on a hosted
// gateway no private ones, checked at every redirect hop). A refused call
// fails at once with an error matching [ErrEgressRefused]; keep it wrapped
// (as [CheckResponse] does) and the gateway answers 502 egress_refused
// naming the rule.
//
// # What is not here
//
// This package holds only what a plugin author uses. The gateway's half of
// the contract (building a Call or a Process for an invocation and reading
// back what it buffered, listing the registered plugins, probing what
// [Bind] recorded) is unexported here and reached by the gateway through
// its internal package internal/pluginrt, to which this package hands it at
// init (through internal/pluginrt/hook, the one package of the gateway it
// imports, which holds no gateway code). A plugin's unit tests of its own
// code build calls with plugintest.NewCall and plugintest.NewProcess.
//
// Package plugin/plugintest is the conformance kit: a plugin's test calls
// plugintest.Exercise with a config and a few example calls, and the kit
// checks the promises above (schemas against the Go types they decode into,
// secrets, SDK errors, process statuses, webhook verification) through a
// real gateway. Every built-in plugin runs it from conformance_test.go.
package plugin
