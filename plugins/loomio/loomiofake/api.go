package loomiofake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// handlerFunc serves one endpoint for the group the request's key opens.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p url.Values, g *Group)

// api wraps an endpoint: it records the call, applies Fail and Stall, reads
// the parameters from the query and the form or JSON body, and refuses a
// missing or unknown api_key as Loomio does.
func (s *Server) api(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		params, err := readParams(r)
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Params: params})
		stall, code, body := s.stall, s.failCode, s.failBody
		g := s.groups[params.Get("api_key")]
		s.mu.Unlock()
		switch {
		case stall:
			select {
			case <-r.Context().Done():
			case <-s.release:
			}
			return
		case code != 0:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = io.WriteString(w, body)
			return
		case err != nil:
			writeJSON(w, http.StatusBadRequest, map[string]any{"exception": "ActionController::BadRequest " + err.Error()})
			return
		case g == nil:
			writeJSON(w, http.StatusForbidden, map[string]any{"exception": "CanCan::AccessDenied You are not authorized to access this page."})
			return
		}
		h(w, r, params, g)
	}
}

// readParams merges the query with a form or JSON body. JSON arrays become
// repeated "name[]" values, which is how Rails sees a form's arrays.
func readParams(r *http.Request) (url.Values, error) {
	params := r.URL.Query()
	if r.Body == nil || r.Method == http.MethodGet {
		return params, nil
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return params, err
	}
	switch mediaType {
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return params, fmt.Errorf("invalid form body: %w", err)
		}
		for k, vs := range form {
			params[k] = append(params[k], vs...)
		}
	case "application/json":
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err != nil {
			return params, fmt.Errorf("invalid JSON body: %w", err)
		}
		for k, v := range doc {
			switch v := v.(type) {
			case []any:
				for _, item := range v {
					params.Add(k+"[]", fmt.Sprint(item))
				}
			case nil:
			default:
				params.Set(k, fmt.Sprint(v))
			}
		}
	}
	return params, nil
}

// memberships lists the group's members, users and the group itself.
func (s *Server) memberships(w http.ResponseWriter, _ *http.Request, _ url.Values, g *Group) {
	memberships := make([]map[string]any, 0, len(g.Members))
	users := make([]map[string]any, 0, len(g.Members))
	for i, m := range g.Members {
		memberships = append(memberships, map[string]any{
			"id": g.ID*100 + int64(i), "group_id": g.ID, "user_id": m.ID, "admin": i == 0,
			"accepted_at": "2021-07-01T19:37:37.077Z", "created_at": "2021-07-01T19:37:37.077Z",
		})
		users = append(users, map[string]any{"id": m.ID, "name": m.Name, "username": m.Username, "bot": false})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"memberships": memberships, "users": users, "groups": []any{groupJSON(g)},
		"meta": map[string]any{"root": "memberships", "total": len(memberships)},
	})
}

// createDiscussion starts a thread in the group.
func (s *Server) createDiscussion(w http.ResponseWriter, _ *http.Request, p url.Values, g *Group) {
	if strings.TrimSpace(p.Get("title")) == "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"title": []string{"can't be blank"}}})
		return
	}
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	now := s.now().UTC()
	s.mu.Unlock()
	format := p.Get("description_format")
	if format == "" {
		format = "md"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"discussions": []any{map[string]any{
			"id": id, "key": fmt.Sprintf("d%07d", id), "title": p.Get("title"), "description": p.Get("description"),
			"description_format": format, "group_id": g.ID, "created_at": now.Format(timeFormat),
			"private": true, "closed_at": nil,
		}},
		"groups": []any{groupJSON(g)},
		"meta":   map[string]any{"root": "discussions", "total": nil},
	})
}

// groupJSON renders a group as Loomio serializes it (in part).
func groupJSON(g *Group) map[string]any {
	return map[string]any{
		"id": g.ID, "key": g.Key, "handle": g.Handle, "name": g.Name, "full_name": g.Name,
		"memberships_count": len(g.Members), "parent_id": nil,
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
