package apidoc

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Lint checks an OpenAPI document (the output of Build) against the rules
// of Redocly CLI's "recommended" ruleset that the gateway's document must
// keep, so that the tests need neither Node nor the network:
//
//   - no-empty-servers, no-path-trailing-slash;
//   - operation-operationId and operation-operationId-unique (paths and
//     webhooks together), operation-summary, operation-2xx-response (where
//     a redirect, 3xx, counts as success: the OAuth install routes answer
//     only redirects, which Redocly reports as a warning);
//   - operation-tag-defined, plus at least one tag per operation (the docs
//     UIs group by tag);
//   - security-defined: every operation says how it is secured, [] for
//     public ones, and only with declared schemes;
//   - path-parameters-defined: every {param} of a path is a required path
//     parameter and every path parameter is in the path;
//   - operation-parameters-unique;
//   - no-unresolved-refs and no-unused-components (schemas, responses,
//     parameters, security schemes).
//
// Left out: info-license (the project has not chosen one) and
// operation-4xx-response (the docs and health routes cannot answer a 4xx).
// .ci/run also runs the real `redocly lint` when npx can install it.
//
// It returns one line per problem, sorted, and an error only when doc is not
// JSON.
func Lint(doc []byte) ([]string, error) {
	var root map[string]any
	if err := json.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("linting openapi document: %w", err)
	}
	l := &linter{root: root, opIDs: map[string]string{}, used: map[string]bool{}}
	l.run()
	sort.Strings(l.problems)
	return l.problems, nil
}

type linter struct {
	root     map[string]any
	problems []string
	opIDs    map[string]string // operationId -> where
	used     map[string]bool   // "schemas/Name", "parameters/Name", ...
}

func (l *linter) report(format string, args ...any) {
	l.problems = append(l.problems, fmt.Sprintf(format, args...))
}

var pathParamPattern = regexp.MustCompile(`\{([^}]+)\}`)

func (l *linter) run() {
	if servers, _ := l.root["servers"].([]any); len(servers) == 0 {
		l.report("no-empty-servers: the document has no servers")
	}
	tags := map[string]bool{}
	for _, t := range asSlice(l.root["tags"]) {
		if name, ok := asMap(t)["name"].(string); ok {
			tags[name] = true
		}
	}
	_, rootSecurity := l.root["security"]
	schemes := asMap(asMap(l.root["components"])["securitySchemes"])

	for _, group := range []string{"paths", "webhooks"} {
		items := asMap(l.root[group])
		for _, key := range sortedKeys(items) {
			item := asMap(items[key])
			if group == "paths" && key != "/" && strings.HasSuffix(key, "/") {
				l.report("no-path-trailing-slash: %s", key)
			}
			for _, method := range sortedKeys(item) {
				if !isMethod(method) {
					continue
				}
				where := strings.ToUpper(method) + " " + key
				if group == "webhooks" {
					where = "webhook " + key
				}
				l.operation(where, group, key, asMap(item[method]), asSlice(item["parameters"]), tags, rootSecurity, schemes)
			}
		}
	}
	l.references(l.root, "#")
	components := asMap(l.root["components"])
	for _, kind := range []string{"schemas", "responses", "parameters", "securitySchemes"} {
		for _, name := range sortedKeys(asMap(components[kind])) {
			if !l.used[kind+"/"+name] {
				l.report("no-unused-components: components.%s.%s is never referenced", kind, name)
			}
		}
	}
}

