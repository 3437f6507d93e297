package plugin

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// MaxDuration bounds every span of time a plugin accepts from a caller (a
// delay, a vote's duration, a closing time counted from now): ten years of
// 365 days. Past it, time.Duration arithmetic comes close to overflowing
// (it holds about 292 years) and no governance process means it.
const MaxDuration = 10 * 365 * 24 * time.Hour

// MaxMinutes is MaxDuration in minutes (5,256,000), for "maximum" in the
// schemas of inputs given in minutes, so the OpenAPI document shows the
// bound.
const MaxMinutes = int64(MaxDuration / time.Minute)

// Unmarshal decodes JSON input that the gateway validated against a schema
// (action parameters, process inputs, configs) into v, exactly as the
// validator saw it. Unlike encoding/json it matches object keys to struct
// fields case-sensitively, so a key the schema did not know, such as
// "Options" or "optionſ" beside "options", can never overwrite a field the
// schema checked; it refuses duplicate keys and invalid UTF-8; and a number
// that the Go field cannot hold exactly (2^63 or 1e30 in an int64, 1.5 or
// 1.0 in an int) is an error. Every error is an [*InputError] whose Field is
// the JSON pointer of the culprit, so the caller gets a 400 that says where.
//
// Bind, Env.DecodeConfig and Process.DecodeInput use it; call it yourself
// for other input, such as the parameters of a RunProcess action.
func Unmarshal(data []byte, v any) error {
	if err := jsonv2.Unmarshal(data, v); err != nil {
		return inputError(err)
	}
	return nil
}

// inputError describes a decoding failure for the caller, without echoing
// the offending value (it may be a megabyte of digits).
func inputError(err error) *InputError {
	var (
		semantic  *jsonv2.SemanticError
		syntactic *jsontext.SyntacticError
	)
	switch {
	case errors.As(err, &semantic):
		field := string(semantic.JSONPointer)
		return &InputError{Field: field, Message: describeSemantic(field, semantic)}
	case errors.As(err, &syntactic):
		field := string(syntactic.JSONPointer)
		if errors.Is(syntactic.Err, jsontext.ErrDuplicateName) {
			return &InputError{Field: field, Message: fmt.Sprintf("the key %s appears twice", quotedOrRoot(field))}
		}
		return &InputError{Field: field, Message: "invalid JSON: " + syntactic.Err.Error()}
	}
	return &InputError{Message: "invalid input: " + err.Error()}
}

func describeSemantic(field string, e *jsonv2.SemanticError) string {
	where := quotedOrRoot(field)
	t := e.GoType
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// The numbers' own errors; anything else comes from a type's own
	// UnmarshalJSON, whose message is the one to show.
	numeric := e.Err == nil || errors.Is(e.Err, strconv.ErrRange) || errors.Is(e.Err, strconv.ErrSyntax)
	switch {
	case t == nil:
	case !numeric && t != reflect.TypeFor[time.Time]():
	case t == reflect.TypeFor[time.Time]():
		return fmt.Sprintf("%s must be an RFC 3339 date-time string", where)
	case e.JSONKind == '0' && isInteger(t):
		if errors.Is(e.Err, strconv.ErrRange) {
			return fmt.Sprintf("%s is out of range: it must fit in a %d-bit %s", where, t.Bits(), signedness(t))
		}
		return fmt.Sprintf("%s must be an integer written without a fraction or an exponent", where)
	case e.JSONKind == '0' && (t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64):
		return fmt.Sprintf("%s is out of range for a %d-bit floating-point number", where, t.Bits())
	case e.Err == nil && e.JSONKind != 0:
		// No underlying error: the JSON kind does not fit the Go type.
		return fmt.Sprintf("%s must be %s, not a JSON %s", where, expected(t), e.JSONKind)
	}
	if e.Err != nil {
		// A type's own UnmarshalJSON refused the value, for instance.
		return fmt.Sprintf("%s is invalid: %v", where, e.Err)
	}
	return fmt.Sprintf("%s is invalid", where)
}

func isInteger(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// expected names the JSON a Go type decodes from, for error messages.
func expected(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[time.Time]() {
		return "an RFC 3339 date-time string"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another kind of value"
}

func signedness(t reflect.Type) string {
	if t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64 {
		return "unsigned integer"
	}
	return "signed integer"
}

func quotedOrRoot(pointer string) string {
	if pointer == "" {
		return "the value"
	}
	return "'" + pointer + "'"
}
