package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/metagov/metagov-go/plugin"
)

const (
	communityHeader  = "X-Metagov-Community"
	platformIDHeader = "X-Metagov-Community-Platform-Id"
)

// queryBool reads an optional boolean query parameter: true or 1, false or
// 0; absent is false.
func queryBool(r *http.Request, name string) (bool, error) {
	switch v := r.URL.Query().Get(name); v {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	default:
		e := newAPIError(http.StatusBadRequest, "invalid_query", "query parameter %s must be true or false, not %q", name, v)
		e.body.Field = name
		return false, e
	}
}

// communityFrom returns the community named by the X-Metagov-Community header.
func communityFrom(r *http.Request) (string, error) {
	slug := r.Header.Get(communityHeader)
	if slug == "" {
		return "", newAPIError(http.StatusBadRequest, "missing_community_header", "Missing required header '%s'", communityHeader)
	}
	return slug, nil
}

func (h *handler) enablePlugin(w http.ResponseWriter, r *http.Request) error {
	slug, err := communityFrom(r)
	if err != nil {
		return err
	}
	config, err := h.decodeBody(w, r, nil)
	if err != nil {
		return err
	}
	view, created, err := h.gateway.EnablePlugin(r.Context(), slug, r.PathValue("name"), config)
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

func (h *handler) disablePlugin(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return newAPIError(http.StatusNotFound, "plugin_not_found", "no %s plugin with id %q", name, r.PathValue("id"))
	}
	force, err := queryBool(r, "force")
	if err != nil {
		return err
	}
	// Without the header any community's instance can be named, as in the
	// original API; with it, only that community's.
	warnings, err := h.gateway.DisablePlugin(r.Context(), r.Header.Get(communityHeader), name, id, force)
	if err != nil {
		return err
	}
	writeRemoved(w, warnings)
	return nil
}

// writeRemoved answers a removal that succeeded: 204, or 200 with the
// warnings of plugins that could not undo their setup on the platform
// (plugin.Disabler), which the removal did not wait for.
func writeRemoved(w http.ResponseWriter, warnings []string) {
	if len(warnings) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"warnings": warnings})
}

func (h *handler) pluginSchemas(w http.ResponseWriter, r *http.Request) error {
	out := map[string]json.RawMessage{}
	for _, info := range h.gateway.Plugins() {
		out[info.Name] = schemaOrEmpty(info.Config)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// pluginMetadata describes one plugin, in the shape of the original's
// metadata endpoint.
func (h *handler) pluginMetadata(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	info, ok := findPlugin(h.gateway.Plugins(), name)
	if !ok {
		return newAPIError(http.StatusNotFound, "unknown_plugin", "No such plugin: %s", name)
	}
	type item struct {
		ID               string          `json:"id"`
		Description      string          `json:"description"`
		ParametersSchema json.RawMessage `json:"parameters_schema"`
		ResponseSchema   json.RawMessage `json:"response_schema"`
		IsPublic         *bool           `json:"is_public,omitempty"`
	}
	type event struct {
		EventType   string          `json:"event_type"`
		Source      string          `json:"source"`
		Description string          `json:"description,omitempty"`
		Schema      json.RawMessage `json:"schema"`
	}
	actions, processes, events := []item{}, []item{}, []event{}
	for _, a := range info.Actions {
		public := a.Public
		actions = append(actions, item{ID: name + "." + a.Name, Description: a.Description,
			ParametersSchema: schemaOrNull(a.Input), ResponseSchema: schemaOrNull(a.Output), IsPublic: &public})
	}
	for _, p := range info.Processes {
		processes = append(processes, item{ID: name + "." + p.Name, Description: p.Description,
			ParametersSchema: schemaOrNull(p.Input), ResponseSchema: schemaOrNull(p.Outcome)})
	}
	for _, e := range info.Events {
		events = append(events, event{EventType: e.Type, Source: name, Description: e.Description, Schema: schemaOrNull(e.Schema)})
	}
	authType := info.AuthType
	if authType == "" {
		authType = plugin.AuthNone
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name":         name,
		"description":  info.Description,
		"auth_type":    authType,
		"uses_webhook": h.gateway.TakesWebhooks(name),
		"schemas": map[string]any{
			"config":    schemaOrEmpty(info.Config),
			"actions":   actions,
			"processes": processes,
			"events":    events,
		},
	})
	return nil
}

func findPlugin(infos []plugin.Info, name string) (plugin.Info, bool) {
	for _, info := range infos {
		if info.Name == name {
			return info, true
		}
	}
	return plugin.Info{}, false
}

func schemaOrEmpty(s json.RawMessage) json.RawMessage {
	if len(s) == 0 {
		return json.RawMessage(`{}`)
	}
	return s
}

func schemaOrNull(s json.RawMessage) json.RawMessage {
	if len(s) == 0 {
		return json.RawMessage(`null`)
	}
	return s
}
