package plugintest

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileSchema compiles a schema as the gateway does (draft 2020-12 unless
// it says otherwise). A nil schema compiles to nil.
func compileSchema(name string, raw json.RawMessage) (*jsonschema.Schema, any, error) {
	if len(raw) == 0 {
		return nil, nil, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("is not JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	url := "plugintest:///" + name
	if err := c.AddResource(url, doc); err != nil {
		return nil, nil, fmt.Errorf("does not load: %w", err)
	}
	compiled, err := c.Compile(url)
	if err != nil {
		return nil, nil, fmt.Errorf("does not compile: %w", err)
	}
	return compiled, doc, nil
}

// direction says which way values cross a schema/type pair: parameters
// are decoded from JSON into the type, results encoded from it.
type direction int

const (
	decoding  direction = iota // JSON → Go (action parameters, process inputs)
	encoding_                  // Go → JSON (action results)
)

// pairCheck compares one schema with the Go type its values are decoded into
// or encoded from, collecting every disagreement.
type pairCheck struct {
	root     any // the whole schema, for local $refs
	dir      direction
	problems []string
	// ignoreTop are top-level properties another party handles (the
	// process_id of a RunProcess action, which the gateway reads).
	ignoreTop map[string]bool
}

// compareSchemaType reports where a schema and a Go type disagree: a
// property without a field, a field without a property, a JSON type the Go
// type cannot hold (or, for results, a Go type whose JSON the schema
// refuses), and, for results, a required property that a Go field omits
// when empty.
func compareSchemaType(doc any, t reflect.Type, dir direction, ignoreTop ...string) []string {
	pc := &pairCheck{root: doc, dir: dir, ignoreTop: map[string]bool{}}
	for _, p := range ignoreTop {
		pc.ignoreTop[p] = true
	}
	pc.check(doc, t, "", 0)
	return pc.problems
}

func (pc *pairCheck) fail(path, format string, args ...any) {
	where := path
	if where == "" {
		where = "(root)"
	}
	pc.problems = append(pc.problems, where+": "+fmt.Sprintf(format, args...))
}

var (
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	jsontextType    = reflect.TypeFor[jsontext.Value]()
	timeType        = reflect.TypeFor[time.Time]()
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
	v2Unmarshaler   = reflect.TypeFor[jsonv2.UnmarshalerFrom]()
	v2Marshaler     = reflect.TypeFor[jsonv2.MarshalerTo]()
	maxDepth        = 64 // nesting bound, against recursive types
)

// opaque reports whether t decodes or encodes itself (or is raw JSON), so
// its shape cannot be read from its fields.
func opaque(t reflect.Type, dir direction) bool {
	if t == rawMessageType || t == jsontextType || t.Kind() == reflect.Interface {
		return true
	}
	pt := reflect.PointerTo(t)
	if dir == decoding {
		return pt.Implements(jsonUnmarshaler) || pt.Implements(v2Unmarshaler) ||
			(pt.Implements(textUnmarshaler) && t != timeType)
	}
	return t.Implements(jsonMarshaler) || pt.Implements(jsonMarshaler) || t.Implements(v2Marshaler) ||
		((t.Implements(textMarshaler) || pt.Implements(textMarshaler)) && t != timeType)
}

// resolve follows a local "$ref" ("#/$defs/x") to the schema it names.
func (pc *pairCheck) resolve(s map[string]any) map[string]any {
	for range 16 {
		ref, _ := s["$ref"].(string)
		if !strings.HasPrefix(ref, "#") {
			return s
		}
		cur := pc.root
		for _, tok := range strings.Split(strings.TrimPrefix(ref, "#"), "/")[1:] {
			tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
			m, _ := cur.(map[string]any)
			cur = m[tok]
		}
		next, _ := cur.(map[string]any)
		if next == nil {
			return s
		}
		s = next
	}
	return s
}

// branches are the schema itself and the subschemas of its allOf, anyOf
// and oneOf, whose properties all describe the same value.
func (pc *pairCheck) branches(s map[string]any) []map[string]any {
	out := []map[string]any{s}
	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := s[kw].([]any)
		for _, b := range list {
			if m, ok := b.(map[string]any); ok {
				out = append(out, pc.branches(pc.resolve(m))...)
			}
		}
	}
	return out
}

// jsonTypes are the JSON types a schema allows ("integer" included in
// "number"'s sense is kept apart), nil when it does not say.
func jsonTypes(branches []map[string]any) []string {
	var out []string
	for _, b := range branches {
		switch v := b["type"].(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					out = append(out, s)
				}
			}
		}
		if _, ok := b["properties"]; ok {
			out = append(out, "object")
		}
		if _, ok := b["items"]; ok {
			out = append(out, "array")
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// goJSONTypes are the JSON types a Go type is written as and read from.
func goJSONTypes(t reflect.Type, stringOption bool) []string {
	if t == timeType {
		return []string{"string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		if stringOption {
			return []string{"string"}
		}
		return []string{"boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if stringOption {
			return []string{"string"}
		}
		return []string{"integer"}
	case reflect.Float32, reflect.Float64:
		if stringOption {
			return []string{"string"}
		}
		return []string{"integer", "number"}
	case reflect.String:
		return []string{"string"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return []string{"string"} // base64
		}
		return []string{"array"}
	case reflect.Array:
		return []string{"array"}
	case reflect.Map, reflect.Struct:
		return []string{"object"}
	}
	return nil
}

func (pc *pairCheck) check(node any, t reflect.Type, path string, depth int) {
	pc.checkOpt(node, t, path, depth, false)
}

// checkOpt compares the schema node with t at path; stringOption is the
// field's ",string" tag option.
func (pc *pairCheck) checkOpt(node any, t reflect.Type, path string, depth int, stringOption bool) {
	if depth > maxDepth {
		return
	}
	s, ok := node.(map[string]any)
	if !ok {
		return // true, false or nothing: any value
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if opaque(t, pc.dir) {
		return
	}
	branches := pc.branches(pc.resolve(s))
	types := jsonTypes(branches)
	if len(types) == 0 {
		if pc.dir == decoding {
			pc.fail(path, "the schema accepts any JSON value but the Go type %s holds only %s", t, strings.Join(goJSONTypes(t, stringOption), " or "))
		}
		return
	}
	goTypes := goJSONTypes(t, stringOption)
	if goTypes == nil {
		pc.fail(path, "the Go type %s has no JSON form", t)
		return
	}
	switch pc.dir {
	case decoding:
		// Every value the schema lets through must decode.
		for _, jt := range types {
			if jt != "null" && !slices.Contains(goTypes, jt) {
				pc.fail(path, "the schema allows a JSON %s but the Go type %s cannot hold one (it holds %s)", jt, t, strings.Join(goTypes, " or "))
			}
		}
	case encoding_:
		// Every value the type produces must be allowed.
		allowed := func(jt string) bool {
			return slices.Contains(types, jt) || (jt == "integer" && slices.Contains(types, "number"))
		}
		if !slices.ContainsFunc(goTypes, allowed) {
			pc.fail(path, "the Go type %s is written as JSON %s but the schema allows only %s", t, strings.Join(goTypes, " or "), strings.Join(types, ", "))
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		if t != timeType {
			pc.object(branches, t, path, depth)
		}
	case reflect.Map:
		for _, b := range branches {
			if props, ok := b["properties"].(map[string]any); ok {
				for name, sub := range props {
					pc.check(sub, t.Elem(), path+"/"+escape(name), depth+1)
				}
			}
			if ap, ok := b["additionalProperties"]; ok {
				pc.check(ap, t.Elem(), path+"/*", depth+1)
			}
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return
		}
		for _, b := range branches {
			if items, ok := b["items"]; ok {
				pc.check(items, t.Elem(), path+"/*", depth+1)
			}
		}
	}
}

// object compares an object schema's properties with a struct's fields.
func (pc *pairCheck) object(branches []map[string]any, t reflect.Type, path string, depth int) {
	props := map[string]any{}
	required := map[string]bool{}
	closed := false
	for _, b := range branches {
		if m, ok := b["properties"].(map[string]any); ok {
			for k, v := range m {
				if _, dup := props[k]; !dup {
					props[k] = v
				}
			}
		}
		if ap, ok := b["additionalProperties"].(bool); ok && !ap {
			closed = true
		}
	}
	// Only the schema's own "required" binds; its branches' are
	// alternatives (oneOf: [{required: [a]}, {required: [b]}]).
	if list, ok := branches[0]["required"].([]any); ok {
		for _, r := range list {
			if s, ok := r.(string); ok {
				required[s] = true
			}
		}
	}
	fields := structFields(t)
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f, ok := fields[name]
		if !ok {
			if depth == 0 && pc.ignoreTop[name] {
				continue
			}
			if pc.dir == decoding {
				pc.fail(path+"/"+escape(name), "the schema has property %q but %s has no field for it (a field's JSON name is its json tag, matched case-sensitively)", name, t)
			} else {
				pc.fail(path+"/"+escape(name), "the schema has property %q but %s never writes it", name, t)
			}
			continue
		}
		pc.checkOpt(props[name], f.typ, path+"/"+escape(name), depth+1, f.stringOption)
		if pc.dir == encoding_ && required[name] && f.omitted {
			pc.fail(path+"/"+escape(name), "the schema requires %q but the field %s.%s is tagged omitempty or omitzero, so an empty value breaks the schema", name, t, f.goName)
		}
	}
	fieldNames := make([]string, 0, len(fields))
	for name := range fields {
		fieldNames = append(fieldNames, name)
	}
	sort.Strings(fieldNames)
	for _, name := range fieldNames {
		if _, ok := props[name]; ok {
			continue
		}
		f := fields[name]
		switch {
		case pc.dir == decoding && closed:
			pc.fail(path+"/"+escape(name), "the field %s.%s (JSON %q) is not in the schema, whose additionalProperties is false: no caller can ever set it", t, f.goName, name)
		case pc.dir == decoding:
			pc.fail(path+"/"+escape(name), "the field %s.%s (JSON %q) is not in the schema: it is read unchecked and undocumented", t, f.goName, name)
		case closed:
			pc.fail(path+"/"+escape(name), "the field %s.%s (JSON %q) is written but the schema, whose additionalProperties is false, refuses it", t, f.goName, name)
		default:
			pc.fail(path+"/"+escape(name), "the field %s.%s (JSON %q) is written but the schema does not document it", t, f.goName, name)
		}
	}
}

// field is one JSON member of a struct.
type field struct {
	goName       string
	typ          reflect.Type
	depth        int  // how many embedded structs deep
	omitted      bool // omitempty or omitzero
	stringOption bool // numbers and booleans as JSON strings
}

// structFields lists a struct's JSON members as encoding/json v2 (which
// plugin.Unmarshal uses) names them: the json tag's name or the Go name,
// "-" skipped, unexported fields skipped, embedded structs without a name
// and fields tagged inline flattened into their parent. Of two fields with
// one name, the shallower wins, as in encoding/json.
func structFields(t reflect.Type) map[string]field {
	out := map[string]field{}
	var walk func(t reflect.Type, depth int)
	walk = func(t reflect.Type, depth int) {
		if depth > 8 {
			return
		}
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			options := strings.Split(opts, ",")
			ft := sf.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && (slices.Contains(options, "inline") || (sf.Anonymous && name == "")) {
				walk(ft, depth+1)
				continue
			}
			if !sf.IsExported() || slices.Contains(options, "unknown") {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if len(name) >= 2 && strings.HasPrefix(name, "'") && strings.HasSuffix(name, "'") {
				name = name[1 : len(name)-1]
			}
			if prev, dup := out[name]; dup && prev.depth <= depth {
				continue
			}
			out[name] = field{
				goName:       sf.Name,
				typ:          sf.Type,
				depth:        depth,
				omitted:      slices.Contains(options, "omitempty") || slices.Contains(options, "omitzero"),
				stringOption: slices.Contains(options, "string"),
			}
		}
	}
	walk(t, 0)
	return out
}

// escape escapes a property name for a JSON pointer (RFC 6901).
func escape(name string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(name)
}
