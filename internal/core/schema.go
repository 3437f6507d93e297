package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var errorPrinter = message.NewPrinter(language.English)

// schema is a compiled JSON Schema together with its raw form, which the
// default filler walks.
type schema struct {
	compiled *jsonschema.Schema
	raw      any
}

// compileSchema compiles a plugin schema (draft 2020-12 unless it says
// otherwise). A nil schema compiles to nil, which accepts anything.
func compileSchema(name string, raw json.RawMessage) (*schema, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing schema %s: %w", name, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	url := "metagov:///" + name
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("loading schema %s: %w", name, err)
	}
	compiled, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("compiling schema %s: %w", name, err)
	}
	return &schema{compiled: compiled, raw: doc}, nil
}

// decodeJSON decodes a document the way the validator expects it (numbers as
// json.Number, so integers stay exact), refusing numbers the validator must
// not see (see checkNumbers).
func decodeJSON(raw []byte) (any, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	if err := checkNumbers(doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// Bounds on the JSON numbers the validator sees. It compares numbers as
// exact rationals: 1e1000000 costs it about 100 ms of CPU (a body full of
// them, minutes), and 1e3000000 makes it panic. No value this API holds
// comes near: float64 ends at 1.8e308.
const (
	maxNumberExponent = 1000
	maxNumberLength   = 1000
)

// numberError is a JSON number outside those bounds, at Field.
type numberError struct{ Field string }

func (e *numberError) Error() string {
	where := "the document"
	if e.Field != "" {
		where = "'" + e.Field + "'"
	}
	return fmt.Sprintf("the number at %s is out of any range this API accepts (more than %d characters, or an exponent beyond ±%d)",
		where, maxNumberLength, maxNumberExponent)
}

// checkNumbers refuses a document holding a number beyond those bounds,
// naming where. The path is built only for the number refused: building
// it for every value cost 4 % of a process start's CPU.
func checkNumbers(doc any) error {
	path, bad := badNumber(doc)
	if !bad {
		return nil
	}
	slices.Reverse(path)
	return &numberError{Field: slashPointer(path)}
}

// badNumber finds a number beyond the bounds in doc and returns its path,
// innermost token first.
func badNumber(doc any) ([]string, bool) {
	switch v := doc.(type) {
	case map[string]any:
		for k, x := range v {
			if path, bad := badNumber(x); bad {
				return append(path, k), true
			}
		}
	case []any:
		for i, x := range v {
			if path, bad := badNumber(x); bad {
				return append(path, strconv.Itoa(i)), true
			}
		}
	case json.Number:
		lit := string(v)
		if len(lit) > maxNumberLength {
			return nil, true
		}
		if i := strings.IndexAny(lit, "eE"); i >= 0 {
			exp, err := strconv.Atoi(lit[i+1:])
			if err != nil || exp > maxNumberExponent || exp < -maxNumberExponent {
				return nil, true
			}
		}
	}
	return nil, false
}

// invalidJSON is the caller's error for a document decodeJSON refused;
// what names it ("the parameters", "randomness config").
func invalidJSON(code Code, what string, err error) *Error {
	var ne *numberError
	if errors.As(err, &ne) {
		return &Error{Kind: KindInvalid, Code: code, Field: ne.Field, Detail: what + ": " + ne.Error()}
	}
	return &Error{Kind: KindInvalid, Code: code, Detail: what + " is not valid JSON: " + err.Error()}
}

// storableText reports whether s can be stored in a text column of every
// supported database: PostgreSQL refuses invalid UTF-8 and NUL characters.
func storableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// storableJSON reports whether raw can be stored in a jsonb column: valid
// JSON, valid UTF-8, no lone surrogate escapes, no NUL characters (the
// API refuses these in request bodies; webhook bodies are raw). If not, it
// returns the JSON pointer of the culprit.
func storableJSON(raw []byte) (string, bool) {
	if len(raw) == 0 {
		return "", true
	}
	dec := jsontext.NewDecoder(bytes.NewReader(raw), jsontext.AllowDuplicateNames(true))
	for {
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			return "", true
		}
		if err != nil {
			var se *jsontext.SyntacticError
			if errors.As(err, &se) {
				return string(se.JSONPointer), false
			}
			return "", false
		}
		if tok.Kind() == '"' && strings.ContainsRune(tok.String(), 0) {
			return string(dec.StackPointer()), false
		}
	}
}

// unmarshalExact decodes JSON into v (an *any or a map) the way decodeJSON
// does: numbers stay json.Number, so a config re-encoded after its secrets
// were sealed or restored keeps every digit (2^53+1 stays odd) and a number
// no float64 holds (1e400) is not an error but left for validation to judge.
func unmarshalExact(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("more than one JSON value")
	}
	return nil
}

