package loomiofake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// call is one authenticated API call.
type call struct {
	user   *User
	params map[string]any // query and body merged, body winning, as Rails does
	json   bool           // the body was JSON (Rails wraps it)
}

// handlerFunc serves one endpoint for the calling user.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call)

func (s *Server) record(r *http.Request, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Authorization: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"), Body: body})
}

// api wraps an endpoint: it records the call, applies Fail and Stall, reads
// the parameters and finds the user by the bearer token or the body's
// api_key (never the query's), refusing the call with 403 otherwise.
func (s *Server) api(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		s.record(r, body)
		if s.Inject(w, r, func(w http.ResponseWriter, code int, body string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = io.WriteString(w, body)
		}) {
			return
		}
		bodyParams, isJSON, err := readBody(r, body)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": 400})
			return
		}
		params := parseRails(r.URL.Query())
		for k, v := range bodyParams {
			params[k] = v
		}
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || key == "" {
			key = str(bodyParams["api_key"])
		}
		s.mu.Lock()
		user := s.userByKey(key)
		s.mu.Unlock()
		if user == nil {
			writeJSON(w, http.StatusForbidden, map[string]any{"error": "You are not authorized to access this page."})
			return
		}
		h(w, r, &call{user: user, params: params, json: isJSON})
	}
}

func (s *Server) userByKey(key string) *User {
	if key == "" {
		return nil
	}
	for _, u := range s.users {
		if u.APIKey == key {
			return u
		}
	}
	return nil
}

// readBody reads a form or JSON body into Rails parameters.
func readBody(r *http.Request, body []byte) (map[string]any, bool, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, false, nil
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "application/json":
		var doc map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return nil, true, err
		}
		return doc, true, nil
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, false, err
		}
		return parseRails(form), false, nil
	}
	return map[string]any{}, false, nil
}

// parseRails nests form fields the way Rails does: a[b]=1 is {a: {b: 1}},
// a[]=1&a[]=2 is {a: [1, 2]}.
func parseRails(form url.Values) map[string]any {
	out := map[string]any{}
	for key, values := range form {
		base, rest, _ := strings.Cut(key, "[")
		path := []string{base}
		if rest != "" {
			path = append(path, strings.Split(strings.TrimSuffix(rest, "]"), "][")...)
		}
		for _, v := range values {
			setPath(out, path, v)
		}
	}
	return out
}

func setPath(m map[string]any, path []string, v string) {
	if len(path) == 2 && path[1] == "" {
		arr, _ := m[path[0]].([]any)
		m[path[0]] = append(arr, v)
		return
	}
	if len(path) == 1 {
		m[path[0]] = v
		return
	}
	sub, ok := m[path[0]].(map[string]any)
	if !ok {
		sub = map[string]any{}
		m[path[0]] = sub
	}
	setPath(sub, path[1:], v)
}

// resourceParams are the attributes a create or update reads, as
// Api::B2::BaseController#permitted_params finds them: the nested resource
// hash if there is one; else for a JSON body what Rails' parameter wrapping
// puts there (the model's columns only); else the flat parameters. A key
// outside permitted is refused (400), as Loomio's strong parameters raise.
func resourceParams(c *call, resource string, columns, permitted []string) (map[string]any, bool) {
	var attrs map[string]any
	if nested, ok := c.params[resource].(map[string]any); ok {
		attrs = nested
	} else {
		attrs = map[string]any{}
		for k, v := range c.params {
			switch {
			case slices.Contains([]string{"api_key", "format", "controller", "action", "discussion", "poll", "id"}, k):
			case c.json && !slices.Contains(columns, k):
			default:
				attrs[k] = v
			}
		}
	}
	for k := range attrs {
		if !slices.Contains(permitted, k) {
			return nil, false
		}
	}
	return attrs, true
}

// str reads a parameter as Rails would show it, "" when absent.
func str(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	default:
		return fmt.Sprint(t)
	}
}

