package tally

import (
	"encoding/json"
	"errors"
	"strconv"
)

// scanner reads the few JSON shapes a ballot may take (a string, a list of
// strings, an object of numbers) without reflection: a tally parses every
// ballot, a million of them in the benchmarks, and encoding/json's generic
// decoding would cost more than the counting itself. It is strict: what it
// accepts is valid JSON.
type scanner struct {
	s []byte
	i int
}

func (p *scanner) skip() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (p *scanner) peek() byte {
	p.skip()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// eat consumes c if it comes next.
func (p *scanner) eat(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

// atEnd reports whether only spaces remain.
func (p *scanner) atEnd() bool {
	p.skip()
	return p.i == len(p.s)
}

// str reads a JSON string. Without escapes, the result aliases the input
// (a map lookup with string(b) then allocates nothing).
func (p *scanner) str() ([]byte, bool) {
	if p.peek() != '"' {
		return nil, false
	}
	start := p.i + 1
	for j := start; j < len(p.s); j++ {
		switch c := p.s[j]; {
		case c == '"':
			p.i = j + 1
			return p.s[start:j], true
		case c == '\\':
			return p.escapedStr()
		case c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// escapedStr finds the end of a string with escapes and lets encoding/json
// decode it, the rare case.
func (p *scanner) escapedStr() ([]byte, bool) {
	for j := p.i + 1; j < len(p.s); j++ {
		switch p.s[j] {
		case '\\':
			j++
		case '"':
			var s string
			if json.Unmarshal(p.s[p.i:j+1], &s) != nil {
				return nil, false
			}
			p.i = j + 1
			return []byte(s), true
		}
	}
	return nil, false
}

// num reads a JSON number. Plain integers of up to 15 digits, the usual
// case, are read exactly by hand; the other forms (5.0, 1e3) by strconv,
// huge ones becoming ±Inf for the caller's range check.
func (p *scanner) num() (float64, bool) {
	p.skip()
	s, start, i := p.s, p.i, p.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	d := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == d || (s[d] == '0' && i-d > 1) {
		return 0, false
	}
	simple := i-d <= 15
	if i < len(s) && s[i] == '.' {
		i, simple = digits(s, i+1), false
		if i < 0 {
			return 0, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		i, simple = digits(s, i), false
		if i < 0 {
			return 0, false
		}
	}
	p.i = i
	if simple {
		var v int64
		for _, c := range s[d:i] {
			v = v*10 + int64(c-'0')
		}
		if s[start] == '-' {
			v = -v
		}
		return float64(v), true
	}
	f, err := strconv.ParseFloat(string(s[start:i]), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return f, true
}

// digits skips one or more digits from i, returning -1 if there are none.
func digits(s []byte, i int) int {
	d := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == d {
		return -1
	}
	return i
}

// slotOf places a name in a 256-slot table by its length and three of its
// bytes, cheaper than hashing it all.
func slotOf(b []byte) uint8 {
	n := len(b)
	if n == 0 {
		return 0
	}
	h := uint32(n)*0x9E3779B1 ^ uint32(b[0])<<16 ^ uint32(b[n/2])<<8 ^ uint32(b[n-1])
	return uint8((h * 0x85EBCA6B) >> 24)
}

// find looks an option name up. A slot that only one option fills settles
// it with one comparison, about four times faster than the map, which
// counts at ten lookups a ballot; names that share a slot go to the map.
func (p *parser) find(name []byte) (int, bool) {
	switch s := p.slots[slotOf(name)]; {
	case s > 0:
		return int(s - 1), string(name) == p.opts[s-1]
	case s < 0:
		i, ok := p.index[string(name)]
		return i, ok
	}
	return 0, false
}
