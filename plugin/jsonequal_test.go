package plugin_test

import (
	"testing"

	"github.com/metagov/metagov-go/plugin"
)

func TestJSONEqual(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{`{"a":1,"b":[1,2]}`, `{"a":1,"b":[1,2]}`, true},
		{`{"a":1,"b":[1,2]}`, ` { "b" : [1, 2], "a" : 1 } `, true},
		{`{"a":1}`, `{"a":1.0}`, true},
		{`{"a":100}`, `{"a":1e2}`, true},
		{`{"a":1.5}`, `{"a":15E-1}`, true},
		{`0`, `-0.0`, true},
		{`null`, `null`, true},
		{`{"a":1}`, `{"a":2}`, false},
		{`{"a":1}`, `{"a":"1"}`, false},
		{`{"a":1}`, `{"a":1,"b":null}`, false},
		{`[1,2]`, `[2,1]`, false},
		{`{"a":true}`, `{"a":false}`, false},
		{`-1`, `1`, false},
		// Past 2^53, float64 would take these for one number.
		{`{"id":1234567890123456789}`, `{"id":1234567890123456788}`, false},
		{`{"id":1234567890123456789}`, `{"id":1234567890123456789.0}`, true},
		{`1e999999999999999999999`, `1e999999999999999999998`, false},
		// Not JSON: equal to its own bytes only.
		{`{"a":`, `{"a":`, true},
		{`{"a":`, `{"a": `, false},
		{`{} {}`, `{}`, false},
		{`{}`, ``, false},
	} {
		if got := plugin.JSONEqual([]byte(c.a), []byte(c.b)); got != c.want {
			t.Errorf("JSONEqual(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := plugin.JSONEqual([]byte(c.b), []byte(c.a)); got != c.want {
			t.Errorf("JSONEqual(%s, %s) = %v, want %v", c.b, c.a, got, c.want)
		}
	}
}