// intParam reads an integer parameter; ok is false when it is not one.
func intParam(v any) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(str(v)), 10, 64)
	return n, err == nil
}

// boolParam reads a boolean parameter as ActiveModel casts it.
func boolParam(v any) bool {
	switch t := v.(type) {
	case bool:
		return t
	default:
		s := strings.ToLower(str(v))
		return s == "true" || s == "1" || s == "t" || s == "on"
	}
}

// stringsParam reads an array parameter.
func stringsParam(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		out = append(out, str(x))
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) { writeJSON(w, http.StatusNotFound, map[string]any{"error": 404}) }

func denied(w http.ResponseWriter, action, model string) {
	writeJSON(w, http.StatusForbidden, map[string]any{"error": fmt.Sprintf("Not authorized to %s %s.", action, model)})
}

func unprocessable(w http.ResponseWriter, errs map[string][]string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"errors": errs})
}

func (g *Group) isMember(userID int64) bool {
	return slices.ContainsFunc(g.Members, func(m Membership) bool { return m.UserID == userID })
}

func (g *Group) isAdmin(userID int64) bool {
	return slices.ContainsFunc(g.Members, func(m Membership) bool { return m.UserID == userID && m.Admin })
}

// groupByID finds a group by numeric id, as Group.find does.
func (s *Server) groupByID(v any) *Group {
	id, ok := intParam(v)
	if !ok {
		return nil
	}
	for _, g := range s.groups {
		if g.ID == id {
			return g
		}
	}
	return nil
}

func groupJSON(g *Group) map[string]any {
	return map[string]any{"id": g.ID, "key": g.Key, "handle": g.Handle, "name": g.Name, "full_name": g.Name,
		"memberships_count": len(g.Members), "parent_id": nil}
}

func userJSON(u *User) map[string]any {
	return map[string]any{"id": u.ID, "name": u.Name, "username": u.Username}
}

// listGroups answers GET groups: the caller's groups.
func (s *Server) listGroups(w http.ResponseWriter, _ *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, g := range s.groups {
		if g.isMember(c.user.ID) {
			out = append(out, groupJSON(g))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"groups": out, "meta": map[string]any{"root": "groups", "total": len(out)}})
}

// showGroup answers GET groups/:id by id, key or handle, to members (the
// fake's groups are secret).
func (s *Server) showGroup(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ref := r.PathValue("id")
	for _, g := range s.groups {
		if strconv.FormatInt(g.ID, 10) == ref || g.Key == ref || (g.Handle != "" && g.Handle == ref) {
			if !g.isMember(c.user.ID) {
				denied(w, "show", "Group")
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"groups": []any{groupJSON(g)}})
			return
		}
	}
	notFound(w)
}

// listMemberships answers GET memberships?group_id=<id>: members see the
// roster (emails only for admins), others an empty list; limit and offset
// page it.
func (s *Server) listMemberships(w http.ResponseWriter, _ *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groupByID(c.params["group_id"])
	if g == nil {
		notFound(w)
		return
	}
	visible := []Membership{}
	if g.isMember(c.user.ID) {
		visible = g.Members
	}
	limit, offset := int64(50), int64(0)
	if n, ok := intParam(c.params["limit"]); ok && n > 0 {
		limit = n
	}
	if n, ok := intParam(c.params["offset"]); ok && n > 0 {
		offset = n
	}
	memberships, users := []any{}, []any{}
	for i, m := range visible {
		if int64(i) < offset || int64(i) >= offset+limit {
			continue
		}
		u := s.users[m.UserID]
		mj := map[string]any{"id": g.ID*1000 + int64(i), "group_id": g.ID, "user_id": m.UserID, "admin": m.Admin,
			"delegate": false, "title": nil, "accepted_at": "2024-07-01T19:37:37.077Z", "inviter_id": nil}
		if g.isAdmin(c.user.ID) && u != nil {
			mj["user_email"] = u.Email
		}
		memberships = append(memberships, mj)
		if u != nil {
			users = append(users, userJSON(u))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"memberships": memberships, "users": users, "groups": []any{groupJSON(g)},
		"meta": map[string]any{"root": "memberships", "total": len(visible)}})
}

