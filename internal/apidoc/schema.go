package apidoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// obj is a hand-written schema or object literal.
type obj = map[string]any

// ref points at a component schema.
func ref(name string) obj { return obj{"$ref": schemaPointer(name)} }

func schemaPointer(name string) string { return "#/components/schemas/" + name }

// str is a string schema with a description, the most common literal.
func str(description string) obj { return obj{"type": "string", "description": description} }

// anyValue is the schema every JSON value satisfies; it stands for a plugin
// schema the plugin left nil where the value need not be an object.
func anyValue() obj { return obj{} }

// anyObject stands for a nil schema where the value is a parameters or
// config object. additionalProperties is spelled out because generators
// read a bare {"type": "object"} as an object with no properties at all
// (openapi-typescript makes it Record<string, never>).
func anyObject() obj { return obj{"type": "object", "additionalProperties": true} }

// openObject is an object of any properties, with a description.
func openObject(description string) obj {
	o := anyObject()
	if description != "" {
		o["description"] = description
	}
	return o
}

// prepareSchema decodes a plugin's schema for embedding under
// components.schemas/<name>. The result is the plugin's schema with two
// changes, both needed for it to mean the same thing inside the document:
//
//   - a top-level "$schema" is removed: the OpenAPI 3.1 default dialect
//     already includes JSON Schema 2020-12, and some tools reject the
//     keyword inside a document (declaring jsonSchemaDialect instead makes
//     Swagger UI refuse the document);
//   - local references ("#/$defs/x", "#") are rebased onto the component
//     ("#/components/schemas/<name>/$defs/x"). A fragment reference resolves
//     against the document it is in, so left alone it would point at the
//     OpenAPI document's root. Schemas with their own "$id" are left as they
//     are, because their references resolve against that id.
//
// Numbers are kept as written (json.Number). A nil or JSON null schema
// becomes fallback; the boolean schemas true and false become {} and
// {"not": {}}, which mean the same and which every tool accepts.
func prepareSchema(raw json.RawMessage, name string, fallback obj) (any, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return fallback, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("schema %s is not valid JSON: %w", name, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("schema %s has data after the JSON value", name)
	}
	switch s := v.(type) {
	case bool:
		if s {
			return obj{}, nil
		}
		return obj{"not": obj{}}, nil
	case map[string]any:
		delete(s, "$schema")
		if _, hasID := s["$id"]; !hasID {
			rebaseRefs(s, schemaPointer(name))
		}
		return s, nil
	default:
		return nil, fmt.Errorf("schema %s must be a JSON object or boolean, not %s", name, jsonKind(v))
	}
}

// Keywords whose value is one subschema, a list of subschemas, or a map of
// names to subschemas. Other keywords ("const", "default", "enum",
// "examples", unknown annotations) hold data, so a "$ref" inside them is
// not a reference and must not be rewritten.
var (
	singleSchemaKeywords = map[string]bool{
		"items": true, "additionalItems": true, "additionalProperties": true,
		"unevaluatedProperties": true, "unevaluatedItems": true, "contains": true,
		"propertyNames": true, "not": true, "if": true, "then": true, "else": true,
		"contentSchema": true,
	}
	schemaListKeywords = map[string]bool{
		"allOf": true, "anyOf": true, "oneOf": true, "prefixItems": true,
		"items": true, // draft-07 tuple form
	}
	schemaMapKeywords = map[string]bool{
		"properties": true, "patternProperties": true, "$defs": true,
		"definitions": true, "dependentSchemas": true,
	}
)

// rebaseRefs rewrites fragment references in schema s (in place) so that
// they resolve from base instead of from the document root.
func rebaseRefs(s any, base string) {
	m, ok := s.(map[string]any)
	if !ok {
		return
	}
	for k, v := range m {
		switch {
		case k == "$ref" || k == "$dynamicRef":
			if r, ok := v.(string); ok {
				m[k] = rebaseRef(r, base)
			}
		case schemaMapKeywords[k]:
			if named, ok := v.(map[string]any); ok {
				for _, sub := range named {
					rebaseSubschema(sub, base)
				}
			}
		case schemaListKeywords[k] || singleSchemaKeywords[k]:
			if list, ok := v.([]any); ok {
				for _, sub := range list {
					rebaseSubschema(sub, base)
				}
			} else {
				rebaseSubschema(v, base)
			}
		}
	}
}

// rebaseSubschema descends into a subschema unless it starts a new schema
// resource with its own "$id".
func rebaseSubschema(s any, base string) {
	if m, ok := s.(map[string]any); ok {
		if _, hasID := m["$id"]; hasID {
			return
		}
	}
	rebaseRefs(s, base)
}

// rebaseRef rewrites "#" and "#/pointer" references; anchors ("#name"),
// relative and absolute URIs are left alone.
func rebaseRef(r, base string) string {
	switch {
	case r == "#":
		return base
	case len(r) > 1 && r[0] == '#' && r[1] == '/':
		return base + r[1:]
	}
	return r
}

// jsonKind names the JSON type of a decoded value for error messages.
func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
