package core

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/metagov/metagov-go/internal/secrets"
	"github.com/metagov/metagov-go/plugin"
)

// Redacted stands for a secret in API answers. Sent back unchanged in a
// config, it keeps the stored secret.
const Redacted = "********"

// secretPaths finds the config properties a schema marks "writeOnly": true,
// as paths of property names, "*" standing for every array item.
func secretPaths(schema any) [][]string {
	var out [][]string
	var walk func(s any, path []string)
	walk = func(s any, path []string) {
		m, ok := s.(map[string]any)
		if !ok {
			return
		}
		if w, _ := m["writeOnly"].(bool); w && len(path) > 0 {
			out = append(out, append([]string(nil), path...))
			return
		}
		if props, ok := m["properties"].(map[string]any); ok {
			for name, sub := range props {
				walk(sub, append(path, name))
			}
		}
		if items, ok := m["items"].(map[string]any); ok {
			walk(items, append(path, "*"))
		}
	}
	walk(schema, nil)
	sortPaths(out)
	return out
}

// sortPaths orders paths so that errors naming them are the same on every
// run (properties come from a map).
func sortPaths(paths [][]string) {
	slices.SortFunc(paths, func(a, b []string) int { return slices.Compare(a, b) })
}

// destinationPaths finds the config properties a schema marks with
// plugin.DestinationKeyword: those deciding where the secrets are sent. The
// keyword is honoured where "writeOnly" is (under "properties" and
// "items"); anywhere else it would be silently ignored, so it is an error,
// as is a value that is not a boolean.
func destinationPaths(schema any) ([][]string, error) {
	var out [][]string
	honoured := 0
	var walk func(s any, path []string) error
	walk = func(s any, path []string) error {
		m, ok := s.(map[string]any)
		if !ok {
			return nil
		}
		if v, ok := m[plugin.DestinationKeyword]; ok {
			mark, isBool := v.(bool)
			if !isBool || len(path) == 0 {
				return fmt.Errorf("%s must be true or false on a property, not %v at /%s", plugin.DestinationKeyword, v, strings.Join(path, "/"))
			}
			honoured++
			if mark {
				out = append(out, append([]string(nil), path...))
			}
		}
		if props, ok := m["properties"].(map[string]any); ok {
			for name, sub := range props {
				if err := walk(sub, append(path, name)); err != nil {
					return err
				}
			}
		}
		if items, ok := m["items"].(map[string]any); ok {
			return walk(items, append(path, "*"))
		}
		return nil
	}
	if err := walk(schema, nil); err != nil {
		return nil, err
	}
	sortPaths(out)
	if n := countKey(schema, plugin.DestinationKeyword); n != honoured {
		return nil, fmt.Errorf("%s is honoured only on properties reached through properties and items; %d of its uses are elsewhere",
			plugin.DestinationKeyword, n-honoured)
	}
	return out, nil
}

// countKey counts the objects anywhere in v that have key.
func countKey(v any, key string) int {
	n := 0
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x[key]; ok {
			n++
		}
		for _, sub := range x {
			n += countKey(sub, key)
		}
	case []any:
		for _, sub := range x {
			n += countKey(sub, key)
		}
	}
	return n
}

// eachSecret calls fn on every secret value present in doc and stores what
// it returns in its place.
func eachSecret(doc any, paths [][]string, fn func(path string, v any) (any, error)) error {
	var visit func(node any, path []string, at string) (any, error)
	visit = func(node any, path []string, at string) (any, error) {
		if len(path) == 0 {
			return fn(at, node)
		}
		switch n := node.(type) {
		case map[string]any:
			if path[0] == "*" {
				return node, nil
			}
			v, ok := n[path[0]]
			if !ok {
				return node, nil
			}
			nv, err := visit(v, path[1:], at+"/"+escapePointer(path[0]))
			if err != nil {
				return nil, err
			}
			n[path[0]] = nv
		case []any:
			if path[0] != "*" {
				return node, nil
			}
			for i := range n {
				nv, err := visit(n[i], path[1:], fmt.Sprintf("%s/%d", at, i))
				if err != nil {
					return nil, err
				}
				n[i] = nv
			}
		}
		return node, nil
	}
	for _, p := range paths {
		if _, err := visit(doc, p, ""); err != nil {
			return err
		}
	}
	return nil
}

