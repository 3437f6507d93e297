// Package app assembles the gateway: store, core, job workers and the HTTP
// API, with their start and graceful stop. cmd/metagov and the end-to-end
// tests both build the service through it, so they run the same thing.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/metagov/metagov-go/internal/core"
	"github.com/metagov/metagov-go/internal/delivery"
	"github.com/metagov/metagov-go/internal/egress"
	"github.com/metagov/metagov-go/internal/httpapi"
	"github.com/metagov/metagov-go/internal/jobs"
	"github.com/metagov/metagov-go/internal/metrics"
	"github.com/metagov/metagov-go/internal/store"
	"github.com/metagov/metagov-go/plugin"
)

// Config holds every setting of the service.
type Config struct {
	// Addr is the listen address. Default: 127.0.0.1:8000.
	Addr string
	// Database is a SQLite file path or a postgres:// URL. Default: metagov.db.
	Database string
	// SQLiteSynchronous is "FULL" (the default: a 2xx means the change is
	// on disk) or "NORMAL" (faster; the last commits may be lost to a power
	// loss). See store.Options.
	SQLiteSynchronous string
	// EventReceiverURL is where driver events are POSTed.
	EventReceiverURL string
	// PublicURL is the service's externally reachable base URL.
	PublicURL string
	// Logger receives all logs. Default: slog.Default().
	Logger *slog.Logger
	// JobPollInterval is how often idle job workers look for work.
	JobPollInterval time.Duration
	// ConfigWatchInterval is how soon a change made by another gateway
	// process to a community, plugin or process shows here. Default: one
	// second.
	ConfigWatchInterval time.Duration
	// ShutdownTimeout bounds how long a stop waits for requests and jobs in
	// flight. Default: 30 s.
	ShutdownTimeout time.Duration
	// Plugins are the plugins to serve. Default: every registered plugin.
	Plugins []plugin.Info
	// Settings reads the settings plugins ask for by name (such as
	// SLACK_CLIENT_ID). Default: os.Getenv.
	Settings func(name string) string
	// OAuthRedirectAllow lists, comma or space separated, the prefixes a
	// driver's OAuth redirect_uri must start with
	// (METAGOV_OAUTH_REDIRECT_ALLOW). Empty refuses every OAuth install.
	OAuthRedirectAllow string
	// LegacyDriver restores the original's leaky behaviours for drivers
	// that read them (METAGOV_LEGACY_DRIVER): the installer's user token in
	// the OAuth redirect, and plugin secrets in a community's GET for admin
	// keys.
	LegacyDriver bool

	// oauthBase is PublicURL as configured, before its default.
	oauthBase string
	// Version is reported in the API document.
	Version string
	// Now is the gateway's one clock: core, the job queue, the delivery
	// dispatcher and, through Env.Now, the plugins read it, so a test moves
	// it to travel in time. Default: time.Now.
	Now func() time.Time
	// PlatformTimeout bounds every call a plugin makes to its platform.
	// Default: 30 s.
	PlatformTimeout time.Duration
	// WebhookSecret signs deliveries: one whsec_ secret, or two (space or
	// comma separated) during a rotation. Default: a secret generated on
	// first start and kept in the database.
	WebhookSecret string
	// EgressAllow opens destinations the egress policy refuses (link-local
	// and metadata addresses; private ranges with EgressDenyPrivate): CIDRs
	// or addresses, for deliveries and platform calls alike.
	EgressAllow string
	// DeliveryAllow is the former name of EgressAllow; both are honoured.
	DeliveryAllow string
	// EgressDenyPrivate refuses loopback, private, unique-local and
	// carrier-grade NAT destinations too: the setting for a hosted,
	// multi-tenant gateway.
	EgressDenyPrivate bool
	// EgressProxy, when set, is the proxy URL every outbound request goes
	// through. HTTP_PROXY and HTTPS_PROXY are never used.
	EgressProxy string
	// EgressResolver resolves names for outbound connections. Default: the
	// system's resolver; tests give one that answers without DNS.
	EgressResolver egress.Resolver
	// EventRetention is how long events are kept for pulling. Default:
	// 30 days.
	EventRetention time.Duration
	// SecretKey encrypts plugin secrets at rest: base64 keys of 32 bytes,
	// space-separated, the sealing key first. Default: the key file (see
	// KeyFile), created on first start.
	SecretKey string
	// DeliveryTimeout bounds one delivery attempt. Default: 15 s.
	DeliveryTimeout time.Duration
	// RetrySchedule replaces the waits between delivery attempts, for
	// tests: the i-th entry is the wait after attempt i, and the delivery
	// fails after len(RetrySchedule) attempts.
	RetrySchedule []time.Duration
	// RescueAfter is how long a job may run before it is taken to have
	// died with its process and is run again. Default: 5 min.
	RescueAfter time.Duration
	// ReadHeaderTimeout bounds how long a client may take to send a
	// request's headers (slowloris). Default: 10 s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds how long a client may take to send a whole
	// request. Default: 1 min.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of a request's headers to
	// the end of its response, so a client that never reads cannot hold a
	// connection and its handler. Default: 1 min, and at least
	// PlatformTimeout + 30 s, since actions wait for their platform.
	WriteTimeout time.Duration
	// IdleTimeout closes kept-alive connections idle that long. Default:
	// 2 min.
	IdleTimeout time.Duration
}

