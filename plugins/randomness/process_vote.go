package randomness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// voteInputSchema: at least one option, so that close always has a winner,
// and a delay that cannot lie in the past.
var voteInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"options": {"type": "array", "items": {"type": "string"}, "minItems": 1, "description": "The options, one of which wins."},
		"delay": {"type": "integer", "minimum": 0, "maximum": ` + maxDelay + `, "description": "Minutes until the vote closes, at most ten years."}
	},
	"required": ["options", "delay"]
}`)

// maxDelay is plugin.MaxMinutes, the SDK's bound on any span a caller gives.
var maxDelay = strconv.FormatInt(plugin.MaxMinutes, 10)

// voteOutcomeSchema: the outcome is {} while the vote is pending.
var voteOutcomeSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"winner": {"type": "string", "description": "The option chosen at random when the vote closed."}
	}
}`)

// Process state keys of the vote.
const (
	optionsKey   = "options"
	closingAtKey = "closing_at"
)

// voteInput is the start parameters of delayed-stochastic-vote.
type voteInput struct {
	Options []string `json:"options"`
	Delay   int64    `json:"delay"` // minutes
}

// voteOutcome is the outcome of a closed vote.
type voteOutcome struct {
	Winner string `json:"winner,omitempty"`
}

// vote runs one delayed-stochastic-vote. It keeps nothing in memory: the
// gateway builds a new handler for every step, and the options and closing
// time live in the process state.
type vote struct{}

// Start records the options and the closing time and asks to be woken then.
// The vote stays pending with an empty outcome until it closes, as in the
// original, even when the delay is zero.
func (vote) Start(_ context.Context, c *plugin.Call, p *plugin.Process) error {
	var in voteInput
	if err := p.DecodeInput(&in); err != nil {
		return fmt.Errorf("starting stochastic vote: %w", err)
	}
	// The schema bounds the delay too; checked again here because a delay
	// past about 292 years overflows time.Duration and would close the vote
	// at once.
	if in.Delay < 0 || in.Delay > plugin.MaxMinutes {
		return &plugin.InputError{Field: "/delay", Message: fmt.Sprintf("delay must be from 0 to %d minutes (ten years)", plugin.MaxMinutes)}
	}
	closingAt := c.Now().UTC().Add(time.Duration(in.Delay) * time.Minute)
	if err := p.State().Set(optionsKey, in.Options); err != nil {
		return fmt.Errorf("starting stochastic vote: %w", err)
	}
	if err := p.State().Set(closingAtKey, closingAt); err != nil {
		return fmt.Errorf("starting stochastic vote: %w", err)
	}
	p.SetStatus(plugin.StatusPending)
	if err := p.SetOutcome(voteOutcome{}); err != nil {
		return fmt.Errorf("starting stochastic vote: %w", err)
	}
	p.WakeAt(closingAt)
	return nil
}

// Wake closes the vote once it is due. A wake-up that comes early (the
// gateway only promises "at or after", and a clock may step back) schedules
// another one instead of closing ahead of time.
func (v vote) Wake(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	if p.Status() != plugin.StatusPending {
		return nil
	}
	var closingAt time.Time
	found, err := p.State().Get(ctx, closingAtKey, &closingAt)
	if err != nil {
		return fmt.Errorf("waking stochastic vote: %w", err)
	}
	if !found {
		return fmt.Errorf("waking stochastic vote: no %s in process state", closingAtKey)
	}
	if c.Now().Before(closingAt) {
		p.WakeAt(closingAt)
		return nil
	}
	return v.Close(ctx, c, p)
}

// Close picks the winner uniformly at random and completes the vote. It runs
// when the vote is due or when the driver closes it early. Closing a
// completed vote changes nothing, so the winner is drawn only once.
func (vote) Close(ctx context.Context, _ *plugin.Call, p *plugin.Process) error {
	if p.Status() == plugin.StatusCompleted {
		return nil
	}
	var options []string
	found, err := p.State().Get(ctx, optionsKey, &options)
	if err != nil {
		return fmt.Errorf("closing stochastic vote: %w", err)
	}
	if !found || len(options) == 0 {
		return fmt.Errorf("closing stochastic vote: no options in process state")
	}
	winner := options[rand.IntN(len(options))]
	if err := p.SetOutcome(voteOutcome{Winner: winner}); err != nil {
		return fmt.Errorf("closing stochastic vote: %w", err)
	}
	p.Complete()
	return nil
}
