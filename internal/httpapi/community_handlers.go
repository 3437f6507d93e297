package httpapi

import (
	"net/http"

	"github.com/metagov/metagov-go/internal/core"
)

// communityBody is the body of community create and replace. Name is
// accepted and ignored: the driver tutorial sends it, the slug is in the
// path.
type communityBody struct {
	Slug         string               `json:"slug"`
	Name         string               `json:"name"`
	ReadableName *string              `json:"readable_name"`
	Plugins      *[]core.PluginConfig `json:"plugins"`
}

func (h *handler) createCommunity(w http.ResponseWriter, r *http.Request) error {
	var body communityBody
	if _, err := h.decodeBody(w, r, &body); err != nil {
		return err
	}
	view, err := h.gateway.CreateCommunity(r.Context(), core.CommunityInput{
		Slug: body.Slug, ReadableName: body.ReadableName, Plugins: body.Plugins,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, view)
	return nil
}

func (h *handler) putCommunity(w http.ResponseWriter, r *http.Request) error {
	slug := r.PathValue("slug")
	var body communityBody
	if _, err := h.decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.Slug != "" && body.Slug != slug {
		return newAPIError(http.StatusBadRequest, "slug_mismatch",
			"the body's slug %q differs from the path's %q; renaming a community is not supported", body.Slug, slug)
	}
	force, err := queryBool(r, "force")
	if err != nil {
		return err
	}
	view, created, err := h.gateway.PutCommunity(r.Context(), core.CommunityInput{
		Slug: slug, ReadableName: body.ReadableName, Plugins: body.Plugins, Force: force,
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, view)
	return nil
}

func (h *handler) getCommunity(w http.ResponseWriter, r *http.Request) error {
	view, err := h.gateway.ShowCommunity(r.Context(), r.PathValue("slug"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view)
	return nil
}

func (h *handler) deleteCommunity(w http.ResponseWriter, r *http.Request) error {
	warnings, err := h.gateway.DeleteCommunity(r.Context(), r.PathValue("slug"))
	if err != nil {
		return err
	}
	writeRemoved(w, warnings)
	return nil
}

func (h *handler) listHooks(w http.ResponseWriter, r *http.Request) error {
	hooks, err := h.gateway.Hooks(r.Context(), r.PathValue("slug"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string][]string{"hooks": hooks})
	return nil
}