// App is an assembled gateway.
type App struct {
	cfg        Config
	store      *store.Store
	gateway    *core.Gateway
	jobs       *jobs.Client
	dispatcher *delivery.Dispatcher
	handler    http.Handler
	stopCtx    context.CancelFunc
	listen     *pgxpool.Pool // nil on SQLite
}

// withDefaults fills in the settings left zero.
func withDefaults(cfg Config) Config {
	cfg.Addr = cmp.Or(cfg.Addr, "127.0.0.1:8000")
	cfg.Database = cmp.Or(cfg.Database, "metagov.db")
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	cfg.ShutdownTimeout = cmp.Or(cfg.ShutdownTimeout, 30*time.Second)
	// OAuth callbacks go to the configured public URL; without one, to the
	// host the driver's authorize request reached.
	cfg.oauthBase = cfg.PublicURL
	cfg.PublicURL = cmp.Or(cfg.PublicURL, "http://"+cfg.Addr)
	cfg.PlatformTimeout = cmp.Or(cfg.PlatformTimeout, 30*time.Second)
	cfg.ReadHeaderTimeout = cmp.Or(cfg.ReadHeaderTimeout, 10*time.Second)
	cfg.ReadTimeout = cmp.Or(cfg.ReadTimeout, time.Minute)
	cfg.WriteTimeout = cmp.Or(cfg.WriteTimeout, max(time.Minute, cfg.PlatformTimeout+30*time.Second))
	cfg.IdleTimeout = cmp.Or(cfg.IdleTimeout, 2*time.Minute)
	return cfg
}

