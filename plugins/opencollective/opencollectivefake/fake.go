// Package opencollectivefake is an in-memory Open Collective for tests: the
// GraphQL API v2 at POST /graphql/v2, with a collective, its members, a
// project, conversations with reactions, expenses and webhooks.
//
// Every request is parsed and validated against Open Collective's published
// schema (schemaV2.graphql, found beside the repository in ../shared or
// under $METAGOV_SHARED_DIR, see internal/platformdocs) with gqlparser, so a
// query the real API would refuse fails in tests too, with the same kind of
// answer: 400 and {"errors": [...]}. Valid operations are answered field by
// field in the shapes the query selects. Where the schema is absent, requests
// are only parsed, not validated, and the fake says so in the test log.
//
// Authentication follows the API: a Personal-Token (or the older Api-Key)
// header that is not a known token is a 401 with
// {"error": {"code": 401, "type": "unauthorized", "message": ...}}; an
// Authorization: Bearer token that does not verify is ignored, as the API
// ignores a JWT it cannot decode, so the request runs anonymously, and
// mutations then fail with an Unauthorized GraphQL error.
package opencollectivefake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/metagov/metagov-go/internal/platformdocs"
	"github.com/metagov/metagov-go/internal/platformfake"
)

// Fixtures of every new fake.
const (
	// PersonalToken is a personal token of the bot, an admin of the
	// collective.
	PersonalToken = "oc-personal-token-of-governance-bot"
	// AccessToken is an OAuth access token of the bot.
	AccessToken = "oc-oauth-access-token-of-governance-bot"
	// CollectiveSlug is the collective the bot administers.
	CollectiveSlug = "metagov"
	// ProjectSlug is a project of that collective.
	ProjectSlug = "metagov-tools"
	// OtherCollectiveSlug is a collective the bot has nothing to do with.
	OtherCollectiveSlug = "elsewhere"
)

// Fake is a running fake Open Collective.
type Fake struct {
	// URL is the API's base URL, the plugin's server_url.
	URL    string
	schema *ast.Schema

	mu            sync.Mutex
	seq           int
	bot           *account
	accounts      []*account
	conversations []*conversation
	expenses      []*expense
	webhooks      []*webhook
	requests      []Request
	failFields    map[string]gqlError
	hosts         map[string]netip.Addr
	twoFactor     bool
	preAuthorized bool

	// Faults gives the fake Fail (every request answers a status and a
	// body, as given) and Stall (every request hangs).
	platformfake.Faults
}

// New starts a fake that lives until the test ends.
func New(t testing.TB) *Fake {
	t.Helper()
	s, err := loadSchema()
	if err != nil {
		t.Fatalf("opencollectivefake: %v", err)
	}
	if s == nil {
		t.Log(platformdocs.Missing("opencollectivefake", schemaRel))
	}
	f := &Fake{schema: s, failFields: map[string]gqlError{}, hosts: map[string]netip.Addr{}}
	f.seed()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /graphql/v2", f.serveGraphQL)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		f.Release()
		srv.Close()
	})
	f.URL = srv.URL
	return f
}

// graphQLBody is a GraphQL-over-HTTP request.
type graphQLBody struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

func (f *Fake) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	if f.Inject(w, r, platformfake.Raw) {
		return
	}
	viewer, tokenKind, refusal := f.authenticate(r.Header)
	if refusal != "" {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"code": 401, "type": "unauthorized", "message": refusal}})
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeErrors(w, http.StatusBadRequest, "BAD_REQUEST", "POST body must be application/json, not "+r.Header.Get("Content-Type"))
		return
	}
	var req graphQLBody
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeErrors(w, http.StatusBadRequest, "BAD_REQUEST", "POST body is not valid JSON: "+err.Error())
		return
	}
	rec := Request{Header: r.Header.Clone(), Query: req.Query, OperationName: req.OperationName, Variables: req.Variables}
	doc, errs := f.parse(req.Query)
	if len(errs) > 0 {
		for _, e := range errs {
			rec.Errors = append(rec.Errors, e.Message)
		}
		f.log(rec)
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": withCode(errs)})
		return
	}
	op := doc.Operations.ForName(req.OperationName)
	if op == nil {
		rec.Errors = append(rec.Errors, "unknown operation "+req.OperationName)
		f.log(rec)
		writeErrors(w, http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf("Unknown operation named %q.", req.OperationName))
		return
	}
	for _, sel := range op.SelectionSet {
		if field, ok := sel.(*ast.Field); ok {
			rec.Fields = append(rec.Fields, field.Name)
		}
	}
	vars, err := req.Variables, error(nil)
	if f.schema != nil {
		vars, err = validator.VariableValues(f.schema, op, req.Variables)
	}
	if err != nil {
		rec.Errors = append(rec.Errors, err.Error())
		f.log(rec)
		writeErrors(w, http.StatusBadRequest, "BAD_USER_INPUT", err.Error())
		return
	}
	f.log(rec)
	writeJSON(w, http.StatusOK, f.execute(r.Context(), op, vars, &session{f: f, viewer: viewer, tokenKind: tokenKind}))
}

