// Package core is the gateway's domain: communities, plugin instances,
// actions, governance processes, webhooks and the outbox of deliveries to
// drivers. It runs plugins only through the plugin SDK and persists through
// the store; it knows nothing of HTTP routing.
//
// Every change a plugin makes is committed in one transaction together with
// the callbacks, driver events and timers it causes (a transactional outbox),
// so a crash never loses a notification nor sends one for a change that was
// rolled back.
package core

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/metagov/metagov-go/internal/egress"
	"github.com/metagov/metagov-go/internal/metrics"
	"github.com/metagov/metagov-go/internal/pluginrt"
	"github.com/metagov/metagov-go/internal/secrets"
	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugin"
)

// Config holds the gateway's settings.
type Config struct {
	// EventReceiverURL is where driver events are POSTed
	// (DRIVER_EVENT_RECEIVER_URL). Empty keeps events for pulling only.
	EventReceiverURL string
	// PublicURL is the gateway's externally reachable base URL, given to
	// plugins that register webhooks.
	PublicURL string
	// HTTPClient is what plugins use to call platforms. Default: Egress's
	// PlatformClient with a 30 s timeout.
	HTTPClient *http.Client
	// Logger receives the gateway's logs. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Plugins are the plugins to serve. Default: every registered plugin.
	Plugins []plugin.Info
	// Egress decides which callback URLs are acceptable (and, through
	// HTTPClient, where plugins may connect). Default: the default policy
	// (no link-local or metadata addresses).
	Egress egress.Policy
	// Secrets encrypts the config properties plugins mark writeOnly; nil
	// stores them in the clear (tests only).
	Secrets *secrets.Box
	// Metrics records action latency; nil records nothing.
	Metrics *metrics.Metrics
	// ConfigWatchInterval is how often a gateway process checks whether
	// another one changed communities or plugins, and how long it may serve
	// a process record from its cache before reading it again, so that a
	// change made by another gateway process shows. Default: one second.
	ConfigWatchInterval time.Duration
	// Settings reads the gateway settings plugins ask for by name (their
	// app credentials, such as SLACK_CLIENT_ID). Default: os.Getenv (the
	// CLI has loaded .env into the environment).
	Settings func(name string) string
	// OAuthRedirectAllow lists the prefixes a driver's OAuth redirect_uri
	// must start with (METAGOV_OAUTH_REDIRECT_ALLOW); empty refuses every
	// OAuth install.
	OAuthRedirectAllow []string
	// OAuthStateTTL is how long an OAuth state is accepted. Default:
	// DefaultOAuthStateTTL.
	OAuthStateTTL time.Duration
	// LegacyDriver restores the original's behaviours that leak secrets,
	// for drivers that depend on them (METAGOV_LEGACY_DRIVER): the
	// installer's user token in the OAuth redirect, and secrets in a
	// community's GET for admin keys.
	LegacyDriver bool
}

// Scheduler queues background work inside the caller's transaction, so that
// the work is queued if and only if the change that causes it commits. The
// job kinds and their queue are internal/jobs'; core only says what to run.
type Scheduler interface {
	// QueueWakes queues a run of each process's Wake, in tx.
	QueueWakes(ctx context.Context, tx *sql.Tx, processIDs []int64) error
}

// Gateway is the domain service behind the HTTP API and the job workers.
type Gateway struct {
	store *store.Store
	jobs  Scheduler
	cfg   Config
	log   *slog.Logger
	types map[string]*pluginType
	cache *cache
	// procs caches process records for GET (see processCache).
	procs *processCache
	auth  authCache
	ids   idPool
	// stateKeys sign OAuth states, the current one first.
	stateKeys [][]byte
	// deliveryWake tells the delivery dispatcher that a commit queued
	// deliveries, so it need not wait for its next sweep.
	deliveryWake chan struct{}
	// processLocks serialise invocations on one process within this gateway
	// process; the sequence compare-and-set covers other processes.
	processLocks [64]sync.Mutex
}

// processCacheBytes bounds the memory of the process cache: some tens of
// thousands of typical records.
const processCacheBytes = 16 << 20

