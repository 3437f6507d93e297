package githubfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/metagov/metagov-go/internal/platformdocs"
)

// Where GitHub's descriptions live in the shared directory (see
// internal/platformdocs): the REST API (OpenAPI 3.0) and the webhooks
// (OpenAPI 3.1, one schema per event and action).
var (
	restRel     = filepath.Join("platforms", "github", "api.github.com.json")
	webhooksRel = filepath.Join("platforms", "github", "webhooks.api.github.com.json")
)

// docs are GitHub's descriptions, loaded once per test binary: the REST one
// for kin-openapi (request and response validation), both as plain JSON
// for building payloads, and the webhook schemas compiled for validation.
type docs struct {
	rest        *openapi3.T
	restRaw     map[string]any
	webhooksRaw map[string]any
	compiler    *jsonschema.Compiler

	mu       sync.Mutex
	compiled map[string]*jsonschema.Schema
}

var (
	docsOnce sync.Once
	docsVal  *docs
	docsErr  error
)

// loadDocs returns nil, without an error, when the descriptions are absent
// and not required; the fake then builds payloads from its own minimal
// shapes and validates nothing.
func loadDocs() (*docs, error) {
	docsOnce.Do(func() {
		restPath, found, err := platformdocs.Find(restRel)
		if err != nil || !found {
			docsErr = err
			return
		}
		hooksPath, found, err := platformdocs.Find(webhooksRel)
		if err != nil || !found {
			docsErr = err
			if err == nil {
				docsErr = fmt.Errorf("%s is missing beside %s", webhooksRel, restRel)
			}
			return
		}
		d := &docs{compiled: map[string]*jsonschema.Schema{}}
		loader := openapi3.NewLoader()
		if d.rest, err = loader.LoadFromFile(restPath); err != nil {
			docsErr = fmt.Errorf("loading %s: %w", restPath, err)
			return
		}
		if d.restRaw, err = readJSON(restPath); err != nil {
			docsErr = err
			return
		}
		if d.webhooksRaw, err = readJSON(hooksPath); err != nil {
			docsErr = err
			return
		}
		d.compiler = jsonschema.NewCompiler()
		d.compiler.DefaultDraft(jsonschema.Draft2020)
		if err := d.compiler.AddResource("mem:///webhooks.json", d.webhooksRaw); err != nil {
			docsErr = fmt.Errorf("adding the webhooks description: %w", err)
			return
		}
		docsVal = d
	})
	return docsVal, docsErr
}

func readJSON(path string) (map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	return v, nil
}

// webhookSchema compiles components/schemas/<name> of the webhooks
// description.
func (d *docs) webhookSchema(name string) (*jsonschema.Schema, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.compiled[name]; ok {
		return s, nil
	}
	s, err := d.compiler.Compile("mem:///webhooks.json#/components/schemas/" + name)
	if err != nil {
		return nil, fmt.Errorf("compiling webhook schema %s: %w", name, err)
	}
	d.compiled[name] = s
	return s, nil
}

// build makes an instance of components/schemas/<name> of a description:
// every required property filled with a value of its documented type
// (the first enum value, the first non-null alternative), with the fake's
// data in over taking the place of the generated values; an object in over
// is filled out the same way with its own schema's required properties. The
// result has exactly the documented shape as long as over keeps to it,
// which the callers check by validating.
func build(root map[string]any, name string, over map[string]any) map[string]any {
	if root == nil {
		return over
	}
	g := &generator{root: root, depth: map[string]int{}}
	v, _ := g.gen(map[string]any{"$ref": "#/components/schemas/" + name}, over, true).(map[string]any)
	if v == nil {
		return over
	}
	return v
}

type generator struct {
	root  map[string]any
	depth map[string]int
}

func (g *generator) resolve(ref string) map[string]any {
	var cur any = g.root
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, _ := cur.(map[string]any)
		cur = m[strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")]
	}
	s, _ := cur.(map[string]any)
	return s
}

// gen generates a value of schema s; when has is set, over is the fake's
// value for it (objects are completed, anything else taken as is).
func (g *generator) gen(s map[string]any, over any, has bool) any {
	overMap, isMap := over.(map[string]any)
	if has && !isMap {
		return over
	}
	if ref, ok := s["$ref"].(string); ok {
		if g.depth[ref] > 1 && !has {
			return nil
		}
		g.depth[ref]++
		defer func() { g.depth[ref]-- }()
		return g.gen(g.resolve(ref), over, has)
	}
	if c, ok := s["const"]; ok && !has {
		return c
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 && !has {
		for _, v := range e {
			if v != nil {
				return v
			}
		}
		return e[0]
	}
	if all, ok := s["allOf"].([]any); ok {
		out := map[string]any{}
		for _, sub := range all {
			if m, ok := g.gen(sub.(map[string]any), over, has).(map[string]any); ok {
				maps.Copy(out, m)
			}
		}
		return out
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		if alts, ok := s[key].([]any); ok && len(alts) > 0 {
			for _, a := range alts {
				am := a.(map[string]any)
				if am["type"] == "null" {
					continue
				}
				return g.gen(am, over, has)
			}
			return nil
		}
	}
	typ := ""
	switch t := s["type"].(type) {
	case string:
		typ = t
	case []any:
		for _, x := range t {
			if x != "null" {
				typ = x.(string)
				break
			}
		}
	}
	if typ == "" {
		if _, ok := s["properties"]; ok || has {
			typ = "object"
		}
	}
	switch typ {
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		req, _ := s["required"].([]any)
		for _, r := range req {
			name := r.(string)
			ps, _ := props[name].(map[string]any)
			if ps == nil {
				ps = map[string]any{}
			}
			ov, has := overMap[name]
			out[name] = g.gen(ps, ov, has)
		}
		for name, ov := range overMap {
			if _, done := out[name]; done {
				continue
			}
			ps, _ := props[name].(map[string]any)
			if ps == nil {
				out[name] = ov
				continue
			}
			out[name] = g.gen(ps, ov, true)
		}
		return out
	case "array":
		if mi, _ := s["minItems"].(float64); mi > 0 {
			if items, ok := s["items"].(map[string]any); ok {
				return []any{g.gen(items, nil, false)}
			}
		}
		return []any{}
	case "string":
		switch s["format"] {
		case "date-time":
			return "2026-01-01T00:00:00Z"
		case "uri", "uri-template", "url":
			return "https://github.example/x"
		case "email":
			return "user@example.com"
		case "date":
			return "2026-01-01"
		}
		return "x"
	case "integer", "number":
		if m, ok := s["minimum"].(float64); ok && m > 1 {
			return m
		}
		return 1
	case "boolean":
		return false
	}
	return nil
}
