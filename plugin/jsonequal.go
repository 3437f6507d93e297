package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// JSONEqual reports whether two JSON documents have the same value: the order
// of an object's keys, whitespace and the spelling of a number (1, 1.0, 1e0)
// aside. Numbers are compared exactly, not as float64, so two ids past 2^53
// that differ in their last digit differ. A document that is not valid JSON
// equals only its own bytes.
//
// The gateway uses it to tell whether a process's outcome or an instance's
// config changed; a plugin may use it to tell whether what a platform sent
// changed (serialisers order keys as they please).
func JSONEqual(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	va, okA := decodeExact(a)
	vb, okB := decodeExact(b)
	return okA && okB && sameJSON(va, vb)
}

// decodeExact decodes one JSON document, keeping numbers as their text.
func decodeExact(data []byte) (any, bool) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, false
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, false // more than one value
	}
	return v, true
}

// sameJSON compares values decodeExact returned.
func sameJSON(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, va := range a {
			vb, ok := b[k]
			if !ok || !sameJSON(va, vb) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameJSON(a[i], b[i]) {
				return false
			}
		}
		return true
	case json.Number:
		b, ok := b.(json.Number)
		return ok && canonicalNumber(string(a)) == canonicalNumber(string(b))
	default: // string, bool or nil
		return a == b
	}
}

// canonicalNumber writes a JSON number as its significant digits and a
// decimal exponent ("-12e3"), so that numbers of one value are written
// alike; it works on the text, so a huge exponent costs nothing.
func canonicalNumber(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	mantissa, exponent, hasExp := strings.Cut(strings.ToLower(s), "e")
	exp := 0
	if hasExp {
		var err error
		if exp, err = strconv.Atoi(exponent); err != nil {
			return sign + s // an exponent past int: compared as written
		}
	}
	whole, frac, _ := strings.Cut(mantissa, ".")
	digits := whole + frac
	exp -= len(frac)
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return "0" // -0 is 0
	}
	trimmed := strings.TrimRight(digits, "0")
	exp += len(digits) - len(trimmed)
	return sign + trimmed + "e" + strconv.Itoa(exp)
}
