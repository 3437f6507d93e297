package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/metagov/metagov-go/internal/pluginrt/hook"
)

// Status is where a process is in its life.
type Status string

// Process statuses. A process starts created, is pending while it runs and
// ends completed; it never leaves completed.
const (
	StatusCreated   Status = "created"
	StatusPending   Status = "pending"
	StatusCompleted Status = "completed"
)

// Process is a running governance process as its handler sees it. Changes
// are buffered like a Call's and committed with it.
type Process struct {
	rec     hook.ProcessRecord[Status]
	state   *State
	wakes   []time.Time
	changed bool
}

// newProcess wraps a stored process for one invocation. The gateway reaches
// it through internal/pluginrt.
func newProcess(rec hook.ProcessRecord[Status]) *Process {
	p := &Process{rec: rec}
	p.state = newState(func(_ context.Context, key string) (json.RawMessage, bool, error) {
		v, ok := rec.State[key]
		return v, ok, nil
	})
	return p
}

// ID is the process's id, as in its URL.
func (p *Process) ID() int64 { return p.rec.ID }

// Name is the process type's name.
func (p *Process) Name() string { return p.rec.Name }

// DecodeInput unmarshals the start parameters (validated, defaults filled)
// into v with [Unmarshal], exactly as the schema saw them; an error is an
// [*InputError] naming the parameter. They are stored with the process, so
// they are available at every step, not only in Start.
func (p *Process) DecodeInput(v any) error {
	if len(p.rec.Input) == 0 {
		return nil
	}
	if err := Unmarshal(p.rec.Input, v); err != nil {
		return fmt.Errorf("decoding process input: %w", err)
	}
	return nil
}

// Status is the process's current status.
func (p *Process) Status() Status { return p.rec.Status }

// statusRank orders statuses: a process only moves forward.
var statusRank = map[Status]int{StatusCreated: 1, StatusPending: 2, StatusCompleted: 3}

// SetStatus moves the process forward to s: created, then pending, then
// completed. Moving back, or to an unknown status, is ignored.
func (p *Process) SetStatus(s Status) {
	if statusRank[s] <= statusRank[p.rec.Status] {
		return
	}
	p.rec.Status = s
	p.changed = true
}

// Complete marks the process completed.
func (p *Process) Complete() { p.SetStatus(StatusCompleted) }

// DecodeOutcome unmarshals the current outcome into v.
func (p *Process) DecodeOutcome(v any) error {
	if len(p.rec.Outcome) == 0 {
		return nil
	}
	if err := json.Unmarshal(p.rec.Outcome, v); err != nil {
		return fmt.Errorf("decoding process outcome: %w", err)
	}
	return nil
}

// SetOutcome replaces the outcome; v must marshal to a JSON object.
func (p *Process) SetOutcome(v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding process outcome: %w", err)
	}
	if !JSONEqual(raw, p.rec.Outcome) {
		p.rec.Outcome = raw
		p.changed = true
	}
	return nil
}

// SetErrors replaces the errors object; v must marshal to a JSON object.
func (p *Process) SetErrors(v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding process errors: %w", err)
	}
	if !JSONEqual(raw, p.rec.Errors) {
		p.rec.Errors = raw
		p.changed = true
	}
	return nil
}

// URL is the human URL of the process on its platform, if any.
func (p *Process) URL() string { return p.rec.URL }

// SetURL sets the human URL of the process on its platform.
func (p *Process) SetURL(u string) {
	if u != p.rec.URL {
		p.rec.URL = u
		p.changed = true
	}
}

// State is the process's own durable key-value state.
func (p *Process) State() *State { return p.state }

// WakeAt asks the gateway to call the handler's Wake at t. The wake-up is
// durable: it survives restarts and fires at start if it fell due while the
// gateway was down.
func (p *Process) WakeAt(t time.Time) { p.wakes = append(p.wakes, t) }

// changes returns the process after the invocation, for the gateway.
func (p *Process) changes() hook.ProcessChanges[Status] {
	rec := p.rec
	rec.State = maps.Clone(p.rec.State)
	if rec.State == nil {
		rec.State = map[string]json.RawMessage{}
	}
	for k, v := range p.state.changes {
		if v == nil {
			delete(rec.State, k)
		} else {
			rec.State[k] = v
		}
	}
	return hook.ProcessChanges[Status]{
		Record:       rec,
		Changed:      p.changed,
		StateChanged: len(p.state.changes) > 0,
		Wakes:        slices.Clone(p.wakes),
	}
}
