package vote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/metagov/metagov-go/plugin"
	"github.com/metagov/metagov-go/plugins/vote/tally"
)

// pollParams are vote.poll's inputs beyond the counting rules.
type pollParams struct {
	tally.Rules
	Title              string     `json:"title"`
	ClosingAt          *time.Time `json:"closing_at"`
	DurationMinutes    int        `json:"duration_minutes"`
	MinOpenMinutes     int        `json:"min_open_minutes"`
	CloseEarly         bool       `json:"close_early"`
	ClosingSoonMinutes int        `json:"closing_soon_minutes"`
}

// schedule is what a poll keeps in its process state besides its rules.
type schedule struct {
	OpenedAt      time.Time `json:"opened_at"`
	ClosesAt      time.Time `json:"closes_at"`
	MinOpenUntil  time.Time `json:"min_open_until"`
	CloseEarly    bool      `json:"close_early"`
	ClosingSoonAt time.Time `json:"closing_soon_at,omitzero"`
	Title         string    `json:"title,omitempty"`
}

// finalOutcome is a closed poll's outcome: the count and the digest of the
// rules and ballots it came from.
type finalOutcome struct {
	tally.Outcome
	Digest   string    `json:"digest,omitempty"`
	ClosesAt time.Time `json:"closes_at"`
	// Pending counts the ballots cast or changed since the outcome was
	// counted: ranked-choice polls count all their ballots again at most
	// every second or so (see recountMin), and at the close.
	Pending int `json:"pending,omitempty"`
}

type poll struct{}

// Start freezes the rules, schedules the close (and the closing-soon event)
// with durable timers and publishes the empty count.
func (poll) Start(_ context.Context, c *plugin.Call, p *plugin.Process) error {
	var in pollParams
	if err := p.DecodeInput(&in); err != nil {
		return err // an *plugin.InputError naming the parameter
	}
	if err := in.Rules.Validate(); err != nil {
		return inputError(err)
	}
	now := c.Now().UTC()
	if err := checkSpans(in, now); err != nil {
		return err
	}
	s := schedule{OpenedAt: now, MinOpenUntil: now.Add(time.Duration(in.MinOpenMinutes) * time.Minute),
		CloseEarly: in.CloseEarly, Title: in.Title}
	switch {
	case in.ClosingAt != nil:
		s.ClosesAt = in.ClosingAt.UTC()
	case in.DurationMinutes > 0:
		s.ClosesAt = now.Add(time.Duration(in.DurationMinutes) * time.Minute)
	default:
		return &plugin.InputError{Field: "/closing_at", Message: "give closing_at or duration_minutes"}
	}
	if !s.ClosesAt.After(now) {
		return &plugin.InputError{Field: "/closing_at", Message: "closing_at is in the past"}
	}
	if in.CloseEarly && len(in.Eligible) == 0 {
		return &plugin.InputError{Field: "/close_early", Message: "close_early needs a list of eligible voters"}
	}
	el := in.Rules.Electorate()
	if err := p.State().Set("rules", in.Rules.Lean(el, "", 1)); err != nil {
		return err
	}
	if err := p.State().Set("electorate", el); err != nil {
		return err
	}
	if err := keepVoters(c, p.ID(), in.Rules); err != nil {
		return err
	}
	p.WakeAt(s.ClosesAt)
	if in.ClosingSoonMinutes > 0 {
		s.ClosingSoonAt = s.ClosesAt.Add(-time.Duration(in.ClosingSoonMinutes) * time.Minute)
		if s.ClosingSoonAt.After(now) {
			p.WakeAt(s.ClosingSoonAt)
		}
	}
	if err := p.State().Set("schedule", s); err != nil {
		return err
	}
	if err := p.State().Set(pagedKey, true); err != nil {
		return err
	}
	out, err := tally.Tally(in.Rules, nil)
	if err != nil {
		return err
	}
	p.SetStatus(plugin.StatusPending)
	return p.SetOutcome(finalOutcome{Outcome: out, ClosesAt: s.ClosesAt})
}

