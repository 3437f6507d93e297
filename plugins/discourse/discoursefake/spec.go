package discoursefake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/metagov/metagov-go/internal/platformdocs"
)

// specRel is where Discourse's OpenAPI description lives in the shared
// directory (see internal/platformdocs).
var specRel = filepath.Join("platforms", "discourse", "openapi.json")

var (
	specOnce sync.Once
	specDoc  *openapi3.T
	specErr  error
)

// loadSpec reads the description once per test binary; it is nil, without
// an error, when the description is absent and not required (the fake then
// runs without validation). Discourse's PostsController accepts is_warning
// from staff on POST /posts.json, which the description leaves out of that
// request schema (additionalProperties false); the fake adds it so that
// create-message with is_warning is checked like every other field.
func loadSpec() (*openapi3.T, error) {
	specOnce.Do(func() {
		path, found, err := platformdocs.Find(specRel)
		if err != nil || !found {
			specErr = err
			return
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile(path)
		if err != nil {
			specErr = fmt.Errorf("loading discourse openapi description %s: %w", path, err)
			return
		}
		op := doc.Paths.Value("/posts.json").Post
		schema := op.RequestBody.Value.Content.Get("application/json").Schema.Value
		schema.Properties["is_warning"] = openapi3.NewSchemaRef("", openapi3.NewBoolSchema())
		specDoc = doc
	})
	return specDoc, specErr
}

// operation is a documented endpoint: its path in the description and the
// request's path parameters.
type operation struct {
	path   string
	params map[string]string
}

// route builds the kin-openapi route of a documented operation.
func route(doc *openapi3.T, method string, op operation) (*routers.Route, error) {
	item := doc.Paths.Value(op.path)
	if item == nil || item.GetOperation(method) == nil {
		return nil, fmt.Errorf("%s %s is not in the description", method, op.path)
	}
	return &routers.Route{Spec: doc, Path: op.path, PathItem: item, Method: method, Operation: item.GetOperation(method)}, nil
}

// validateRequest checks a request against its documented operation. body
// is the request body, already read.
func validateRequest(doc *openapi3.T, r *http.Request, body []byte, op operation) (*openapi3filter.RequestValidationInput, error) {
	rt, err := route(doc, r.Method, op)
	if err != nil {
		return nil, err
	}
	clone := r.Clone(context.Background())
	clone.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{
		Request: clone, PathParams: op.params, Route: rt,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	return in, openapi3filter.ValidateRequest(context.Background(), in)
}

// validateResponse checks a 2xx answer of the fake against the description,
// so the fake keeps to Discourse's documented shapes.
func validateResponse(in *openapi3filter.RequestValidationInput, status int, header http.Header, body []byte) error {
	if in == nil || status < 200 || status > 299 {
		return nil
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: false},
	}
	err := openapi3filter.ValidateResponse(context.Background(), out)
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) && len(body) == 0 && re.Reason == "response body is missing" {
		return nil
	}
	return err
}