// discussion is a thread; its topic has its own id.
type discussion struct {
	id, topicID int64
	key         string
	group       *Group
	attrs       map[string]any
}

var (
	discussionColumns   = []string{"title", "description", "description_format", "private", "key"}
	discussionPermitted = []string{"title", "description", "description_format", "discussion_template_id", "discussion_template_key",
		"group_id", "private", "notify_recipients", "recipient_audience", "recipient_message", "tags", "recipient_user_ids",
		"recipient_chatbot_ids", "recipient_emails", "forked_event_ids", "document_ids", "link_previews", "files", "image_files"}
)

// createDiscussion answers POST discussions. A discussion whose group_id
// was lost is created without a group, as Loomio does.
func (s *Server) createDiscussion(w http.ResponseWriter, _ *http.Request, c *call) {
	attrs, ok := resourceParams(c, "discussion", discussionColumns, discussionPermitted)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": 400})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var g *Group
	if v, present := attrs["group_id"]; present {
		if g = s.groupByID(v); g == nil {
			notFound(w)
			return
		}
		if !g.isMember(c.user.ID) {
			denied(w, "create", "Discussion")
			return
		}
	}
	if strings.TrimSpace(str(attrs["title"])) == "" {
		unprocessable(w, map[string][]string{"title": {"can't be blank"}})
		return
	}
	s.nextID += 2
	d := &discussion{id: s.nextID - 1, topicID: s.nextID, key: fmt.Sprintf("d%07d", s.nextID), group: g, attrs: attrs}
	s.discussions = append(s.discussions, d)
	writeJSON(w, http.StatusOK, s.discussionDocument(d, c.user))
}

// showDiscussion answers GET discussions/:id by id or key.
func (s *Server) showDiscussion(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ref := r.PathValue("id")
	for _, d := range s.discussions {
		if strconv.FormatInt(d.id, 10) == ref || d.key == ref {
			if d.group == nil || !d.group.isMember(c.user.ID) {
				denied(w, "show", "Discussion")
				return
			}
			writeJSON(w, http.StatusOK, s.discussionDocument(d, c.user))
			return
		}
	}
	notFound(w)
}

func (s *Server) discussionDocument(d *discussion, author *User) map[string]any {
	var groupID any
	groups := []any{}
	if d.group != nil {
		groupID = d.group.ID
		groups = append(groups, groupJSON(d.group))
	}
	format := str(d.attrs["description_format"])
	if format == "" {
		format = "md"
	}
	return map[string]any{
		"discussions": []any{map[string]any{"id": d.id, "key": d.key, "title": str(d.attrs["title"]), "description": str(d.attrs["description"]),
			"description_format": format, "topic_id": d.topicID, "group_id": groupID, "author_id": author.ID}},
		"topics": []any{map[string]any{"id": d.topicID, "group_id": groupID, "topicable_type": "Discussion", "topicable_id": d.id}},
		"groups": groups, "users": []any{userJSON(author)},
	}
}

// The chatbot attributes Loomio permits.
var chatbotPermitted = []string{"name", "group_id", "kind", "webhook_kind", "server", "access_token", "channel", "notification_only", "event_kinds"}

// adminGroup is current_user.adminable_groups.find(group_id): a group the
// caller administers, else nil (Loomio's RecordNotFound, a 404).
func (s *Server) adminGroup(c *call) *Group {
	g := s.groupByID(c.params["group_id"])
	if g == nil || !g.isAdmin(c.user.ID) {
		return nil
	}
	return g
}

