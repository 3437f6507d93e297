package github

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

var actions = []plugin.Action{{
	Name: "method",
	Description: "Perform any GitHub REST method as the installation. route is a path such as /repos/{owner}/{repo}/issues; " +
		"{owner}, {installation_id} and any parameter named in braces are substituted; the other parameters are the query (GET, DELETE) or the JSON body.",
	Input: plugin.Schema(`{
		"type": "object",
		"properties": {
			"route": {"type": "string", "minLength": 2, "maxLength": 2048, "pattern": "^/",
				"description": "The API path, relative to the API URL, such as /repos/{owner}/{repo}/issues."},
			"method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"], "default": "GET"}
		},
		"required": ["route"],
		"additionalProperties": true
	}`),
	Run: plugin.Bind((*GitHub).method),
}, {
	Name:        "create-issue",
	Description: "Create an issue in one of the owner's repositories; returns GitHub's issue",
	Input: plugin.Schema(`{
		"type": "object",
		"properties": {
			"repo_name": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,100}$"},
			"title": {"type": "string", "minLength": 1, "maxLength": 256},
			"body": {"type": "string", "maxLength": 65536}
		},
		"required": ["repo_name", "title", "body"],
		"additionalProperties": false
	}`),
	Output: plugin.Schema(`{"type": "object", "required": ["number", "html_url"], "properties": {"number": {"type": "integer"}, "html_url": {"type": "string"}}}`),
	Run:    plugin.Bind((*GitHub).createIssue),
}, {
	Name:        "get-installation",
	Description: "Get information about this GitHub installation (as the app)",
	Input:       plugin.Schema(`{"type": "object", "additionalProperties": false}`),
	Output:      plugin.Schema(`{"type": "object", "required": ["id", "account"], "properties": {"id": {"type": "integer"}}}`),
	Run:         plugin.Bind((*GitHub).getInstallationAction),
}}

// placeholder is a Python format field, as the original's routes used.
var placeholder = regexp.MustCompile(`\{([^{}]*)\}`)

// method performs any REST call. The original sent every parameter as the
// JSON body even on a GET and returned null when GitHub failed; here GitHub's
// errors reach the driver, and a GET or DELETE sends the unused parameters
// as its query.
func (g *GitHub) method(ctx context.Context, c *plugin.Call, params map[string]any) (any, error) {
	route, _ := params["route"].(string)
	method, _ := params["method"].(string)
	if method == "" {
		method = http.MethodGet
	}
	owner, err := g.ownerFor(ctx, c)
	if err != nil {
		return nil, err
	}
	values := map[string]any{"owner": owner, "installation_id": g.cfg.InstallationID}
	rest := map[string]any{}
	for k, v := range params {
		if k == "route" || k == "method" {
			continue
		}
		values[k] = v
		rest[k] = v
	}
	var fillErr error
	path := placeholder.ReplaceAllStringFunc(route, func(m string) string {
		name := m[1 : len(m)-1]
		v, ok := values[name]
		if !ok {
			fillErr = &plugin.InputError{Field: "/route", Message: fmt.Sprintf("the route names {%s}, which is neither a parameter nor owner or installation_id", name)}
			return m
		}
		delete(rest, name)
		return url.PathEscape(scalar(v))
	})
	if fillErr != nil {
		return nil, fillErr
	}
	if err := checkRoute(path); err != nil {
		return nil, err
	}
	rel := strings.TrimPrefix(path, "/")
	var body any
	if method == http.MethodGet || method == http.MethodDelete {
		if len(rest) > 0 {
			q := url.Values{}
			for k, v := range rest {
				q.Set(k, scalar(v))
			}
			sep := "?"
			if strings.Contains(rel, "?") {
				sep = "&"
			}
			rel += sep + q.Encode()
		}
	} else {
		body = rest
	}
	raw, err := do(ctx, g.api, method, rel, body)
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		return nil, nil
	}
	return raw, nil
}

// checkRoute keeps a route on the API: a relative path with no ".." segment
// and no scheme or host of its own.
func checkRoute(path string) error {
	bad := func(why string) error { return &plugin.InputError{Field: "/route", Message: why} }
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") {
		return bad("the route must be a path starting with a single /")
	}
	p := path
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." {
			return bad("the route must not contain . or .. segments")
		}
	}
	if strings.Contains(path, "\\") || strings.Contains(path, "#") {
		return bad("the route must not contain \\ or #")
	}
	return nil
}

// scalar renders a parameter for a path or query: strings as they are,
// anything else as JSON (numbers without exponent, as the schema saw them).
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}

type createIssueInput struct {
	RepoName string `json:"repo_name"`
	Title    string `json:"title"`
	Body     string `json:"body"`
}

func (g *GitHub) createIssue(ctx context.Context, c *plugin.Call, in createIssueInput) (json.RawMessage, error) {
	owner, err := g.ownerFor(ctx, c)
	if err != nil {
		return nil, err
	}
	return do(ctx, g.api, http.MethodPost, "repos/"+url.PathEscape(owner)+"/"+url.PathEscape(in.RepoName)+"/issues",
		map[string]string{"title": in.Title, "body": in.Body})
}

func (g *GitHub) getInstallationAction(ctx context.Context, _ *plugin.Call, _ struct{}) (json.RawMessage, error) {
	return do(ctx, g.app, http.MethodGet, "app/installations/"+g.cfg.InstallationID, nil)
}
