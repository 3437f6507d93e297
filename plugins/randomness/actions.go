package randomness

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/metagov/metagov-go/plugin"
)

// luckyNumberKey is the instance state key of the lucky number.
const luckyNumberKey = "lucky_number"

// luckyNumberSchema is both the input and the output of set-lucky-number,
// which echoes what it stored.
var luckyNumberSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"lucky_number": {"type": "integer"}
	},
	"required": ["lucky_number"]
}`)

// randomIntInputSchema leaves both bounds optional; absent ones come from
// the config.
var randomIntInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"low": {"type": "integer", "description": "Lowest possible value; defaults to the config's default_low."},
		"high": {"type": "integer", "description": "Exclusive upper bound; defaults to the config's default_high."}
	}
}`)

// randomIntOutputSchema is the result of random-int.
var randomIntOutputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"value": {"type": "integer"}
	},
	"required": ["value"]
}`)

// luckyNumber is the input and output of set-lucky-number.
type luckyNumber struct {
	LuckyNumber int64 `json:"lucky_number"`
}

// randomIntParams are the parameters of random-int. The bounds are pointers
// so that an absent bound can be told from zero and take the config default.
type randomIntParams struct {
	Low  *int64 `json:"low"`  // inclusive
	High *int64 `json:"high"` // exclusive
}

// randomIntResult is the result of random-int, a value in [low, high-1].
type randomIntResult struct {
	Value int64 `json:"value"`
}

// setLuckyNumber stores the lucky number in instance state and echoes it, so
// the driver sees what was stored.
func (r *Randomness) setLuckyNumber(_ context.Context, c *plugin.Call, in luckyNumber) (luckyNumber, error) {
	if err := c.State().Set(luckyNumberKey, in.LuckyNumber); err != nil {
		return luckyNumber{}, fmt.Errorf("storing lucky number: %w", err)
	}
	return in, nil
}

// randomInt returns a uniformly random integer in [low, high-1]. An empty
// range is the caller's mistake, so it answers 400 instead of the original's
// 500.
func (r *Randomness) randomInt(_ context.Context, _ *plugin.Call, in randomIntParams) (randomIntResult, error) {
	low, high := r.cfg.DefaultLow, r.cfg.DefaultHigh
	if in.Low != nil {
		low = *in.Low
	}
	if in.High != nil {
		high = *in.High
	}
	if low >= high {
		return randomIntResult{}, &plugin.InputError{
			Field:   "/high",
			Message: fmt.Sprintf("high (%d) must be greater than low (%d)", high, low),
		}
	}
	return randomIntResult{Value: between(low, high)}, nil
}

// between returns a uniformly random integer in [low, high-1], low < high.
// It works in uint64 so that a range wider than the largest int64, such as
// [-2^63, 2^63-1), does not overflow.
func between(low, high int64) int64 {
	span := uint64(high) - uint64(low)
	return low + int64(rand.Uint64N(span))
}