func chatbotJSON(b *Chatbot) map[string]any {
	return map[string]any{"id": b.ID, "group_id": b.GroupID, "name": b.Name, "kind": b.Kind, "webhook_kind": b.WebhookKind,
		"server": b.Server, "event_kinds": b.EventKinds, "notification_only": b.NotificationOnly}
}

// listChatbots answers GET chatbots?group_id= to group admins.
func (s *Server) listChatbots(w http.ResponseWriter, _ *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.adminGroup(c)
	if g == nil {
		notFound(w)
		return
	}
	out := []any{}
	for _, b := range s.chatbots {
		if b.GroupID == g.ID {
			out = append(out, chatbotJSON(b))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"chatbots": out})
}

// safeServer is SafeHttpService's check: no loopback, private or
// link-local address, no local name.
func (s *Server) safeServer(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return false
	}
	if s.allowPrivate {
		return true
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".local") || strings.HasSuffix(host, ".internal") {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified())
	}
	return true
}

// applyChatbot sets a chatbot's attributes, validating them as
// ChatbotService does.
func (s *Server) applyChatbot(b *Chatbot, attrs map[string]any) map[string][]string {
	errs := map[string][]string{}
	for k, v := range attrs {
		switch k {
		case "name":
			b.Name = str(v)
		case "kind":
			b.Kind = str(v)
		case "webhook_kind":
			b.WebhookKind = str(v)
		case "server":
			b.Server = str(v)
		case "event_kinds":
			b.EventKinds = stringsParam(v)
		case "notification_only":
			b.NotificationOnly = boolParam(v)
		}
	}
	if b.Name == "" {
		errs["name"] = append(errs["name"], "can't be blank")
	}
	if !slices.Contains([]string{"webhook", "matrix"}, b.Kind) {
		errs["kind"] = append(errs["kind"], "is not included in the list")
	}
	if b.Kind == "webhook" && !slices.Contains(Formats, Format(b.WebhookKind)) {
		errs["webhook_kind"] = append(errs["webhook_kind"], "is not included in the list")
	}
	if !s.safeServer(b.Server) {
		errs["server"] = append(errs["server"], "is not a safe URL: private, loopback and internal addresses are not allowed")
	}
	return errs
}

// createChatbot answers POST chatbots to group admins.
func (s *Server) createChatbot(w http.ResponseWriter, _ *http.Request, c *call) {
	attrs, ok := resourceParams(c, "chatbot", []string{"name", "kind", "webhook_kind", "server", "event_kinds", "notification_only", "channel"}, chatbotPermitted)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": 400})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.adminGroup(c)
	if g == nil {
		notFound(w)
		return
	}
	b := &Chatbot{GroupID: g.ID}
	if errs := s.applyChatbot(b, attrs); len(errs) > 0 {
		unprocessable(w, errs)
		return
	}
	s.nextID++
	b.ID = s.nextID
	s.chatbots = append(s.chatbots, b)
	writeJSON(w, http.StatusOK, map[string]any{"chatbots": []any{chatbotJSON(b)}})
}

// updateChatbot answers PATCH chatbots/:id for a chatbot of a group the
// caller administers.
func (s *Server) updateChatbot(w http.ResponseWriter, r *http.Request, c *call) {
	attrs, ok := resourceParams(c, "chatbot", []string{"name", "kind", "webhook_kind", "server", "event_kinds", "notification_only", "channel"}, chatbotPermitted)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": 400})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	for _, b := range s.chatbots {
		if b.ID != id {
			continue
		}
		if g := s.groupByID(b.GroupID); g == nil || !g.isAdmin(c.user.ID) {
			break
		}
		updated := *b
		if errs := s.applyChatbot(&updated, attrs); len(errs) > 0 {
			unprocessable(w, errs)
			return
		}
		*b = updated
		writeJSON(w, http.StatusOK, map[string]any{"chatbots": []any{chatbotJSON(b)}})
		return
	}
	notFound(w)
}