// Open connects to the database, applies migrations and assembles the
// gateway. It does not start workers or listen; see Start and Serve.
func Open(ctx context.Context, cfg Config) (*App, error) {
	cfg = withDefaults(cfg)
	st, err := store.OpenWith(ctx, cfg.Database, store.Options{SQLiteSynchronous: cfg.SQLiteSynchronous})
	if err != nil {
		return nil, err
	}
	if err := Migrate(ctx, st); err != nil {
		st.Close()
		return nil, err
	}
	// listen is River's LISTEN/NOTIFY connection on PostgreSQL.
	var listen *pgxpool.Pool
	fail := func(err error) (*App, error) {
		if listen != nil {
			listen.Close()
		}
		st.Close()
		return nil, err
	}
	policy, err := egress.New(egress.Config{
		Allow:       cfg.EgressAllow + " " + cfg.DeliveryAllow,
		DenyPrivate: cfg.EgressDenyPrivate,
		Proxy:       cfg.EgressProxy,
		Resolver:    cfg.EgressResolver,
	})
	if err != nil {
		return fail(err)
	}
	if cfg.EventReceiverURL != "" {
		if err := policy.CheckURL(cfg.EventReceiverURL); err != nil {
			return fail(fmt.Errorf("event receiver URL: %w", err))
		}
	}
	box, err := SecretBox(cfg.SecretKey, KeyFile(cfg.Database), cfg.Logger)
	if err != nil {
		return fail(err)
	}
	warnIfShared(cfg.Logger, st.Dialect(), cfg.Database, cfg.SecretKey)
	secrets, err := WebhookSecret(ctx, st, box, cfg.WebhookSecret, cfg.Logger)
	if err != nil {
		return fail(err)
	}
	signer, err := delivery.NewSigner(secrets)
	if err != nil {
		return fail(err)
	}
	m := metrics.New(gauges{st})
	g, err := core.New(st, core.Config{
		EventReceiverURL: cfg.EventReceiverURL,
		PublicURL:        cfg.PublicURL,
		Logger:           cfg.Logger,
		Plugins:          cfg.Plugins,
		Now:              cfg.Now,
		HTTPClient:       policy.PlatformClient(cfg.PlatformTimeout),
		Egress:           policy,
		Secrets:          box,
		Metrics:          m,

		ConfigWatchInterval: cfg.ConfigWatchInterval,
		Settings:            cfg.Settings,
		OAuthRedirectAllow:  splitList(cfg.OAuthRedirectAllow),
		LegacyDriver:        cfg.LegacyDriver,
	})
	if err != nil {
		return fail(err)
	}
	if st.Dialect() == store.Postgres {
		if listen, err = jobs.ListenerPool(cfg.Database); err != nil {
			return fail(err)
		}
	}
	client, err := jobs.NewClient(g, st, jobs.Config{
		Logger: cfg.Logger, FetchPollInterval: cfg.JobPollInterval, Now: cfg.Now,
		EventRetention: cfg.EventRetention, RescueAfter: cfg.RescueAfter, Listener: listen,
	})
	if err != nil {
		return fail(err)
	}
	dispatcher := delivery.NewDispatcher(st, delivery.DispatcherConfig{
		Client: policy.DeliveryClient(cmp.Or(cfg.DeliveryTimeout, 15*time.Second)), Signer: signer, Metrics: m, Logger: cfg.Logger,
		Wake: g.DeliveryWake(), Schedule: cfg.RetrySchedule, Now: cfg.Now,
	})
	h, err := httpapi.New(g, httpapi.Config{Logger: cfg.Logger, Version: cfg.Version, PublicURL: cfg.PublicURL, Metrics: m,
		OAuthBaseURL: cfg.oauthBase})
	if err != nil {
		return fail(err)
	}
	return &App{cfg: cfg, store: st, gateway: g, jobs: client, dispatcher: dispatcher, handler: h, listen: listen}, nil
}

// Migrate applies the gateway's and the job queue's migrations, under the
// database's migration lock so that gateways starting together take turns.
func Migrate(ctx context.Context, st *store.Store) error {
	return st.WithMigrationLock(ctx, func() error {
		if err := st.Migrate(ctx); err != nil {
			return err
		}
		return jobs.Migrate(ctx, st)
	})
}

// Handler is the HTTP API.
func (a *App) Handler() http.Handler { return a.handler }

// Store is the app's database, for tests and CLI commands.
func (a *App) Store() *store.Store { return a.store }

// Start runs the job workers and the config watcher in the background.
func (a *App) Start(ctx context.Context) error {
	if err := a.jobs.Start(ctx); err != nil {
		return fmt.Errorf("starting job workers: %w", err)
	}
	a.dispatcher.Start(ctx)
	watchCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.stopCtx = cancel
	go a.gateway.WatchConfig(watchCtx)
	go a.gateway.WatchTimers(watchCtx)
	return nil
}

