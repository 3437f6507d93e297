package apidoc

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
)

// No Go module embeds Redoc and no third-party bundle may be committed, so
// /redoc is a reference page of our own: rendered once on the server from
// the document, plain HTML and a small stylesheet, no JavaScript, nothing
// fetched from anywhere.

//go:embed redoc.html
var redocTemplateText string

//go:embed redoc.css
var redocCSS string

var redocTemplate = template.Must(template.New("redoc").Parse(redocTemplateText))

// redocCSP forbids the page from loading anything but its inline styles; a
// regression that adds an external asset shows up as a broken page at once.
const redocCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// RedocHandler serves a server-rendered API reference for doc (the output of
// Build) at RedocPath: operations grouped by tag with their parameters and
// request and response schemas, then every component schema. The page is
// rendered here, once, so a document it cannot read fails at start rather
// than on the first visit.
func RedocHandler(doc []byte) (http.Handler, error) {
	page, err := renderReference(doc)
	if err != nil {
		return nil, err
	}
	return fixedContent(page, "text/html; charset=utf-8", map[string]string{
		"Content-Security-Policy": redocCSP,
		"X-Content-Type-Options":  "nosniff",
	}), nil
}

// The view model of the page: the document flattened into what the
// template prints, with every $ref of a parameter or response resolved.
type (
	refPage struct {
		Title, Version string
		Description    template.HTML
		Servers        []string
		SpecPath       string
		SwaggerPath    string
		CSS            template.CSS
		Tags           []refTag
		SchemaGroups   []refSchemaGroup
		SchemaCount    int
		OpCount        int
	}
	refTag struct {
		Name, Anchor string
		Description  template.HTML
		Ops          []refOp
	}
	refOp struct {
		ID, Anchor, Method, Path, Summary string
		Description                       template.HTML
		Deprecated                        bool
		Params                            []refParam
		Body                              *refBody
		Responses                         []refResponse
	}
	refParam struct {
		Name, In, Type string
		Required       bool
		Description    template.HTML
	}
	refBody struct {
		Required    bool
		Description template.HTML
		Contents    []refContent
	}
	refContent struct {
		MediaType string
		Blocks    []refBlock
	}
	// refBlock is one schema shown under a request or response: the
	// operation's own schema, or a component it references.
	refBlock struct {
		Component, Anchor string // empty for the operation's own schema
		JSON              template.HTML
	}
	refResponse struct {
		Code, Class string
		Open        bool
		Description template.HTML
		Headers     []refParam
		Contents    []refContent
	}
	// refSchemaGroup holds the shared schemas, or one plugin's.
	refSchemaGroup struct {
		Name, Anchor string
		Schemas      []refSchema
	}
	refSchema struct {
		Name, Anchor string
		JSON         template.HTML
	}
)

var methodOrder = []string{"get", "post", "put", "patch", "delete", "head", "options", "trace"}

func renderReference(doc []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("rendering api reference: reading the document: %w", err)
	}
	r := &resolver{root: root}
	infoObj := asMap(root["info"])
	p := refPage{
		Title:       asString(infoObj["title"]),
		Version:     asString(infoObj["version"]),
		Description: markdown(asString(infoObj["description"])),
		SpecPath:    SpecPath,
		SwaggerPath: SwaggerPath,
		CSS:         template.CSS(redocCSS), // our own file, not input
	}
	for _, s := range asList(root["servers"]) {
		p.Servers = append(p.Servers, asString(asMap(s)["url"]))
	}

	// Tags in document order, then any tag used only by operations.
	tagIndex := map[string]int{}
	addTag := func(name, description string) int {
		if i, ok := tagIndex[name]; ok {
			return i
		}
		tagIndex[name] = len(p.Tags)
		p.Tags = append(p.Tags, refTag{Name: name, Anchor: "tag-" + anchorSlug(name), Description: markdown(description)})
		return len(p.Tags) - 1
	}
	for _, t := range asList(root["tags"]) {
		addTag(asString(asMap(t)["name"]), asString(asMap(t)["description"]))
	}

	paths := asMap(root["paths"])
	pathNames := make([]string, 0, len(paths))
	for path := range paths {
		pathNames = append(pathNames, path)
	}
	sort.Strings(pathNames)
	for _, path := range pathNames {
		item := asMap(paths[path])
		for _, method := range methodOrder {
			opObj, ok := item[method].(map[string]any)
			if !ok {
				continue
			}
			op := r.operation(method, path, opObj, asList(item["parameters"]))
			tag := "Other"
			if tags := asList(opObj["tags"]); len(tags) > 0 {
				tag = asString(tags[0])
			}
			i := addTag(tag, "")
			p.Tags[i].Ops = append(p.Tags[i].Ops, op)
			p.OpCount++
		}
	}
	// Drop tags without operations; they would be empty sections.
	kept := p.Tags[:0]
	for _, t := range p.Tags {
		if len(t.Ops) > 0 {
			kept = append(kept, t)
		}
	}
	p.Tags = kept

	p.SchemaGroups, p.SchemaCount = schemaGroups(asMap(asMap(root["components"])["schemas"]))

	var out bytes.Buffer
	if err := redocTemplate.Execute(&out, p); err != nil {
		return nil, fmt.Errorf("rendering api reference: %w", err)
	}
	return out.Bytes(), nil
}

