package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/metagov/metagov-go/internal/core"
)

// withAuth guards /api/internal/*. While no API key exists (protected
// mode) it serves only callers on loopback, so the tutorial works on a
// developer's machine and nothing else reaches it; once a key exists, every
// call needs one. Webhooks, public actions and the docs stay public.
func (h *handler) withAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/internal/") {
			next.ServeHTTP(w, r)
			return
		}
		exist, err := h.gateway.KeysExist(r.Context())
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		bearer, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !exist && !hasBearer {
			if !isLoopback(r.RemoteAddr) {
				h.writeError(w, r, newAPIError(http.StatusForbidden, "protected_mode",
					"no API key exists yet, so only local clients may use the internal API: create one with "+
						"`metagov apikey create` and send it as `Authorization: Bearer <key>`"))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if !hasBearer || strings.TrimSpace(bearer) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metagov"`)
			h.writeError(w, r, newAPIError(http.StatusUnauthorized, "missing_api_key",
				"this gateway requires an API key: send `Authorization: Bearer <key>`"))
			return
		}
		p, err := h.gateway.Authenticate(r.Context(), strings.TrimSpace(bearer))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metagov", error="invalid_token"`)
			h.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(core.WithPrincipal(r.Context(), p)))
	})
}

// isLoopback reports whether a remote address is on this machine. Behind a
// reverse proxy on the same host every client looks local: create a key.
func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}