func (l *linter) operation(where, group, path string, op map[string]any, shared []any, tags map[string]bool, rootSecurity bool, schemes map[string]any) {
	id, _ := op["operationId"].(string)
	switch prev, dup := l.opIDs[id]; {
	case id == "":
		l.report("operation-operationId: %s has none", where)
	case dup:
		l.report("operation-operationId-unique: %q is used by %s and %s", id, prev, where)
	default:
		l.opIDs[id] = where
	}
	if s, _ := op["summary"].(string); strings.TrimSpace(s) == "" {
		l.report("operation-summary: %s has none", where)
	}
	opTags := asSlice(op["tags"])
	if len(opTags) == 0 {
		l.report("operation-tag-defined: %s has no tag", where)
	}
	for _, t := range opTags {
		if name, _ := t.(string); !tags[name] {
			l.report("operation-tag-defined: %s uses tag %q, which is not declared", where, name)
		}
	}
	has2xx := false
	for code := range asMap(op["responses"]) {
		if strings.HasPrefix(code, "2") || strings.HasPrefix(code, "3") {
			has2xx = true
		}
	}
	if !has2xx {
		l.report("operation-2xx-response: %s has no 2xx response", where)
	}
	security, hasSecurity := op["security"]
	if !hasSecurity && !rootSecurity {
		l.report("security-defined: %s does not say how it is secured (use [] for a public operation)", where)
	}
	for _, req := range asSlice(security) {
		for name := range asMap(req) {
			l.used["securitySchemes/"+name] = true
			if _, ok := schemes[name]; !ok {
				l.report("security-defined: %s uses the undeclared scheme %q", where, name)
			}
		}
	}

	// Parameters, the path item's and the operation's, references resolved.
	seen := map[string]bool{}
	declared := map[string]bool{}
	for _, p := range append(slices.Clone(shared), asSlice(op["parameters"])...) {
		param := asMap(l.resolve(p))
		name, _ := param["name"].(string)
		in, _ := param["in"].(string)
		if key := in + " " + name; seen[key] {
			l.report("operation-parameters-unique: %s declares %s parameter %q twice", where, in, name)
		} else {
			seen[key] = true
		}
		if in == "path" {
			declared[name] = true
			if required, _ := param["required"].(bool); !required {
				l.report("path-parameters-defined: %s: path parameter %q must be required", where, name)
			}
		}
	}
	if group != "paths" {
		return
	}
	inPath := map[string]bool{}
	for _, m := range pathParamPattern.FindAllStringSubmatch(path, -1) {
		inPath[m[1]] = true
		if !declared[m[1]] {
			l.report("path-parameters-defined: %s: {%s} is not a declared path parameter", where, m[1])
		}
	}
	for name := range declared {
		if !inPath[name] {
			l.report("path-parameters-defined: %s: path parameter %q is not in the path", where, name)
		}
	}
}

// dataKeywords hold JSON data, where a "$ref" key is not a reference.
var dataKeywords = map[string]bool{"const": true, "default": true, "enum": true, "example": true, "examples": true}

// references checks every local "$ref" below v and marks the components
// they reach as used.
func (l *linter) references(v any, at string) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if r, ok := child.(string); ok && k == "$ref" {
				l.reference(r, at)
				continue
			}
			if !dataKeywords[k] {
				l.references(child, at+"/"+k)
			}
		}
	case []any:
		for i, child := range v {
			l.references(child, fmt.Sprintf("%s/%d", at, i))
		}
	}
}

func (l *linter) reference(ref, at string) {
	if !strings.HasPrefix(ref, "#/") {
		return // an anchor or a reference into a schema's own $id resource
	}
	if _, ok := l.pointer(ref); !ok {
		l.report("no-unresolved-refs: %s at %s does not resolve", ref, at)
		return
	}
	parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
	if len(parts) >= 3 && parts[0] == "components" {
		l.used[parts[1]+"/"+unescapePointer(parts[2])] = true
	}
}

// resolve follows a local "$ref" object to its target.
func (l *linter) resolve(v any) any {
	if r, ok := asMap(v)["$ref"].(string); ok {
		if target, ok := l.pointer(r); ok {
			return target
		}
	}
	return v
}

// pointer resolves a "#/..." JSON pointer in the document.
func (l *linter) pointer(ref string) (any, bool) {
	var cur any = l.root
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		part = unescapePointer(part)
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[part]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i := -1
			if _, err := fmt.Sscanf(part, "%d", &i); err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func unescapePointer(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

func isMethod(k string) bool {
	switch k {
	case "get", "put", "post", "delete", "options", "head", "patch", "trace":
		return true
	}
	return false
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
