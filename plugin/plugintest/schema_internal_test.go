package plugintest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type inner struct {
	Name  string `json:"name"`
	Shade string `json:"shade"`
}

type outer struct {
	inner                  // embedded: its fields are the object's
	Shade   int            `json:"shade"` // shadows inner.Shade
	Count   int64          `json:"count,string"`
	When    time.Time      `json:"when"`
	Extra   map[string]int `json:"extra"`
	Raw     json.RawMessage
	skipped int
	Ignored string `json:"-"`
}

type expenseID struct{ s string }

func (e *expenseID) UnmarshalJSON(b []byte) error { e.s = string(b); return nil }

type withOpaque struct {
	ID expenseID `json:"id"`
}

// TestCompareSchemaType checks the comparison rules on the shapes plugins
// use: embedded and shadowed fields, the string option, time, maps,
// opaque types, oneOf, $ref and required properties of results.
func TestCompareSchemaType(t *testing.T) {
	_ = outer{}.skipped
	tests := []struct {
		name   string
		schema string
		typ    reflect.Type
		dir    direction
		want   []string // fragments, one problem each; none means agreement
	}{
		{
			name: "agreement",
			schema: `{"type": "object", "properties": {"name": {"type": "string"}, "shade": {"type": "integer"},
				"count": {"type": "string"}, "when": {"type": "string", "format": "date-time"},
				"extra": {"type": "object", "additionalProperties": {"type": "integer"}}, "Raw": {}}}`,
			typ: reflect.TypeFor[outer](),
		},
		{
			name: "shadowed field keeps the outer type",
			schema: `{"type": "object", "properties": {"name": {"type": "string"}, "shade": {"type": "string"},
				"count": {"type": "string"}, "when": {"type": "string"}, "extra": {"type": "object"}, "Raw": {}}}`,
			typ:  reflect.TypeFor[outer](),
			want: []string{"/shade: the schema allows a JSON string but the Go type int"},
		},
		{
			name:   "map values checked",
			schema: `{"type": "object", "properties": {"name": {}, "shade": {"type": "integer"}, "count": {"type": "string"}, "when": {"type": "string"}, "extra": {"type": "object", "additionalProperties": {"type": "number"}}, "Raw": {}}}`,
			typ:    reflect.TypeFor[outer](),
			want:   []string{"/extra/*: the schema allows a JSON number but the Go type int", "/name: the schema accepts any JSON value"},
		},
		{
			name:   "opaque types decode themselves",
			schema: `{"type": "object", "properties": {"id": {"type": ["string", "integer"]}}}`,
			typ:    reflect.TypeFor[withOpaque](),
		},
		{
			name: "oneOf and $ref",
			schema: `{"$defs": {"n": {"type": "string"}}, "type": "object", "properties": {"name": {"$ref": "#/$defs/n"}},
				"oneOf": [{"properties": {"shade": {"type": "string"}}}, {"required": ["name"]}]}`,
			typ: reflect.TypeFor[inner](),
		},
		{
			name:   "a $ref to the wrong type",
			schema: `{"$defs": {"n": {"type": "boolean"}}, "type": "object", "properties": {"name": {"$ref": "#/$defs/n"}, "shade": {"type": "string"}}}`,
			typ:    reflect.TypeFor[inner](),
			want:   []string{"/name: the schema allows a JSON boolean but the Go type string"},
		},
		{
			name:   "required result field tagged omitempty",
			schema: `{"type": "object", "properties": {"v": {"type": "integer"}}, "required": ["v"]}`,
			typ: reflect.TypeFor[struct {
				V int `json:"v,omitempty"`
			}](),
			dir:  encoding_,
			want: []string{"/v: the schema requires \"v\" but the field"},
		},
		{
			name:   "result written as a type the schema refuses",
			schema: `{"type": "object", "properties": {"v": {"type": "string"}}}`,
			typ: reflect.TypeFor[struct {
				V float64 `json:"v"`
			}](),
			dir:  encoding_,
			want: []string{"/v: the Go type float64 is written as JSON integer or number but the schema allows only string"},
		},
		{
			name:   "an integer result fits a number",
			schema: `{"type": "object", "properties": {"v": {"type": "number"}}}`,
			typ: reflect.TypeFor[struct {
				V int `json:"v"`
			}](),
			dir: encoding_,
		},
		{
			name:   "closed schema and a field it refuses",
			schema: `{"type": "object", "additionalProperties": false, "properties": {"name": {"type": "string"}}}`,
			typ:    reflect.TypeFor[inner](),
			want:   []string{"/shade: the field plugintest.inner.Shade (JSON \"shade\") is not in the schema, whose additionalProperties is false"},
		},
		{
			name:   "array items",
			schema: `{"type": "array", "items": {"type": "object", "properties": {"name": {"type": "integer"}, "shade": {"type": "string"}}}}`,
			typ:    reflect.TypeFor[[]inner](),
			want:   []string{"/*/name: the schema allows a JSON integer but the Go type string"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, doc, err := compileSchema("test", json.RawMessage(tt.schema))
			require.NoError(t, err)
			got := compareSchemaType(doc, tt.typ, tt.dir)
			require.Len(t, got, len(tt.want), strings.Join(got, "\n"))
			for i, frag := range tt.want {
				require.Contains(t, got[i], frag)
			}
		})
	}
}

func TestSecretLike(t *testing.T) {
	for name, want := range map[string]bool{
		"api_key": true, "access_token": true, "webhook_secret": true, "password": true, "apiKey": true, "clientSecret": true,
		"token_url": false, "signature_header": false, "key_id": false, "api_username": false, "webhook_slug": false,
		"tolerance_seconds": false, "monkey": false,
	} {
		require.Equal(t, want, secretLike(name), name)
	}
}
