package plugin_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/plugin"
)

type decodeTarget struct {
	Options []string   `json:"options"`
	Delay   int64      `json:"delay"`
	Small   int8       `json:"small"`
	Share   float64    `json:"share"`
	At      *time.Time `json:"at"`
	Nested  struct {
		Count int `json:"count"`
	} `json:"nested"`
}

// Plugin input is decoded exactly as the schema validator saw it: keys that
// differ from a field's name only by case or Unicode folding are unknown
// keys, not that field.
func TestUnmarshalMatchesKeysExactly(t *testing.T) {
	for _, body := range []string{
		`{"options": ["a"], "delay": 60, "optionſ": []}`, // ſ (U+017F) folds to s in encoding/json
		`{"options": ["a"], "delay": 60, "OPTIONS": []}`,
		`{"options": ["a"], "delay": 60, "Options": null}`,
	} {
		var in decodeTarget
		require.NoError(t, plugin.Unmarshal([]byte(body), &in), body)
		require.Equal(t, []string{"a"}, in.Options, body)
		require.EqualValues(t, 60, in.Delay, body)
	}
	var in decodeTarget
	require.NoError(t, plugin.Unmarshal([]byte(`{"DELAY": 5}`), &in))
	require.Zero(t, in.Delay, "a key in another case is not the field")
}

// Whatever the validator accepts but the Go field cannot hold exactly is an
// *InputError naming the field by JSON pointer.
func TestUnmarshalRefusesWhatGoCannotHold(t *testing.T) {
	tests := []struct {
		body, field, message string
	}{
		{`{"delay": 9223372036854775808}`, "/delay", "out of range"},
		{`{"delay": -9223372036854775809}`, "/delay", "out of range"},
		{`{"delay": 1e30}`, "/delay", "without a fraction or an exponent"},
		{`{"delay": -0.0}`, "/delay", "without a fraction or an exponent"},
		{`{"delay": 1.0}`, "/delay", "without a fraction or an exponent"},
		{`{"delay": 1.5}`, "/delay", "without a fraction or an exponent"},
		{`{"small": 300}`, "/small", "8-bit signed integer"},
		{`{"share": 1e400}`, "/share", "out of range"},
		{`{"nested": {"count": 1e3}}`, "/nested/count", "integer"},
		{`{"options": "a"}`, "/options", "must be an array, not a JSON string"},
		{`{"options": [1]}`, "/options/0", "must be a string, not a JSON number"},
		{`{"at": "tomorrow"}`, "/at", "RFC 3339"},
		{`{"delay": 1, "delay": 2}`, "/delay", "appears twice"},
		{"{\"options\": [\"\xff\"]}", "/options/0", "UTF-8"},
	}
	for _, tc := range tests {
		var in decodeTarget
		err := plugin.Unmarshal([]byte(tc.body), &in)
		var inputErr *plugin.InputError
		require.True(t, errors.As(err, &inputErr), "%s: %v", tc.body, err)
		require.Equal(t, tc.field, inputErr.Field, tc.body)
		require.Contains(t, inputErr.Message, tc.message, tc.body)
		require.NotContains(t, inputErr.Message, "1e400", "the value is not echoed")
	}
}

func TestUnmarshalKeepsValidInput(t *testing.T) {
	var in decodeTarget
	require.NoError(t, plugin.Unmarshal([]byte(`{"options":["a","b"],"delay":-9223372036854775808,"share":0.5,`+
		`"at":"2030-01-02T03:04:05Z","nested":{"count":3},"extra":{"x":[1,2]}}`), &in))
	require.Equal(t, []string{"a", "b"}, in.Options)
	require.EqualValues(t, -9223372036854775808, in.Delay)
	require.Equal(t, 0.5, in.Share)
	require.Equal(t, time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), in.At.UTC())
	require.Equal(t, 3, in.Nested.Count)
}

func TestMaxMinutesIsTenYears(t *testing.T) {
	require.EqualValues(t, 5_256_000, plugin.MaxMinutes)
}

// evenID refuses odd numbers in its own UnmarshalJSON.
type evenID int

func (e *evenID) UnmarshalJSON(b []byte) error {
	n, err := strconv.Atoi(string(b))
	if err != nil || n%2 != 0 {
		return errors.New("an even number is needed")
	}
	*e = evenID(n)
	return nil
}

// A type's own UnmarshalJSON error reaches the caller as an *InputError at
// the field, with the type's message.
func TestUnmarshalReportsCustomErrors(t *testing.T) {
	var in struct {
		IDs []evenID `json:"ids"`
	}
	err := plugin.Unmarshal([]byte(`{"ids": [2, 3]}`), &in)
	var inputErr *plugin.InputError
	require.True(t, errors.As(err, &inputErr), "%v", err)
	require.Equal(t, "/ids/1", inputErr.Field)
	require.Contains(t, inputErr.Message, "an even number is needed")
	require.NoError(t, plugin.Unmarshal([]byte(`{"ids": [2, 4]}`), &in))
	require.Equal(t, []evenID{2, 4}, in.IDs)
}
