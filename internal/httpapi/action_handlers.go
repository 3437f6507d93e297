package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/metagov/metagov-go/internal/core"
)

// splitID splits a route's "<plugin>.<name>" segment.
func splitID(id string) (pluginName, name string, ok bool) {
	pluginName, name, ok = strings.Cut(id, ".")
	return pluginName, name, ok && pluginName != "" && name != ""
}

func (h *handler) performAction(public bool) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		pluginName, action, ok := splitID(r.PathValue("id"))
		exists, isPublic := h.gateway.HasAction(pluginName, action)
		if !ok || !exists || (public && !isPublic) {
			return newAPIError(http.StatusNotFound, "unknown_action", "no action %q", r.PathValue("id"))
		}
		slug, err := communityFrom(r)
		if err != nil {
			return err
		}
		var body struct {
			Parameters json.RawMessage `json:"parameters"`
		}
		if _, err := h.decodeBody(w, r, &body); err != nil {
			return err
		}
		out, err := h.gateway.PerformAction(r.Context(), core.ActionRequest{
			Community: slug, PlatformID: r.Header.Get(platformIDHeader), Plugin: pluginName, Action: action,
			Parameters: body.Parameters, Public: public,
		})
		if err != nil {
			return err
		}
		writeRawJSON(w, http.StatusOK, out)
		return nil
	}
}

func (h *handler) startProcess(w http.ResponseWriter, r *http.Request) error {
	pluginName, process, ok := splitID(r.PathValue("id"))
	if !ok || !h.gateway.HasProcess(pluginName, process) {
		return newAPIError(http.StatusNotFound, "unknown_process", "no process %q", r.PathValue("id"))
	}
	slug, err := communityFrom(r)
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	body, err := h.decodeBody(w, r, &fields)
	if err != nil {
		return err
	}
	view, err := h.gateway.StartProcess(r.Context(), core.StartRequest{
		Community: slug, PlatformID: r.Header.Get(platformIDHeader), Plugin: pluginName, Process: process, Body: body,
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", view.Location())
	writeJSON(w, http.StatusAccepted, view)
	return nil
}

// processRef parses the plugin, process and id of a process route.
func processRef(r *http.Request) (pluginName, process string, id int64, err error) {
	pluginName, process, ok := splitID(r.PathValue("id"))
	id, perr := strconv.ParseInt(r.PathValue("pid"), 10, 64)
	if !ok || perr != nil {
		return "", "", 0, newAPIError(http.StatusNotFound, "process_not_found", "no process at %s", r.URL.Path)
	}
	return pluginName, process, id, nil
}

func (h *handler) getProcess(w http.ResponseWriter, r *http.Request) error {
	pluginName, process, id, err := processRef(r)
	if err != nil {
		return err
	}
	if include := r.URL.Query().Get("include"); include != "" {
		if include != "ballots" {
			return newAPIError(http.StatusBadRequest, "invalid_query", "include may only be ballots")
		}
		raw, err := h.gateway.ExportProcess(r.Context(), pluginName, process, id)
		if err != nil {
			return err
		}
		writeRawJSON(w, http.StatusOK, raw)
		return nil
	}
	view, err := h.gateway.GetProcess(r.Context(), pluginName, process, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view)
	return nil
}

func (h *handler) closeProcess(w http.ResponseWriter, r *http.Request) error {
	pluginName, process, id, err := processRef(r)
	if err != nil {
		return err
	}
	view, err := h.gateway.CloseProcess(r.Context(), pluginName, process, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view)
	return nil
}