// fieldError is one schema violation: where and what.
type fieldError struct {
	Field   string // a JSON pointer into the document, "" for the root
	Message string
}

// validate checks doc and returns every violation, in the order the
// validator reports them (the schema's keyword order).
func (s *schema) validate(doc any) []fieldError {
	if s == nil {
		return nil
	}
	err := s.compiled.Validate(doc)
	if err == nil {
		return nil
	}
	ve, ok := errors.AsType[*jsonschema.ValidationError](err)
	if !ok {
		return []fieldError{{Message: err.Error()}}
	}
	var out []fieldError
	collectLeaves(ve, &out)
	return out
}

func collectLeaves(ve *jsonschema.ValidationError, out *[]fieldError) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			collectLeaves(c, out)
		}
		return
	}
	loc := slashPointer(ve.InstanceLocation)
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			*out = append(*out, fieldError{Field: loc + "/" + escapePointer(m), Message: fmt.Sprintf("'%s' is a required property", m)})
		}
		return
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			*out = append(*out, fieldError{Field: loc + "/" + escapePointer(p), Message: fmt.Sprintf("additional property '%s' is not allowed", p)})
		}
		return
	}
	*out = append(*out, fieldError{Field: loc, Message: ve.ErrorKind.LocalizedString(errorPrinter)})
}

func slashPointer(tokens []string) string {
	var sb strings.Builder
	for _, t := range tokens {
		sb.WriteByte('/')
		sb.WriteString(escapePointer(t))
	}
	return sb.String()
}

// pointerEscaper escapes a JSON pointer token (RFC 6901). Built once: a
// Replacer is safe for concurrent use, and building one per token cost 3 %
// of a process start's CPU.
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func escapePointer(tok string) string {
	return pointerEscaper.Replace(tok)
}

// describe renders violations as one sentence for an error's detail.
func describe(errs []fieldError) string {
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		if e.Field == "" {
			parts = append(parts, e.Message)
		} else {
			parts = append(parts, fmt.Sprintf("at '%s': %s", e.Field, e.Message))
		}
	}
	return strings.Join(parts, "; ")
}

// applyDefaults fills in "default" values from the schema into doc, the way
// the original Metagov did: for every property of an object schema that has
// a default and is absent from the object, including required ones, then
// recursively into present objects, array items and allOf branches. It
// never invents an object that is absent.
func (s *schema) applyDefaults(doc any) {
	if s != nil {
		fillDefaults(s.raw, doc)
	}
}

func fillDefaults(sch, doc any) {
	sm, ok := sch.(map[string]any)
	if !ok {
		return
	}
	if all, ok := sm["allOf"].([]any); ok {
		for _, sub := range all {
			fillDefaults(sub, doc)
		}
	}
	switch d := doc.(type) {
	case map[string]any:
		props, _ := sm["properties"].(map[string]any)
		for name, propSchema := range props {
			ps, ok := propSchema.(map[string]any)
			if !ok {
				continue
			}
			if _, present := d[name]; !present {
				if def, has := ps["default"]; has {
					d[name] = deepCopy(def)
				}
			}
			if v, present := d[name]; present {
				fillDefaults(ps, v)
			}
		}
	case []any:
		if items, ok := sm["items"].(map[string]any); ok {
			for _, v := range d {
				fillDefaults(items, v)
			}
		}
	}
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = deepCopy(x)
		}
		return s
	default:
		return v
	}
}