// transformConfig applies fn to a config's secrets and returns the result.
func (t *pluginType) transformConfig(config json.RawMessage, fn func(path string, v any) (any, error)) (json.RawMessage, error) {
	if len(t.secrets) == 0 || len(config) == 0 {
		return config, nil
	}
	var doc any
	if err := unmarshalExact(config, &doc); err != nil {
		return nil, fmt.Errorf("decoding %s config: %w", t.info.Name, err)
	}
	if err := eachSecret(doc, t.secrets, fn); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

// sealConfig encrypts a config's secrets for storage.
func (g *Gateway) sealConfig(t *pluginType, plain json.RawMessage) (json.RawMessage, error) {
	if g.cfg.Secrets == nil {
		return plain, nil
	}
	return t.transformConfig(plain, func(_ string, v any) (any, error) {
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return g.cfg.Secrets.Seal(raw), nil
	})
}

// openConfig decrypts a stored config's secrets.
func (g *Gateway) openConfig(t *pluginType, stored json.RawMessage) (json.RawMessage, error) {
	return t.transformConfig(stored, func(path string, v any) (any, error) {
		s, ok := v.(string)
		if !ok || !secrets.IsSealed(s) {
			return v, nil
		}
		if g.cfg.Secrets == nil {
			return nil, fmt.Errorf("secret %s of %s is encrypted but no secret key is configured", path, t.info.Name)
		}
		raw, err := g.cfg.Secrets.Open(s)
		if err != nil {
			return nil, fmt.Errorf("decrypting %s of %s: %w", path, t.info.Name, err)
		}
		var out any
		return out, unmarshalExact(raw, &out)
	})
}

// redactConfig hides a config's secrets for API answers.
func (t *pluginType) redactConfig(plain json.RawMessage) json.RawMessage {
	out, err := t.transformConfig(plain, func(string, any) (any, error) { return Redacted, nil })
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return out
}

// restoreRedacted puts the stored secrets back where an incoming config
// carries the Redacted marker, so a driver can send back what it read. kept
// lists the JSON pointers of the secrets so restored.
func (t *pluginType) restoreRedacted(incoming, existingPlain json.RawMessage) (restored json.RawMessage, kept []string, err error) {
	var existing any
	if len(existingPlain) > 0 {
		_ = unmarshalExact(existingPlain, &existing)
	}
	restored, err = t.transformConfig(incoming, func(path string, v any) (any, error) {
		if s, ok := v.(string); !ok || s != Redacted {
			return v, nil
		}
		if old, ok := lookupPointer(existing, path); ok {
			kept = append(kept, path)
			return old, nil
		}
		return nil, &Error{Kind: KindInvalid, Code: "secret_required", Field: path,
			Detail: fmt.Sprintf("%s config: %s is the redaction marker %q and there is no stored secret to keep for it; send the secret itself", t.info.Name, path, Redacted)}
	})
	return restored, kept, err
}

// checkDestinations refuses a config that keeps stored secrets (kept) while
// changing a property that decides where they are sent: the secret would
// leave for a destination its owner never gave it. Both configs are
// validated, with their defaults filled in.
func (t *pluginType) checkDestinations(existingPlain, config json.RawMessage, kept []string) error {
	if len(kept) == 0 || len(t.destinations) == 0 {
		return nil
	}
	before, err := valuesAt(existingPlain, t.destinations)
	if err != nil {
		return err
	}
	after, err := valuesAt(config, t.destinations)
	if err != nil {
		return err
	}
	var moved []string
	for ptr, v := range after {
		if w, ok := before[ptr]; !ok || !reflect.DeepEqual(v, w) {
			moved = append(moved, ptr)
		}
	}
	for ptr := range before {
		if _, ok := after[ptr]; !ok {
			moved = append(moved, ptr)
		}
	}
	if len(moved) == 0 {
		return nil
	}
	slices.Sort(moved)
	return &Error{Kind: KindInvalid, Code: "secret_required", Field: kept[0],
		Detail: fmt.Sprintf("%s config: %s decides where the stored secrets are sent, and it changed; send %s again (not %q) to change it",
			t.info.Name, strings.Join(moved, ", "), strings.Join(kept, ", "), Redacted)}
}

// valuesAt collects the values of a config at paths, by JSON pointer.
func valuesAt(config json.RawMessage, paths [][]string) (map[string]any, error) {
	out := map[string]any{}
	if len(config) == 0 {
		return out, nil
	}
	var doc any
	if err := unmarshalExact(config, &doc); err != nil {
		return nil, fmt.Errorf("decoding config: %w", err)
	}
	err := eachSecret(doc, paths, func(path string, v any) (any, error) {
		out[path] = v
		return v, nil
	})
	return out, err
}

// lookupPointer finds the value at a JSON pointer built by eachSecret.
func lookupPointer(doc any, pointer string) (any, bool) {
	node := doc
	for _, tok := range splitPointer(pointer) {
		switch n := node.(type) {
		case map[string]any:
			v, ok := n[tok]
			if !ok {
				return nil, false
			}
			node = v
		case []any:
			var i int
			if _, err := fmt.Sscanf(tok, "%d", &i); err != nil || i < 0 || i >= len(n) {
				return nil, false
			}
			node = n[i]
		default:
			return nil, false
		}
	}
	return node, true
}

func splitPointer(p string) []string {
	if p == "" {
		return nil
	}
	var out []string
	cur := ""
	for i := 1; i < len(p); i++ {
		switch {
		case p[i] == '/':
			out = append(out, cur)
			cur = ""
		case p[i] == '~' && i+1 < len(p) && p[i+1] == '0':
			cur += "~"
			i++
		case p[i] == '~' && i+1 < len(p) && p[i+1] == '1':
			cur += "/"
			i++
		default:
			cur += string(p[i])
		}
	}
	return append(out, cur)
}
