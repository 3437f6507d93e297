package revshare

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/metagov/metagov-go/plugin"
)

// DefaultKey is the key actions use when the caller names none, as in the
// original.
const DefaultKey = "_DEFAULT"

// stateKeyPrefix prefixes a revshare key in the instance state, so that the
// caller's keys can never collide with anything else the plugin stores.
const stateKeyPrefix = "pointers/"

// maxPointers bounds the pointers of one key: a page picks among a handful,
// and the bound keeps the sum of weights within a uint64.
const maxPointers = 1000

// maxWeight is the largest weight, the largest integer a JSON number holds
// exactly in every language; 1000 of them sum to less than 2^63.
const maxWeight = 1<<53 - 1

// The parameter schemas keep the original's: additionalProperties false and
// the same required names; weights and sizes are bounded (see the package
// doc).
var (
	addPointerInputSchema = plugin.Schema(fmt.Sprintf(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"pointer": {"type": "string", "minLength": 1, "maxLength": 2048, "description": "A payment pointer, such as $wallet.example.com/alice."},
		"weight": {"type": "integer", "minimum": 0, "maximum": %d, "description": "The pointer's share, relative to the other pointers' weights."},
		"key": {"type": "string", "maxLength": 200, "description": "Which configuration to change; default _DEFAULT."}
	},
	"required": ["pointer", "weight"]
}`, maxWeight))
	removePointerInputSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"pointer": {"type": "string", "maxLength": 2048, "description": "The payment pointer to remove; absent ones are ignored."},
		"key": {"type": "string", "maxLength": 200, "description": "Which configuration to change; default _DEFAULT."}
	},
	"required": ["pointer"]
}`)
	replaceConfigInputSchema = plugin.Schema(fmt.Sprintf(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"pointers": {"type": "object", "maxProperties": %d,
			"propertyNames": {"minLength": 1, "maxLength": 2048},
			"additionalProperties": {"type": "integer", "minimum": 0, "maximum": %d},
			"description": "The new configuration: payment pointer to weight."},
		"key": {"type": "string", "maxLength": 200, "description": "Which configuration to replace; default _DEFAULT."}
	},
	"required": ["pointers"]
}`, maxPointers, maxWeight))
	keyInputSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"key": {"type": "string", "maxLength": 200, "description": "Which configuration to read; default _DEFAULT."}
	}
}`)
	pointersOutputSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": {"type": "integer", "minimum": 0},
	"description": "The configuration: payment pointer to weight, in the order the pointers were added."
}`)
	pickPointerOutputSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"pointer": {"type": "string"}
	},
	"required": ["pointer"]
}`)
)

type addPointerParams struct {
	Pointer string `json:"pointer"`
	Weight  uint64 `json:"weight"`
	Key     string `json:"key"`
}

type removePointerParams struct {
	Pointer string `json:"pointer"`
	Key     string `json:"key"`
}

type replaceConfigParams struct {
	Pointers Pointers `json:"pointers"`
	Key      string   `json:"key"`
}

type keyParams struct {
	Key string `json:"key"`
}

type pickResult struct {
	Pointer string `json:"pointer"`
}

// Weighted is one payment pointer with its weight.
type Weighted struct {
	Pointer string `json:"pointer"`
	Weight  uint64 `json:"weight"`
}

// Pointers is a configuration: pointers in the order they were added. In
// JSON it is an object from pointer to weight, written in that order.
type Pointers []Weighted

// MarshalJSON writes the object in order; nil is {}.
func (p Pointers) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, w := range p {
		if i > 0 {
			b.WriteByte(',')
		}
		name, err := json.Marshal(w.Pointer)
		if err != nil {
			return nil, err
		}
		b.Write(name)
		fmt.Fprintf(&b, ":%d", w.Weight)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads an object from pointer to weight, keeping its order.
// The schema has checked the weights; duplicate names were refused before.
func (p *Pointers) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("pointers must be an object")
	}
	out := Pointers{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("reading pointers: %w", err)
		}
		name, _ := tok.(string)
		var weight uint64
		if err := dec.Decode(&weight); err != nil {
			return fmt.Errorf("the weight of %q must be a non-negative integer", name)
		}
		out = out.with(name, weight)
	}
	*p = out
	return nil
}

