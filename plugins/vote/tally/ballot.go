package tally

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"
)

// Ballot is one voter's ballot as stored. Choice is the method's JSON shape
// (see the package documentation), best stored as CheckBallot normalized it.
type Ballot struct {
	Voter    string          `json:"voter"`
	Choice   json.RawMessage `json:"choice"`
	Revision int             `json:"revision,omitempty"` // 0 for the first ballot, then 1, 2… as the voter changes it
	CastAt   time.Time       `json:"cast_at,omitzero"`
}

// choice is a parsed ballot: option indices in ballot order and, for the
// methods that give options numbers, the numbers beside them.
type choice struct {
	idx []int
	val []float64
}

// parser checks ballots against one set of rules; Tally builds one and
// reuses it (and one choice) for every ballot, so parsing allocates nothing.
type parser struct {
	r     *Rules
	opts  []string
	index map[string]int
	slots [256]int16 // see find
	seen  []int      // seen[o] = stamp when o already appeared in the current ballot
	where []int      // … at this position (for the error message)
	stamp int
}

func newParser(r *Rules) *parser {
	opts := r.options()
	p := &parser{r: r, opts: opts, index: make(map[string]int, len(opts)), seen: make([]int, len(opts)), where: make([]int, len(opts))}
	for i, o := range opts {
		p.index[o] = i
		switch s := &p.slots[slotOf([]byte(o))]; *s {
		case 0:
			*s = int16(i + 1)
		default:
			*s = -1
		}
	}
	return p
}

// CheckBallot validates a voter's ballot against the rules and returns it
// normalized (compact, options in rules order where order carries no
// meaning, score ballots completed with score_min), the form to store. The
// error is a *FieldError naming the culprit: "/voter", "/ballot" or a part
// such as "/ballot/2" (list position) or "/ballot/a" (object key).
func (r Rules) CheckBallot(voter string, raw json.RawMessage) (json.RawMessage, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if voter == "" {
		return nil, fieldErr("/voter", "the voter id is empty")
	}
	if len(r.Eligible) > 0 && !slices.Contains(r.Eligible, voter) {
		return nil, fieldErr("/voter", "voter %q is not eligible to vote", voter)
	}
	p := newParser(&r)
	var c choice
	if err := p.parse(raw, &c); err != nil {
		return nil, err
	}
	return p.normalize(&c), nil
}

// parse reads one ballot into c.
func (p *parser) parse(raw []byte, c *choice) *FieldError {
	c.idx, c.val = c.idx[:0], c.val[:0]
	p.stamp++
	s := scanner{s: raw}
	var err *FieldError
	switch p.r.Method {
	case SingleChoice:
		err = p.one(&s, c, "a single-choice ballot is the name of one option")
	case Consent:
		err = p.one(&s, c, `a consent ballot is one of "agree", "abstain", "disagree", "block"`)
	case Approval, RankedChoice, CondorcetSchulze, CondorcetCopeland:
		err = p.list(&s, c)
	default:
		err = p.object(&s, c)
	}
	if err == nil && !s.atEnd() {
		err = fieldErr("/ballot", "unexpected data after the ballot")
	}
	if err == nil {
		err = p.budget(c)
	}
	return err
}

func (p *parser) one(s *scanner, c *choice, shape string) *FieldError {
	name, ok := s.str()
	if !ok {
		return fieldErr("/ballot", "%s", shape)
	}
	i, ok := p.find(name)
	if !ok {
		return fieldErr("/ballot", "%q is not one of the options; %s", name, shape)
	}
	c.idx = append(c.idx, i)
	return nil
}

