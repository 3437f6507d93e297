package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/metagov/metagov-go/internal/core"
)

// The identity API, /api/internal/identity/<operation>, with the original's
// parameter names: JSON bodies for POST, the query string for GET.

func missingParam(field, name string) *apiError {
	e := newAPIError(http.StatusBadRequest, "missing_parameter", "%s is required", name)
	e.body.Field = field
	return e
}

func invalidParam(field, format string, args ...any) *apiError {
	e := newAPIError(http.StatusBadRequest, "invalid_parameter", format, args...)
	e.body.Field = field
	return e
}

func (h *handler) createID(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		CommunitySlug string `json:"community_slug"`
		Count         *int   `json:"count"`
	}
	if _, err := h.decodeBody(w, r, &in); err != nil {
		return err
	}
	if in.CommunitySlug == "" {
		return missingParam("/community_slug", "community_slug")
	}
	count := 1
	if in.Count != nil {
		count = *in.Count
	}
	ids, err := h.gateway.CreateIDs(r.Context(), in.CommunitySlug, count)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ids)
	return nil
}

func (h *handler) mergeIDs(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Primary   *int64 `json:"primary_instance_id"`
		Secondary *int64 `json:"secondary_instance_id"`
	}
	if _, err := h.decodeBody(w, r, &in); err != nil {
		return err
	}
	if in.Primary == nil {
		return missingParam("/primary_instance_id", "primary_instance_id")
	}
	if in.Secondary == nil {
		return missingParam("/secondary_instance_id", "secondary_instance_id")
	}
	v, err := h.gateway.MergeIDs(r.Context(), *in.Primary, *in.Secondary)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// accountBody is the body of link_account and unlink_account.
type accountBody struct {
	ExternalID          *int64          `json:"external_id"`
	CommunitySlug       string          `json:"community_slug"`
	PlatformType        string          `json:"platform_type"`
	PlatformIdentifier  string          `json:"platform_identifier"`
	CommunityPlatformID *string         `json:"community_platform_id"`
	CustomData          json.RawMessage `json:"custom_data"`
	LinkType            string          `json:"link_type"`
	LinkQuality         string          `json:"link_quality"`
}

func (b *accountBody) input() (core.AccountInput, error) {
	for _, req := range []struct{ v, name string }{
		{b.CommunitySlug, "community_slug"}, {b.PlatformType, "platform_type"}, {b.PlatformIdentifier, "platform_identifier"},
	} {
		if req.v == "" {
			return core.AccountInput{}, missingParam("/"+req.name, req.name)
		}
	}
	in := core.AccountInput{Community: b.CommunitySlug, PlatformType: b.PlatformType, PlatformIdentifier: b.PlatformIdentifier,
		CommunityPlatformID: b.CommunityPlatformID, CustomData: b.CustomData, LinkType: b.LinkType, LinkQuality: b.LinkQuality}
	if in.CommunityPlatformID != nil && *in.CommunityPlatformID == "" {
		in.CommunityPlatformID = nil // the original treated "" as none
	}
	if b.ExternalID != nil {
		in.ExternalID = *b.ExternalID
	}
	return in, nil
}

func (h *handler) linkAccount(w http.ResponseWriter, r *http.Request) error {
	var b accountBody
	if _, err := h.decodeBody(w, r, &b); err != nil {
		return err
	}
	if b.ExternalID == nil {
		return missingParam("/external_id", "external_id")
	}
	in, err := b.input()
	if err != nil {
		return err
	}
	v, err := h.gateway.LinkAccount(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (h *handler) unlinkAccount(w http.ResponseWriter, r *http.Request) error {
	var b accountBody
	if _, err := h.decodeBody(w, r, &b); err != nil {
		return err
	}
	in, err := b.input()
	if err != nil {
		return err
	}
	if err := h.gateway.UnlinkAccount(r.Context(), in); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, true)
	return nil
}

// queryID reads a required positive integer query parameter.
func queryID(q url.Values, name string) (int64, error) {
	s := q.Get(name)
	if s == "" {
		return 0, missingParam(name, name)
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, invalidParam(name, "%s must be a positive integer, not %q", name, s)
	}
	return id, nil
}

// optional returns a query parameter given with a non-empty value, or nil.
func optional(q url.Values, name string) *string {
	if v := q.Get(name); v != "" {
		return &v
	}
	return nil
}

func accountQuery(q url.Values) core.AccountQuery {
	return core.AccountQuery{PlatformType: q.Get("platform_type"), CommunityPlatformID: optional(q, "community_platform_id"),
		PlatformIdentifier: optional(q, "platform_identifier"), LinkType: q.Get("link_type"), LinkQuality: q.Get("link_quality")}
}

func (h *handler) getUser(w http.ResponseWriter, r *http.Request) error {
	id, err := queryID(r.URL.Query(), "external_id")
	if err != nil {
		return err
	}
	v, err := h.gateway.GetUser(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (h *handler) getUsers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if q.Get("community") == "" {
		return missingParam("community", "community")
	}
	v, err := h.gateway.GetUsers(r.Context(), q.Get("community"), accountQuery(q))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// externalIDList reads external_id_list as repeated parameters, comma
// separated values or a JSON array: the original passed the raw string on.
func externalIDList(q url.Values) ([]int64, error) {
	var parts []string
	for _, v := range q["external_id_list"] {
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, "[") {
			var ids []int64
			if err := json.Unmarshal([]byte(v), &ids); err != nil {
				return nil, invalidParam("external_id_list", "external_id_list must be integers: repeated, comma separated or a JSON array")
			}
			for _, id := range ids {
				parts = append(parts, strconv.FormatInt(id, 10))
			}
			continue
		}
		parts = append(parts, strings.Split(v, ",")...)
	}
	ids := []int64{}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil || id <= 0 {
			return nil, invalidParam("external_id_list", "external_id_list must hold positive integers, not %q", p)
		}
		ids = append(ids, id)
	}
	if len(ids) > 1000 {
		return nil, invalidParam("external_id_list", "external_id_list may name at most 1000 identities")
	}
	return ids, nil
}

func (h *handler) filterUsersByAccount(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if q.Get("community") == "" {
		return missingParam("community", "community")
	}
	ids, err := externalIDList(q)
	if err != nil {
		return err
	}
	v, err := h.gateway.FilterUsersByAccount(r.Context(), q.Get("community"), ids, accountQuery(q))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (h *handler) getLinkedAccount(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	id, err := queryID(q, "external_id")
	if err != nil {
		return err
	}
	if q.Get("platform_type") == "" {
		return missingParam("platform_type", "platform_type")
	}
	v, err := h.gateway.GetLinkedAccount(r.Context(), id, q.Get("platform_type"), optional(q, "community_platform_id"))
	if err != nil {
		return err
	}
	if v == nil {
		writeJSON(w, http.StatusOK, struct{}{})
		return nil
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
