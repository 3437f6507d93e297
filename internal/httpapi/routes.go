// Package httpapi serves the driver API over HTTP: routes, JSON in and out,
// errors, and the API's own documentation. It holds no domain logic; every
// handler decodes, calls the core gateway and encodes.
package httpapi

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/metagov/metagov-go/internal/apidoc"
	"github.com/metagov/metagov-go/internal/core"
	"github.com/metagov/metagov-go/internal/metrics"
)

// Config holds the HTTP layer's settings.
type Config struct {
	// Logger receives request logs. Default: slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies (413 past it). Default: 1 MiB.
	MaxBodyBytes int64
	// MaxJSONDepth bounds the nesting of JSON bodies. Default: 64.
	MaxJSONDepth int
	// Version is shown in the OpenAPI document.
	Version string
	// PublicURL, when set, is the OpenAPI document's server.
	PublicURL string
	// Metrics records requests and serves /metrics; nil serves no metrics.
	Metrics *metrics.Metrics
	// OAuthBaseURL is the base of the OAuth callback URL given to
	// platforms: the configured public URL, or empty for the scheme and
	// host the authorize request came to.
	OAuthBaseURL string
}

// handler holds what the route handlers need.
type handler struct {
	gateway *core.Gateway
	cfg     Config
	log     *slog.Logger
}

// New returns the API's HTTP handler.
func New(g *core.Gateway, cfg Config) (http.Handler, error) {
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	cfg.MaxBodyBytes = cmp.Or(cfg.MaxBodyBytes, 1<<20)
	cfg.MaxJSONDepth = cmp.Or(cfg.MaxJSONDepth, 64)
	cfg.Version = cmp.Or(cfg.Version, "dev")
	doc, err := apidoc.Build(g.Plugins(), apidoc.Options{Version: cfg.Version, ServerURL: cfg.PublicURL})
	if err != nil {
		return nil, fmt.Errorf("building the OpenAPI document: %w", err)
	}
	h := &handler{gateway: g, cfg: cfg, log: cfg.Logger}

	mux := http.NewServeMux()
	// Documentation.
	mux.Handle("GET /{$}", http.RedirectHandler(apidoc.SwaggerPath, http.StatusFound))
	spec := apidoc.SpecHandler(doc)
	mux.Handle("GET "+apidoc.SpecPath, spec)
	mux.Handle("GET /swagger.json", spec)
	swagger := apidoc.SwaggerHandler(apidoc.SpecPath)
	mux.Handle("GET "+apidoc.SwaggerPath, swagger)
	mux.Handle("GET "+apidoc.SwaggerPath+"/", swagger)
	redoc := apidoc.RedocHandler(apidoc.SpecPath)
	mux.Handle("GET "+apidoc.RedocPath, redoc)
	mux.Handle("GET "+apidoc.RedocPath+"/", redoc)

	// Communities.
	mux.Handle("POST /api/internal/community", h.wrap(h.createCommunity))
	mux.Handle("GET /api/internal/community/{slug}", h.wrap(h.getCommunity))
	mux.Handle("PUT /api/internal/community/{slug}", h.wrap(h.putCommunity))
	mux.Handle("DELETE /api/internal/community/{slug}", h.wrap(h.deleteCommunity))
	mux.Handle("GET /api/internal/community/{slug}/hooks", h.wrap(h.listHooks))

	// Plugins.
	mux.Handle("GET /api/internal/plugin-schemas", h.wrap(h.pluginSchemas))
	mux.Handle("GET /api/internal/plugin/{name}/metadata", h.wrap(h.pluginMetadata))
	mux.Handle("POST /api/internal/plugin/{name}", h.wrap(h.enablePlugin))
	mux.Handle("DELETE /api/internal/plugin/{name}/{id}", h.wrap(h.disablePlugin))

	// Actions and processes; {id} is "<plugin>.<name>".
	mux.Handle("POST /api/internal/action/{id}", h.wrap(h.performAction(false)))
	mux.Handle("POST /api/action/{id}", h.wrap(h.performAction(true)))
	mux.Handle("POST /api/internal/process/{id}", h.wrap(h.startProcess))
	mux.Handle("GET /api/internal/process/{id}/{pid}", h.wrap(h.getProcess))
	mux.Handle("DELETE /api/internal/process/{id}/{pid}", h.wrap(h.closeProcess))

	// Deliveries and events, for drivers that were down or cannot receive.
	mux.Handle("GET /api/internal/deliveries", h.wrap(h.listDeliveries))
	mux.Handle("GET /api/internal/deliveries/{id}", h.wrap(h.getDelivery))
	mux.Handle("POST /api/internal/deliveries/{id}/redeliver", h.wrap(h.redeliver))
	mux.Handle("GET /api/internal/events", h.wrap(h.listEvents))
	mux.Handle("GET /api/internal/audit", h.wrap(h.listAudit))

	// OAuth installs (public: the user's browser follows them) and the
	// identity API.
	mux.Handle("GET /auth/{plugin}/authorize", h.wrap(h.oauthAuthorize))
	mux.Handle("GET /auth/{plugin}/callback", h.wrap(h.oauthCallback))
	mux.Handle("POST /api/internal/oauth/token", h.wrap(h.oauthToken))
	mux.Handle("POST /api/internal/identity/create_id", h.wrap(h.createID))
	mux.Handle("POST /api/internal/identity/merge_ids", h.wrap(h.mergeIDs))
	mux.Handle("POST /api/internal/identity/link_account", h.wrap(h.linkAccount))
	mux.Handle("POST /api/internal/identity/unlink_account", h.wrap(h.unlinkAccount))
	mux.Handle("GET /api/internal/identity/get_user", h.wrap(h.getUser))
	mux.Handle("GET /api/internal/identity/get_users", h.wrap(h.getUsers))
	mux.Handle("GET /api/internal/identity/filter_users_by_account", h.wrap(h.filterUsersByAccount))
	mux.Handle("GET /api/internal/identity/get_linked_account", h.wrap(h.getLinkedAccount))

	// Operations.
	mux.HandleFunc("GET /healthz", h.healthz)
	mux.Handle("GET /readyz", h.wrap(h.readyz))
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics.Handler())
	}

	// Platform webhooks.
	mux.Handle("POST /api/hooks/{plugin}", h.wrap(h.platformWebhook))
	mux.Handle("POST /api/hooks/{community}/{plugin}", h.wrap(h.instanceWebhook))
	mux.Handle("POST /api/hooks/{community}/{plugin}/{hookslug}", h.wrap(h.instanceWebhook))

	return withRequestID(h.withLogAndRecover(mux, h.withAuth(h.withJSONNotFound(mux)))), nil
}

// wrap adapts a handler that returns an error, so every failure is answered
// in one place, the same way.
func (h *handler) wrap(fn func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.writeError(w, r, err)
		}
	})
}