// list reads an approval or a ranking: option names, each at most once.
func (p *parser) list(s *scanner, c *choice) *FieldError {
	shape := "an approval ballot is a list of option names"
	if p.r.Method != Approval {
		shape = "a ranked ballot is a list of option names, most preferred first"
	}
	if !s.eat('[') {
		return fieldErr("/ballot", "%s", shape)
	}
	if s.eat(']') {
		return nil
	}
	for k := 0; ; k++ {
		f := func() string { return fmt.Sprintf("/ballot/%d", k) }
		name, ok := s.str()
		if !ok {
			return fieldErr(f(), "%s", shape)
		}
		i, ok := p.find(name)
		if !ok {
			return fieldErr(f(), "%q is not one of the options", name)
		}
		if p.seen[i] == p.stamp {
			return fieldErr(f(), "%q is listed twice (also at /ballot/%d)", name, p.where[i])
		}
		p.seen[i], p.where[i] = p.stamp, k
		c.idx = append(c.idx, i)
		if s.eat(']') {
			return nil
		}
		if !s.eat(',') {
			return fieldErr("/ballot", "%s", shape)
		}
	}
}

// object reads a score, quadratic or weighted ballot: option → whole number.
func (p *parser) object(s *scanner, c *choice) *FieldError {
	shape := objectShape(p.r.Method)
	if !s.eat('{') {
		return fieldErr("/ballot", "%s", shape)
	}
	if s.eat('}') {
		return nil
	}
	for {
		name, ok := s.str()
		if !ok {
			return fieldErr("/ballot", "%s", shape)
		}
		f := func() string { return "/ballot/" + pointerEscaper.Replace(string(name)) }
		i, ok := p.find(name)
		if !ok {
			return fieldErr(f(), "%q is not one of the options", name)
		}
		if p.seen[i] == p.stamp {
			return fieldErr(f(), "%q is given twice", name)
		}
		p.seen[i] = p.stamp
		if !s.eat(':') {
			return fieldErr("/ballot", "%s", shape)
		}
		v, ok := s.num()
		if !ok {
			return fieldErr(f(), "must be a number")
		}
		if err := p.value(v); err != "" {
			return fieldErr(f(), "%s", err)
		}
		c.idx, c.val = append(c.idx, i), append(c.val, v)
		if s.eat('}') {
			return nil
		}
		if !s.eat(',') {
			return fieldErr("/ballot", "%s", shape)
		}
	}
}

// objectShape describes an object ballot, for errors.
func objectShape(m Method) string {
	switch m {
	case Score:
		return "a score ballot is an object of option → score"
	case Quadratic:
		return "a quadratic ballot is an object of option → votes (negative against)"
	}
	return "a weighted ballot is an object of option → points"
}

// value checks one number of an object ballot, returning what is wrong.
func (p *parser) value(v float64) string {
	r := p.r
	switch {
	case math.IsInf(v, 0):
		return "is out of range"
	case v != math.Trunc(v):
		return fmt.Sprintf("%v is not a whole number", v)
	case r.Method == Score && (v < float64(r.ScoreMin) || v > float64(r.ScoreMax)):
		return fmt.Sprintf("score %v is outside the range [%d, %d]", v, r.ScoreMin, r.ScoreMax)
	case r.Method == Weighted && v < 0:
		return fmt.Sprintf("points must not be negative (got %v)", v)
	case r.Method == Weighted && v > float64(r.Points):
		return fmt.Sprintf("%v points exceed the budget of %d", v, r.Points)
	case r.Method == Quadratic && v*v > float64(r.Credits):
		return fmt.Sprintf("%v votes cost %v credits, over the budget of %d", v, v*v, r.Credits)
	}
	return ""
}

// budget checks what a whole quadratic or weighted ballot spends.
func (p *parser) budget(c *choice) *FieldError {
	var sum float64
	switch p.r.Method {
	case Quadratic:
		for _, v := range c.val {
			sum += v * v
		}
		if sum > float64(p.r.Credits) {
			return fieldErr("/ballot", "the votes cost %v credits (the sum of their squares), over the budget of %d", sum, p.r.Credits)
		}
	case Weighted:
		for _, v := range c.val {
			sum += v
		}
		if sum > float64(p.r.Points) {
			return fieldErr("/ballot", "the ballot allocates %v points, over the budget of %d", sum, p.r.Points)
		}
	}
	return nil
}
