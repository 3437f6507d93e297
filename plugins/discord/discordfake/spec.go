package discordfake

import (
	"bytes"
	"context"
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

// specRel is where Discord's OpenAPI description lives in the shared
// directory (see internal/platformdocs).
var specRel = filepath.Join("platforms", "discord", "openapi.json")

var (
	specOnce sync.Once
	specDoc  *openapi3.T
	specErr  error
)

// loadSpec reads the description once per test binary; nil, without an
// error, when it is absent and not required (the fake then runs without
// validation).
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
			specErr = fmt.Errorf("loading discord openapi description %s: %w", path, err)
			return
		}
		specDoc = doc
	})
	return specDoc, specErr
}

// validate checks a request (body already read) against the documented
// operation at path (a path of the description, such as
// /channels/{channel_id}/messages) with its path parameters.
func validate(doc *openapi3.T, method, path string, params map[string]string, header http.Header, body []byte) error {
	item := doc.Paths.Value(path)
	if item == nil || item.GetOperation(method) == nil {
		return fmt.Errorf("%s %s is not in the description", method, path)
	}
	rt := &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: item.GetOperation(method)}
	r, err := http.NewRequestWithContext(context.Background(), method, "https://discord.com/api/v10"+path, io.NopCloser(bytes.NewReader(body)))
	if err != nil {
		return err
	}
	if header != nil {
		r.Header = header.Clone()
	}
	if len(body) > 0 && r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/json")
	}
	in := &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: rt,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: false},
	}
	return openapi3filter.ValidateRequest(context.Background(), in)
}
