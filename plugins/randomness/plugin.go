// Package randomness is Metagov's demo plugin: it talks to no platform, so it
// shows every part of a plugin (config, initialization, instance state, typed
// actions, a governance process with a durable timer) with nothing else in
// the way. Copy it to start a new plugin.
//
// It offers two actions, set-lucky-number and random-int, and one process,
// delayed-stochastic-vote, which waits a number of minutes and then picks one
// of its options at random. Unlike the original, which polled every few
// minutes to see whether the vote was due, the process asks the gateway to
// wake it at its closing time.
package randomness

import (
	"context"
	"fmt"
	"reflect"

	"github.com/metagov/metagov-go/plugin"
)

func init() {
	plugin.Register(plugin.Info{
		Name:        "randomness",
		Description: "Demo plugin: random numbers, a lucky number in state and a vote decided by chance",
		AuthType:    plugin.AuthNone,
		Config:      configSchema,
		ConfigType:  reflect.TypeFor[Config](),
		New:         func() plugin.Instance { return &Randomness{} },
		Actions: []plugin.Action{
			{
				Name:        "set-lucky-number",
				Description: "Set lucky number",
				Input:       luckyNumberSchema,
				Output:      luckyNumberSchema,
				Run:         plugin.Bind((*Randomness).setLuckyNumber),
			},
			{
				Name:        "random-int",
				Description: "Get a random integer in range",
				Input:       randomIntInputSchema,
				Output:      randomIntOutputSchema,
				Run:         plugin.Bind((*Randomness).randomInt),
			},
		},
		Processes: []plugin.ProcessType{{
			Name:      "delayed-stochastic-vote",
			Input:     voteInputSchema,
			InputType: reflect.TypeFor[voteInput](),
			Outcome:   voteOutcomeSchema,
			// The vote needs nothing from the instance; a handler that does
			// would assert inst to *Randomness here and keep it.
			New: func(plugin.Instance) plugin.ProcessHandler { return vote{} },
		}},
	})
}

// configSchema matches the original: both bounds are required, so enabling the
// plugin without config is refused.
var configSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"default_low": {"type": "integer", "description": "Lowest value random-int returns when the caller gives no low."},
		"default_high": {"type": "integer", "description": "Exclusive upper bound random-int uses when the caller gives no high."}
	},
	"required": ["default_low", "default_high"]
}`)

// Config is the instance config. Its bounds are the defaults of random-int, so
// a driver can ask for a number without repeating the range every time.
type Config struct {
	// DefaultLow is the inclusive lower bound when the caller gives none.
	DefaultLow int64 `json:"default_low"`
	// DefaultHigh is the exclusive upper bound when the caller gives none.
	DefaultHigh int64 `json:"default_high"`
}

// Randomness is one enabled instance. It holds only its config: everything
// that must survive a restart lives in the instance or process state.
type Randomness struct {
	cfg Config
}

// Provision keeps the validated config, which the actions read on every call.
func (r *Randomness) Provision(_ context.Context, env plugin.Env) error {
	if err := env.DecodeConfig(&r.cfg); err != nil {
		return fmt.Errorf("provisioning randomness: %w", err)
	}
	return nil
}

// Initialize gives a newly enabled instance the lucky number 4, as the
// original did, so set-lucky-number always has something to replace.
func (r *Randomness) Initialize(_ context.Context, c *plugin.Call) error {
	if err := c.State().Set(luckyNumberKey, 4); err != nil {
		return fmt.Errorf("initializing lucky number: %w", err)
	}
	return nil
}

// The interface guards make the compiler check that the gateway will find the
// capabilities this package means to offer.
var (
	_ plugin.Provisioner    = (*Randomness)(nil)
	_ plugin.Initializer    = (*Randomness)(nil)
	_ plugin.ProcessHandler = vote{}
	_ plugin.ProcessWaker   = vote{}
	_ plugin.ProcessCloser  = vote{}
)