// schemaGroups sorts component schemas into the shared ones and one group
// per plugin (the part of the name before the first dot).
func schemaGroups(schemas map[string]any) ([]refSchemaGroup, int) {
	names := make([]string, 0, len(schemas))
	for name := range schemas {
		names = append(names, name)
	}
	sort.Strings(names)
	shared := refSchemaGroup{Name: "Shared", Anchor: "schemas-shared"}
	var groups []refSchemaGroup
	for _, name := range names {
		s := refSchema{Name: name, Anchor: schemaAnchor(name), JSON: schemaHTML(schemas[name])}
		owner, _, isPlugin := strings.Cut(name, ".")
		if !isPlugin {
			shared.Schemas = append(shared.Schemas, s)
			continue
		}
		if len(groups) == 0 || groups[len(groups)-1].Name != owner {
			groups = append(groups, refSchemaGroup{Name: owner, Anchor: "schemas-" + anchorSlug(owner)})
		}
		groups[len(groups)-1].Schemas = append(groups[len(groups)-1].Schemas, s)
	}
	if len(shared.Schemas) > 0 {
		groups = append([]refSchemaGroup{shared}, groups...)
	}
	return groups, len(names)
}

// resolver follows $refs to parameters, responses, request bodies and
// headers; schema references are left for the reader to follow as links.
type resolver struct{ root map[string]any }

func (r *resolver) deref(v any) map[string]any {
	m := asMap(v)
	for i := 0; i < 8; i++ { // a bound against reference cycles
		ref, ok := m["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#/") {
			return m
		}
		var cur any = r.root
		for _, tok := range strings.Split(ref[2:], "/") {
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			cur = asMap(cur)[tok]
		}
		m = asMap(cur)
	}
	return m
}

func (r *resolver) operation(method, path string, op map[string]any, shared []any) refOp {
	id := asString(op["operationId"])
	o := refOp{
		ID:          id,
		Anchor:      "op-" + anchorSlug(id),
		Method:      strings.ToUpper(method),
		Path:        path,
		Summary:     asString(op["summary"]),
		Description: markdown(asString(op["description"])),
		Deprecated:  op["deprecated"] == true,
	}
	if id == "" {
		o.Anchor = "op-" + anchorSlug(method+path)
	}
	for _, raw := range append(append([]any(nil), shared...), asList(op["parameters"])...) {
		prm := r.deref(raw)
		o.Params = append(o.Params, refParam{
			Name:        asString(prm["name"]),
			In:          asString(prm["in"]),
			Type:        typeSummary(prm["schema"]),
			Required:    prm["required"] == true,
			Description: markdown(asString(prm["description"])),
		})
	}
	if body, ok := op["requestBody"]; ok {
		b := r.deref(body)
		o.Body = &refBody{
			Required:    b["required"] == true,
			Description: markdown(asString(b["description"])),
			Contents:    r.contents(b["content"]),
		}
	}
	responses := asMap(op["responses"])
	codes := make([]string, 0, len(responses))
	for code := range responses {
		codes = append(codes, code)
	}
	sort.Strings(codes) // "default" sorts after the numeric codes
	for _, code := range codes {
		resp := r.deref(responses[code])
		class := "other"
		if code != "" {
			class = map[byte]string{'1': "info", '2': "ok", '3': "redirect", '4': "client", '5': "server"}[code[0]]
		}
		rr := refResponse{
			Code:        code,
			Class:       class,
			Open:        class == "ok" || class == "redirect",
			Description: inlineMarkdown(asString(resp["description"])),
			Contents:    r.contents(resp["content"]),
		}
		headers := asMap(resp["headers"])
		headerNames := make([]string, 0, len(headers))
		for name := range headers {
			headerNames = append(headerNames, name)
		}
		sort.Strings(headerNames)
		for _, name := range headerNames {
			h := r.deref(headers[name])
			rr.Headers = append(rr.Headers, refParam{
				Name: name, In: "header", Type: typeSummary(h["schema"]),
				Required: h["required"] == true, Description: markdown(asString(h["description"])),
			})
		}
		o.Responses = append(o.Responses, rr)
	}
	return o
}

