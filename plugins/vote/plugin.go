// Package vote is the gateway's own voting engine: governance processes
// that need no external platform. A driver (or any platform relaying its
// users' choices) starts a vote.poll with the counting method and rules,
// casts ballots with the vote.cast action, and is told the outcome as
// ballots come in and at the close, like any other process. The counting is
// package tally; this package stores ballots, keeps the deadline with
// durable timers and closes the vote.
//
// One process type, vote.poll, takes a "method": single-choice, approval,
// ranked-choice (instant runoff), condorcet-schulze, condorcet-copeland,
// score, quadratic, weighted or consent. The rules are frozen into the
// process when it starts, so a later deploy cannot change how an open vote
// is counted.
package vote

import (
	"reflect"

	"github.com/metagov/metagov-go/plugin"
)

func init() {
	plugin.Register(plugin.Info{
		Name:        "vote",
		Description: "Votes counted by the gateway itself: single choice, approval, ranked choice, Condorcet, score, quadratic, weighted and consent",
		AuthType:    plugin.AuthNone,
		Config:      plugin.Schema(`{"type": "object", "properties": {}, "additionalProperties": false}`),
		New:         func() plugin.Instance { return &Vote{} },
		Actions: []plugin.Action{
			{
				Name:        "cast",
				Description: "Cast or change a ballot in a vote.poll",
				Input:       castInput,
				InputType:   reflect.TypeFor[castParams](),
				Output:      castOutput,
				RunProcess:  cast,
			},
			{
				Name:        "export",
				Description: "Export a vote.poll's rules, ballots, outcome and digest, for `metagov tally`; or page through its ballots",
				Input:       exportInput,
				InputType:   reflect.TypeFor[exportParams](),
				RunProcess:  export,
			},
		},
		Processes: []plugin.ProcessType{{
			Name:        "poll",
			Description: "A vote counted by the gateway, closing at closing_at (or after duration_minutes)",
			Input:       pollInput,
			InputType:   reflect.TypeFor[pollParams](),
			New:         func(plugin.Instance) plugin.ProcessHandler { return poll{} },
		}},
		Events: []plugin.EventType{{
			Type:        "closing_soon",
			Description: "A vote.poll closes in closing_soon_minutes",
			Schema:      plugin.Schema(`{"type": "object", "properties": {"process_id": {"type": "integer"}, "closes_at": {"type": "string"}, "title": {"type": "string"}}}`),
		}},
	})
}

// Vote is a community's voting engine. It has no config: everything a vote
// needs is in its rules, and its running count is in the process state.
type Vote struct{}

// Interface guards.
var (
	_ plugin.ProcessHandler  = poll{}
	_ plugin.ProcessCloser   = poll{}
	_ plugin.ProcessWaker    = poll{}
	_ plugin.ProcessExporter = poll{}
	_ plugin.Instance        = (*Vote)(nil)
)