// with returns p with pointer's weight set, in place when it is there
// already, else at the end.
func (p Pointers) with(pointer string, weight uint64) Pointers {
	for i := range p {
		if p[i].Pointer == pointer {
			p[i].Weight = weight
			return p
		}
	}
	return append(p, Weighted{Pointer: pointer, Weight: weight})
}

// keyOf returns the caller's key, or the default.
func keyOf(key *string) string {
	if key == nil || *key == "" {
		return DefaultKey
	}
	return *key
}

// load reads a key's pointers; a key never set has none. The state holds
// them as an array of {pointer, weight}: PostgreSQL's JSONB would not keep
// the order of an object's names.
func load(ctx context.Context, c *plugin.Call, key string) (Pointers, error) {
	var stored []Weighted
	if _, err := c.State().Get(ctx, stateKeyPrefix+key, &stored); err != nil {
		return nil, err
	}
	return append(Pointers{}, stored...), nil
}

func store(c *plugin.Call, key string, p Pointers) error {
	return c.State().Set(stateKeyPrefix+key, []Weighted(p))
}

func (r *RevShare) addPointer(ctx context.Context, c *plugin.Call, in addPointerParams) (Pointers, error) {
	key := keyOf(&in.Key)
	p, err := load(ctx, c, key)
	if err != nil {
		return nil, err
	}
	p = p.with(in.Pointer, in.Weight)
	if len(p) > maxPointers {
		return nil, &plugin.InputError{Field: "/pointer", Message: fmt.Sprintf("key %s already has %d pointers, the most it may hold", key, maxPointers)}
	}
	return p, store(c, key, p)
}

func (r *RevShare) removePointer(ctx context.Context, c *plugin.Call, in removePointerParams) (Pointers, error) {
	key := keyOf(&in.Key)
	p, err := load(ctx, c, key)
	if err != nil {
		return nil, err
	}
	out := Pointers{}
	for _, w := range p {
		if w.Pointer != in.Pointer {
			out = append(out, w)
		}
	}
	return out, store(c, key, out)
}

func (r *RevShare) replaceConfig(_ context.Context, c *plugin.Call, in replaceConfigParams) (Pointers, error) {
	key := keyOf(&in.Key)
	if in.Pointers == nil {
		in.Pointers = Pointers{}
	}
	return in.Pointers, store(c, key, in.Pointers)
}

func (r *RevShare) getConfig(ctx context.Context, c *plugin.Call, in keyParams) (Pointers, error) {
	return load(ctx, c, keyOf(&in.Key))
}

// pickPointer draws a pointer with probability weight/sum, as Web
// Monetization's probabilistic revenue sharing describes: a uniform integer
// below the sum, then the first pointer whose running total exceeds it.
// Pointers of weight 0 are never drawn.
func (r *RevShare) pickPointer(ctx context.Context, c *plugin.Call, in keyParams) (pickResult, error) {
	key := keyOf(&in.Key)
	p, err := load(ctx, c, key)
	if err != nil {
		return pickResult{}, err
	}
	var sum uint64
	for _, w := range p {
		sum += w.Weight
	}
	if sum == 0 {
		// The original's words, capital included.
		msg := "No pointers for key " + key
		return pickResult{}, fmt.Errorf("%s: %w", msg, plugin.ErrNotFound)
	}
	draw := rand.Uint64N(sum)
	for _, w := range p {
		if draw < w.Weight {
			return pickResult{Pointer: w.Pointer}, nil
		}
		draw -= w.Weight
	}
	panic("revshare: the draw fell outside the sum of weights") // unreachable: draw < sum
}