func (r *resolver) contents(v any) []refContent {
	content := asMap(v)
	types := make([]string, 0, len(content))
	for mt := range content {
		types = append(types, mt)
	}
	sort.Strings(types)
	out := make([]refContent, 0, len(types))
	for _, mt := range types {
		out = append(out, refContent{MediaType: mt, Blocks: r.schemaBlocks(asMap(content[mt])["schema"])})
	}
	return out
}

// schemaBlocks shows an operation's schema so that it can be read without
// jumping around: a bare reference is replaced by the component it names,
// and the components the schema references directly follow it, one level
// deep (their own references stay links).
func (r *resolver) schemaBlocks(schema any) []refBlock {
	var blocks []refBlock
	seen := map[string]bool{}
	component := func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		s, ok := asMap(asMap(r.root["components"])["schemas"])[name]
		if !ok {
			return
		}
		blocks = append(blocks, refBlock{Component: name, Anchor: schemaAnchor(name), JSON: schemaHTML(s)})
	}
	if name, ok := bareComponentRef(schema); ok {
		component(name)
		return blocks
	}
	blocks = append(blocks, refBlock{JSON: schemaHTML(schema)})
	for _, name := range componentRefs(schema) {
		component(name)
	}
	return blocks
}

// bareComponentRef reports whether a schema is only a reference to a whole
// component schema, and to which.
func bareComponentRef(schema any) (string, bool) {
	m := asMap(schema)
	ref, ok := m["$ref"].(string)
	if !ok || len(m) != 1 {
		return "", false
	}
	match := componentRef.FindStringSubmatch(ref)
	if match == nil || match[2] != "" {
		return "", false
	}
	return match[1], true
}

// componentRefs lists, in first-seen order, the components a schema
// references, looking into the schema itself but not into the components.
func componentRefs(schema any) []string {
	var names []string
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if name, ok := bareComponentRef(t); ok {
				names = append(names, name)
				return
			}
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(t[k])
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(schema)
	return names
}

// typeSummary is the one-line type shown for a parameter or header.
func typeSummary(v any) string {
	s := asMap(v)
	if ref, ok := s["$ref"].(string); ok {
		return ref[strings.LastIndex(ref, "/")+1:]
	}
	var parts []string
	switch t := s["type"].(type) {
	case string:
		parts = append(parts, t)
	case []any:
		var names []string
		for _, n := range t {
			names = append(names, asString(n))
		}
		parts = append(parts, strings.Join(names, " | "))
	}
	if f := asString(s["format"]); f != "" {
		parts = append(parts, "("+f+")")
	}
	if c, ok := s["const"]; ok {
		parts = append(parts, "= "+jsonText(c))
	}
	if enum := asList(s["enum"]); len(enum) > 0 {
		var vals []string
		for _, e := range enum {
			vals = append(vals, jsonText(e))
		}
		parts = append(parts, "one of "+strings.Join(vals, ", "))
	}
	if len(parts) == 0 {
		return "any"
	}
	return strings.Join(parts, " ")
}

func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// anchorSlug makes a fragment identifier from a tag name or operation id:
// operation ids keep their dots so that #op-randomness.random-int reads well.
func anchorSlug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '.' || c == '_' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func schemaAnchor(name string) string { return "schema-" + name }

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}