// New compiles the plugins' schemas and returns a gateway. Call SetScheduler
// before serving.
func New(st *store.Store, cfg Config) (*Gateway, error) {
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = cfg.Egress.PlatformClient(30 * time.Second)
	}
	if cfg.Plugins == nil {
		cfg.Plugins = pluginrt.List()
	}
	cfg.ConfigWatchInterval = cmp.Or(cfg.ConfigWatchInterval, time.Second)
	if cfg.Settings == nil {
		cfg.Settings = os.Getenv
	}
	types, err := compileRegistry(cfg.Plugins)
	if err != nil {
		return nil, err
	}
	cfg.OAuthStateTTL = cmp.Or(cfg.OAuthStateTTL, DefaultOAuthStateTTL)
	// OAuth states are signed with a key derived from the secret key, so
	// every gateway process sharing the database (and the key) accepts
	// them; without a secret key (tests) a random key per process.
	stateKeys := [][]byte{make([]byte, 32)}
	if cfg.Secrets != nil {
		stateKeys = cfg.Secrets.Derive("oauth-state")
	} else {
		_, _ = rand.Read(stateKeys[0])
	}
	procs := newProcessCache(cfg.ConfigWatchInterval, processCacheBytes)
	return &Gateway{store: st, cfg: cfg, log: cfg.Logger, types: types, cache: newCache(procs), procs: procs,
		stateKeys: stateKeys, deliveryWake: make(chan struct{}, 1)}, nil
}

// SetScheduler sets what queues background jobs. The job client needs the
// gateway to build its workers, so it is given afterwards.
func (g *Gateway) SetScheduler(s Scheduler) { g.jobs = s }

// Plugins returns the plugins the gateway serves.
func (g *Gateway) Plugins() []plugin.Info { return g.cfg.Plugins }

// Store returns the gateway's store.
func (g *Gateway) Store() *store.Store { return g.store }

// WatchConfig drops cached communities whenever another gateway process
// sharing the database changes one. It returns when ctx is done.
func (g *Gateway) WatchConfig(ctx context.Context) {
	t := time.NewTicker(g.cfg.ConfigWatchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		gen, err := g.store.ConfigGeneration(ctx)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				g.log.WarnContext(ctx, "checking config generation", slog.Any("error", err))
			}
			continue
		}
		if g.cache.observeGeneration(gen) {
			g.auth.drop()
		}
	}
}

func (g *Gateway) now() time.Time { return g.cfg.Now() }

// Now is the gateway's clock (Config.Now), which tests move; the HTTP layer
// stamps received webhooks with it, so that signature timestamps and the
// expiry of what plugins remember are judged by one clock.
func (g *Gateway) Now() time.Time { return g.now() }

func (g *Gateway) lockProcess(id int64) func() {
	m := &g.processLocks[uint64(id)%uint64(len(g.processLocks))]
	m.Lock()
	return m.Unlock
}

func (g *Gateway) pluginType(name string) (*pluginType, error) {
	t, ok := g.types[name]
	if !ok {
		return nil, newError(KindNotFound, "unknown_plugin", "No such plugin registered: %s", name)
	}
	return t, nil
}

// Ready reports whether the gateway can serve: its database answers and
// has every migration applied.
func (g *Gateway) Ready(ctx context.Context) error {
	if err := g.store.Ping(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	pending, err := g.store.MigrationsPending(ctx)
	if err != nil {
		return fmt.Errorf("checking migrations: %w", err)
	}
	if pending {
		return fmt.Errorf("database migrations are pending")
	}
	return nil
}

// writeTx runs fn in a write transaction and, if the transaction queued
// deliveries, wakes the dispatcher once it has committed. Commits that queue
// nothing do not wake it: each wake-up costs the dispatcher a write
// transaction to find nothing due.
func (g *Gateway) writeTx(ctx context.Context, fn func(tx *store.Tx) error) error {
	return g.write(ctx, g.store.InTx, fn)
}

// writeBatch is writeTx for writes that need no answer before they commit
// (see store.InBatch).
func (g *Gateway) writeBatch(ctx context.Context, fn func(tx *store.Tx) error) error {
	return g.write(ctx, g.store.InBatch, fn)
}

func (g *Gateway) write(ctx context.Context, in func(context.Context, func(*store.Tx) error) error, fn func(tx *store.Tx) error) error {
	queued := 0
	err := in(ctx, func(tx *store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		queued = tx.DeliveriesQueued()
		return nil
	})
	if err == nil && queued > 0 {
		g.wakeDispatcher()
	}
	if store.IsMissingReference(err) {
		// The instance (or its community, or the process) was removed by a
		// request that committed first; ignoreGone treats this as done.
		return &Error{Kind: KindConflict, Code: CodeInstanceGone, Err: err,
			Detail: "the plugin instance this request changes was removed meanwhile; nothing was written"}
	}
	return err
}

// DeliveryWake is signalled after commits that queued deliveries.
func (g *Gateway) DeliveryWake() <-chan struct{} { return g.deliveryWake }

func (g *Gateway) wakeDispatcher() {
	select {
	case g.deliveryWake <- struct{}{}:
	default:
	}
}
