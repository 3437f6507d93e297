package httpapi

import (
	"net/http"

	"github.com/metagov/metagov-go/internal/core"
)

// callbackURL is the gateway's OAuth callback for a plugin as the user's
// browser reaches it: under the public URL when one is set, else under the
// host the authorize request came to.
func (h *handler) callbackURL(r *http.Request, name string) string {
	base := h.cfg.OAuthBaseURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + "/auth/" + name + "/callback"
}

// oauthAuthorize starts an OAuth install: a 302 to the platform.
func (h *handler) oauthAuthorize(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("plugin")
	q := r.URL.Query()
	target, err := h.gateway.Authorize(r.Context(), name, core.AuthorizeInput{
		Type: q.Get("type"), Community: q.Get("community"), RedirectURI: q.Get("redirect_uri"), State: q.Get("state"),
		MetagovID: q.Get("metagov_id"), CallbackURL: h.callbackURL(r, name),
	})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
	return nil
}

// oauthCallback completes an install: a 302 back to the driver, failures
// included, once the state is known to be ours.
func (h *handler) oauthCallback(w http.ResponseWriter, r *http.Request) error {
	target, err := h.gateway.Callback(r.Context(), r.PathValue("plugin"), r.URL.Query())
	if err != nil {
		return err
	}
	// The URL may carry a one-time token reference: keep it out of caches
	// and out of the Referer the driver's page sends onwards.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, target, http.StatusFound)
	return nil
}

// oauthToken hands the driver an installer's user token once.
func (h *handler) oauthToken(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Ref string `json:"ref"`
	}
	if _, err := h.decodeBody(w, r, &in); err != nil {
		return err
	}
	v, err := h.gateway.TakeUserToken(r.Context(), in.Ref)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, v)
	return nil
}
