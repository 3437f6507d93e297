package tally

import (
	"slices"
	"strconv"
)

// normalize writes a parsed ballot in its one stored form, so that equal
// ballots are equal bytes (and digest alike): approvals in rules order,
// rankings in ballot order, score ballots with every option (unscored ones
// at score_min), quadratic and weighted ballots in rules order without
// zeros.
func (p *parser) normalize(c *choice) []byte {
	var b []byte
	switch p.r.Method {
	case SingleChoice, Consent:
		return appendString(b, p.opts[c.idx[0]])
	case Approval, RankedChoice, CondorcetSchulze, CondorcetCopeland:
		idx := c.idx
		if p.r.Method == Approval {
			idx = slices.Sorted(slices.Values(idx))
		}
		b = append(b, '[')
		for k, i := range idx {
			if k > 0 {
				b = append(b, ',')
			}
			b = appendString(b, p.opts[i])
		}
		return append(b, ']')
	}
	vals := make([]float64, len(p.opts))
	given := make([]bool, len(p.opts))
	for k, i := range c.idx {
		vals[i], given[i] = c.val[k], true
	}
	b = append(b, '{')
	for i, o := range p.opts {
		v := vals[i]
		if p.r.Method == Score && !given[i] {
			v = float64(p.r.ScoreMin)
		} else if p.r.Method != Score && v == 0 {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = appendString(b, o)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(v), 10)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string, escaping only what JSON
// requires (quote, backslash, control characters), so the form is easy to
// reproduce elsewhere. s is valid UTF-8 (option names are checked).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
