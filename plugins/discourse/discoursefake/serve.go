package discoursefake

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
)

// endpoint is one route of the fake. spec is its path in the OpenAPI
// description, or empty when the description does not cover it.
type endpoint struct {
	method  string
	pattern *regexp.Regexp
	spec    string
	public  bool // answers without an API key, as about.json does on a public forum
	handle  func(s *Server, c *call) (int, any)
}

// call is one request being answered.
type call struct {
	r      *http.Request
	body   []byte
	params map[string]string
}

var endpoints = []endpoint{
	{http.MethodGet, regexp.MustCompile(`^/about\.json$`), "", true, (*Server).about},
	{http.MethodGet, regexp.MustCompile(`^/admin/users/list/(?P<flag>[a-z]+)\.json$`), "/admin/users/list/{flag}.json", false, (*Server).listUsers},
	{http.MethodGet, regexp.MustCompile(`^/admin/users/(?P<id>-?\d+)\.json$`), "/admin/users/{id}.json", false, (*Server).adminUser},
	{http.MethodPost, regexp.MustCompile(`^/posts\.json$`), "/posts.json", false, (*Server).createPost},
	{http.MethodGet, regexp.MustCompile(`^/posts/(?P<id>\d+)\.json$`), "/posts/{id}.json", false, (*Server).getPost},
	{http.MethodDelete, regexp.MustCompile(`^/posts/(?P<id>\d+)\.json$`), "/posts/{id}.json", false, (*Server).deletePost},
	{http.MethodPut, regexp.MustCompile(`^/posts/(?P<id>\d+)/recover(?:\.json)?$`), "", false, (*Server).recoverPost},
	{http.MethodPut, regexp.MustCompile(`^/posts/(?P<id>\d+)/locked\.json$`), "/posts/{id}/locked.json", false, (*Server).lockPost},
	{http.MethodDelete, regexp.MustCompile(`^/t/(?P<id>\d+)\.json$`), "/t/{id}.json", false, (*Server).deleteTopic},
	{http.MethodPut, regexp.MustCompile(`^/t/(?P<id>\d+)/recover(?:\.json)?$`), "", false, (*Server).recoverTopic},
	{http.MethodPut, regexp.MustCompile(`^/polls/toggle_status(?:\.json)?$`), "", false, (*Server).togglePollStatus},
}

// Discourse's error texts for the failures the fake produces.
const (
	msgInvalidAccess = "You are not permitted to view the requested resource. The API username or key is invalid."
	msgNotFound      = "The requested URL or resource could not be found."
)

// errorJSON is Discourse's error body.
func errorJSON(errorType string, messages ...string) map[string]any {
	return map[string]any{"errors": messages, "error_type": errorType}
}

// serve records the request, applies authentication, Stall and Fail, finds
// the endpoint, validates the request against the description and answers.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()

	ep, params := match(r)
	if ep == nil {
		writeJSON(w, http.StatusNotFound, errorJSON("not_found", msgNotFound))
		return
	}
	if !s.authorized(r, ep.public) {
		writeJSON(w, http.StatusForbidden, errorJSON("invalid_access", msgInvalidAccess))
		return
	}
	if s.Inject(w, r, func(w http.ResponseWriter, status int, message string) {
		writeJSON(w, status, errorJSON("failed", message))
	}) {
		return
	}
	c := &call{r: r, body: body, params: params}
	doc, _ := loadSpec()
	if ep.spec == "" || doc == nil {
		status, out := ep.handle(s, c)
		writeJSON(w, status, out)
		return
	}
	in, err := validateRequest(doc, r, body, operation{path: ep.spec, params: params})
	if err != nil {
		s.problem(r.Method + " " + r.URL.Path + " does not fit the description: " + err.Error())
		writeJSON(w, http.StatusBadRequest, errorJSON("invalid_parameters", err.Error()))
		return
	}
	rec := httptest.NewRecorder()
	status, out := ep.handle(s, c)
	writeJSON(rec, status, out)
	if err := validateResponse(in, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
		s.problem("answer to " + r.Method + " " + r.URL.Path + " does not fit the description: " + err.Error())
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// match finds the endpoint of a request and its path parameters.
func match(r *http.Request) (*endpoint, map[string]string) {
	for i := range endpoints {
		ep := &endpoints[i]
		if ep.method != r.Method {
			continue
		}
		m := ep.pattern.FindStringSubmatch(r.URL.Path)
		if m == nil {
			continue
		}
		params := map[string]string{}
		for j, name := range ep.pattern.SubexpNames() {
			if name != "" {
				params[name] = m[j]
			}
		}
		return ep, params
	}
	return nil, nil
}

// authorized applies Discourse's API key rules: a request with an Api-Key
// must carry the valid key and name, in Api-Username, the user it acts as;
// a request without one is anonymous, allowed on public endpoints only.
func (s *Server) authorized(r *http.Request, public bool) bool {
	key := r.Header.Get("Api-Key")
	if key == "" {
		return public
	}
	okKey := subtle.ConstantTimeCompare([]byte(key), []byte(s.opts.APIKey)) == 1
	return okKey && r.Header.Get("Api-Username") == s.opts.APIUsername
}

// writeJSON answers out as JSON; a nil out is an empty body, as Discourse
// answers deletions.
func writeJSON(w http.ResponseWriter, status int, out any) {
	if out == nil {
		w.WriteHeader(status)
		return
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(out)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