// Stop lets running jobs finish within ctx, cancels the rest (River hands
// them back to be retried) and closes the database.
func (a *App) Stop(ctx context.Context) error {
	if a.stopCtx != nil {
		a.stopCtx()
	}
	err := a.dispatcher.Stop(ctx)
	if stopErr := a.jobs.Stop(ctx); stopErr != nil {
		cancelCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = errors.Join(err, fmt.Errorf("stopping job workers: %w", stopErr), a.jobs.StopAndCancel(cancelCtx))
	}
	if a.listen != nil {
		a.listen.Close()
	}
	return errors.Join(err, a.store.Close())
}

// Serve listens on cfg.Addr and serves until ctx is done, then shuts down
// gracefully: the listener closes, requests in flight finish, jobs in flight
// finish or are handed back, all within ShutdownTimeout.
func (a *App) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", a.cfg.Addr, err)
	}
	return a.ServeListener(ctx, ln)
}

// ServeListener is Serve on a listener the caller opened.
func (a *App) ServeListener(ctx context.Context, ln net.Listener) error {
	if err := a.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	srv, errc := serveHTTP(a.cfg, ln, a.handler)
	a.cfg.Logger.Info("metagov listening", slog.String("addr", ln.Addr().String()),
		slog.String("database", a.store.Dialect().String()))
	return a.serveUntil(ctx, srv, errc)
}

// Run serves on ln at once and opens, migrates and starts the gateway
// behind it, so that a supervisor's liveness probe is answered within
// milliseconds of the start, however long migrations take: until the
// gateway is ready, GET /healthz answers 200 and every other route,
// /readyz included, 503 with Retry-After. Then it serves until ctx is done,
// as ServeListener. If the gateway cannot open, Run closes the listener and
// returns why.
func Run(ctx context.Context, ln net.Listener, cfg Config) error {
	cfg = withDefaults(cfg)
	gate := &startGate{}
	srv, errc := serveHTTP(cfg, ln, gate)
	cfg.Logger.Info("metagov listening; starting", slog.String("addr", ln.Addr().String()))
	a, err := Open(ctx, cfg)
	if err == nil {
		if err = a.Start(ctx); err != nil {
			_ = a.Stop(context.WithoutCancel(ctx))
		}
	}
	if err != nil {
		_ = srv.Close()
		return err
	}
	gate.open(a.handler)
	cfg.Logger.Info("metagov ready", slog.String("addr", ln.Addr().String()),
		slog.String("database", a.store.Dialect().String()))
	return a.serveUntil(ctx, srv, errc)
}

// serveHTTP serves h on ln in the background; errc gets Serve's error.
func serveHTTP(cfg Config, ln net.Listener, h http.Handler) (*http.Server, <-chan error) {
	// The timeouts keep slow or stuck clients from pinning connections and
	// handlers; the header and body size limits are the API's (httpapi).
	// No route streams or long-polls, so WriteTimeout bounds them all.
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	return srv, errc
}

// serveUntil waits for ctx, then shuts down gracefully: the listener
// closes, requests in flight finish, jobs in flight finish or are handed
// back, all within ShutdownTimeout.
func (a *App) serveUntil(ctx context.Context, srv *http.Server, errc <-chan error) error {
	select {
	case err := <-errc:
		_ = a.Stop(context.Background())
		return fmt.Errorf("serving http: %w", err)
	case <-ctx.Done():
	}
	a.cfg.Logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	return errors.Join(err, a.Stop(shutdownCtx))
}

// startGate is the handler while the gateway starts: alive, not ready.
// Once opened it hands every request to the API.
type startGate struct {
	api atomic.Pointer[http.Handler]
}

func (g *startGate) open(h http.Handler) { g.api.Store(&h) }

func (g *startGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := g.api.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
		return
	}
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	code := "starting"
	if r.URL.Path == "/readyz" {
		code = "not_ready"
	}
	_, _ = io.WriteString(w, `{"detail":"not ready: the gateway is starting (opening the database, applying migrations, starting the job queue)","code":"`+code+`"}`+"\n")
}

// splitList splits a comma- or space-separated setting.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}