// Validating reports whether the fake checks requests against Open
// Collective's published schema.
func (f *Fake) Validating() bool { return f.schema != nil }

// parse reads a query: parsed and validated against the schema, or, without
// one, only parsed, with fragment spreads linked to their definitions as the
// validator would.
func (f *Fake) parse(query string) (*ast.QueryDocument, gqlerror.List) {
	if f.schema != nil {
		return gqlparser.LoadQueryWithRules(f.schema, query, rules.NewDefaultRules())
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		var gerr *gqlerror.Error
		if errors.As(err, &gerr) {
			return nil, gqlerror.List{gerr}
		}
		return nil, gqlerror.List{gqlerror.Wrap(err)}
	}
	var link func(ast.SelectionSet)
	link = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				link(s.SelectionSet)
			case *ast.InlineFragment:
				link(s.SelectionSet)
			case *ast.FragmentSpread:
				s.Definition = doc.Fragments.ForName(s.Name)
			}
		}
	}
	for _, op := range doc.Operations {
		link(op.SelectionSet)
	}
	for _, fr := range doc.Fragments {
		link(fr.SelectionSet)
	}
	return doc, nil
}

// authenticate finds the account behind the request's credential; nil is
// an anonymous request. A refusal is the API's message for a personal
// token it does not know.
func (f *Fake) authenticate(h http.Header) (viewer *account, tokenKind, refusal string) {
	token := h.Get("Personal-Token")
	if token == "" {
		token = h.Get("Api-Key")
	}
	if token != "" {
		if token != PersonalToken {
			return nil, "", "Invalid Personal Token (Api Key): " + token
		}
		return f.bot, "personal", ""
	}
	if bearer, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer "); ok && bearer == AccessToken {
		return f.bot, "OAuth", ""
	}
	return nil, "", ""
}

// execute runs a valid operation under the lock, so each one sees and
// leaves a consistent collective.
func (f *Fake) execute(_ context.Context, op *ast.OperationDefinition, vars map[string]any, s *session) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	x := &executor{schema: f.schema, vars: vars}
	root := s.queryRoot()
	if op.Operation == ast.Mutation {
		root = s.mutationRoot()
	}
	for field, e := range f.failFields {
		root[field] = resolver(func(map[string]any) (any, error) { return nil, &e })
	}
	out := map[string]any{"data": x.run(root, op)}
	if len(x.errs) > 0 {
		out["errors"] = x.errs
	}
	return out
}

// withCode renders parse and validation errors as the API (Apollo Server)
// does; errors that no validation rule raised come from the parser.
func withCode(errs gqlerror.List) []map[string]any {
	out := make([]map[string]any, 0, len(errs))
	for _, e := range errs {
		code := "GRAPHQL_VALIDATION_FAILED"
		if e.Rule == "" {
			code = "GRAPHQL_PARSE_FAILED"
		}
		entry := map[string]any{"message": e.Message, "extensions": map[string]any{"code": code}}
		if len(e.Locations) > 0 {
			entry["locations"] = e.Locations
		}
		out = append(out, entry)
	}
	return out
}

func writeErrors(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]any{{"message": msg, "extensions": map[string]any{"code": code}}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