// checkSpans keeps every span of time within plugin.MaxDuration (the schema
// says so too), so that no duration overflows and no timer is set for a
// year the databases cannot store.
func checkSpans(in pollParams, now time.Time) error {
	for _, m := range []struct {
		field string
		value int
	}{{"/duration_minutes", in.DurationMinutes}, {"/min_open_minutes", in.MinOpenMinutes}, {"/closing_soon_minutes", in.ClosingSoonMinutes}} {
		if m.value < 0 || int64(m.value) > plugin.MaxMinutes {
			return &plugin.InputError{Field: m.field, Message: fmt.Sprintf("%s must be from 0 to %d minutes (ten years)", m.field[1:], plugin.MaxMinutes)}
		}
	}
	if in.ClosingAt != nil && in.ClosingAt.After(now.Add(plugin.MaxDuration)) {
		return &plugin.InputError{Field: "/closing_at", Message: "closing_at must be at most ten years from now"}
	}
	return nil
}

// Wake closes the poll at its deadline, or once its minimum open time is
// over if the result was decided before, or sends the closing-soon event.
func (poll) Wake(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	var s schedule
	if _, err := p.State().Get(ctx, "schedule", &s); err != nil {
		return err
	}
	now := c.Now()
	if !now.Before(s.ClosesAt) {
		return closePoll(ctx, c, p)
	}
	if s.CloseEarly && !now.Before(s.MinOpenUntil) {
		rules, _, err := loadRules(ctx, p)
		if err != nil {
			return err
		}
		k, err := counter(ctx, c, p, rules)
		if err != nil {
			return err
		}
		if k.DecidedIfFinal() {
			return closePoll(ctx, c, p)
		}
	}
	if err := countRanked(ctx, c, p, s); err != nil {
		return err
	}
	var sent bool
	if _, err := p.State().Get(ctx, "closing_soon_sent", &sent); err != nil {
		return err
	}
	if !sent && !s.ClosingSoonAt.IsZero() && !now.Before(s.ClosingSoonAt) {
		if err := p.State().Set("closing_soon_sent", true); err != nil {
			return err
		}
		return c.Emit(plugin.Event{Type: "closing_soon", Data: map[string]any{
			"process_id": p.ID(), "closes_at": s.ClosesAt.Format(time.RFC3339), "title": s.Title}})
	}
	return nil
}

// Close closes the poll early, when the driver asks.
func (poll) Close(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	return closePoll(ctx, c, p)
}

// Export gives the poll's rules, ballots and digest, which with its outcome
// make the record `metagov tally FILE` recounts (GET ?include=ballots).
func (poll) Export(ctx context.Context, c *plugin.Call, p *plugin.Process) (any, error) {
	rules, err := fullRules(ctx, p)
	if err != nil {
		return nil, err
	}
	ballots, err := loadBallots(ctx, c, p, 0)
	if err != nil {
		return nil, err
	}
	return map[string]any{"rules": rules, "ballots": ballots, "digest": tally.Digest(rules, ballots)}, nil
}

// closePoll counts the ballots a last time, seals the result with the
// digest of rules and ballots, and completes the process. The recount is
// what counts; a running count that disagrees with it is a bug, reported
// as a warning.
func closePoll(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	_, s, err := loadRules(ctx, p)
	if err != nil {
		return err
	}
	rules, err := fullRules(ctx, p)
	if err != nil {
		return err
	}
	var count tally.Count
	found, err := p.State().Get(ctx, "count", &count)
	if err != nil {
		return err
	}
	ballots, err := loadBallots(ctx, c, p, count.Voted+count.Rejected)
	if err != nil {
		return err
	}
	rec, err := tally.NewRecord(rules, ballots)
	if err != nil {
		return err
	}
	if found && !count.Stale {
		if k, err := tally.NewCounter(rules, count); err == nil {
			if out, ok := k.Outcome(); ok && !sameOutcome(out, rec.Outcome) {
				c.Warn("vote %d: the running count differed from the recount at the close; the recount stands", p.ID())
			}
		}
	}
	if err := p.SetOutcome(finalOutcome{Outcome: rec.Outcome, Digest: rec.Digest, ClosesAt: s.ClosesAt}); err != nil {
		return err
	}
	p.State().Delete("count")
	p.Complete()
	return nil
}

// sameOutcome compares two outcomes as they are stored.
func sameOutcome(a, b tally.Outcome) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// inputError turns the tally's field errors into the gateway's.
func inputError(err error) error {
	var fe *tally.FieldError
	if errors.As(err, &fe) {
		return &plugin.InputError{Field: fe.Field, Message: fe.Message}
	}
	return &plugin.InputError{Message: err.Error()}
}
