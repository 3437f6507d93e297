package loomio

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// pollsAnswer is the part of Loomio's poll answer (GET polls/<key>, POST
// polls) the plugin reads; the options come side-loaded beside the polls.
type pollsAnswer struct {
	Polls       []pollRecord    `json:"polls"`
	PollOptions []pollOption    `json:"poll_options"`
	Errors      json.RawMessage `json:"errors"`
}

// pollRecord is one poll as Loomio serializes it.
type pollRecord struct {
	ID                   int64    `json:"id"`
	Key                  string   `json:"key"`
	ClosedAt             *string  `json:"closed_at"`
	ClosingAt            *string  `json:"closing_at"`
	VotersCount          *int64   `json:"voters_count"`
	UndecidedVotersCount *int64   `json:"undecided_voters_count"`
	CastStancesPct       *float64 `json:"cast_stances_pct"`
}

// closingAt is when Loomio says the poll closes, if it says so clearly.
func (r pollRecord) closingAt() (time.Time, bool) {
	if r.ClosingAt == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, *r.ClosingAt)
	return t, err == nil
}

// pollOption is one option with its votes: voter_scores maps each voter's
// user id to the score they gave it, total_score sums them.
type pollOption struct {
	Name        string             `json:"name"`
	PollID      int64              `json:"poll_id"`
	TotalScore  float64            `json:"total_score"`
	VoterScores map[string]float64 `json:"voter_scores"`
}

// pollOutcome is the outcome of a poll process.
type pollOutcome struct {
	PollURL              string                 `json:"poll_url"`
	Votes                map[string]optionVotes `json:"votes"`
	VotersCount          *int64                 `json:"voters_count"`
	UndecidedVotersCount *int64                 `json:"undecided_voters_count"`
	CastStancesPct       *float64               `json:"cast_stances_pct"`
}

// optionVotes is one option's tally.
type optionVotes struct {
	Count float64  `json:"count"`
	Users []string `json:"users"`
}

// decodePolls reads a poll answer that must name at least one poll.
func decodePolls(raw json.RawMessage) (pollsAnswer, error) {
	var a pollsAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return a, &plugin.PlatformError{Platform: platform, Message: "unexpected poll answer: " + err.Error()}
	}
	if len(a.Polls) == 0 {
		return a, &plugin.PlatformError{Platform: platform, Message: "the answer names no poll"}
	}
	return a, nil
}

// refresh fetches the poll with the key it was created with and applies the
// answer. It returns the poll as Loomio has it.
func (h poll) refresh(ctx context.Context, p *plugin.Process) (pollRecord, error) {
	var key, keyID string
	if _, err := p.State().Get(ctx, pollKeyKey, &key); err != nil {
		return pollRecord{}, fmt.Errorf("reading loomio poll key: %w", err)
	}
	if _, err := p.State().Get(ctx, apiKeyIDKey, &keyID); err != nil {
		return pollRecord{}, fmt.Errorf("reading loomio poll key: %w", err)
	}
	apiKey, ok := h.l.keyByFingerprint(keyID)
	if key == "" || !ok {
		return pollRecord{}, fmt.Errorf("fetching loomio poll %q: the API key it was created with is no longer configured", key)
	}
	raw, err := h.l.client.poll(ctx, apiKey, key)
	if err != nil {
		return pollRecord{}, fmt.Errorf("fetching loomio poll %s: %w", key, err)
	}
	a, err := decodePolls(raw)
	if err != nil {
		return pollRecord{}, fmt.Errorf("fetching loomio poll %s: %w", key, err)
	}
	if err := h.apply(p, a, key); err != nil {
		return pollRecord{}, err
	}
	return a.find(key), nil
}

// find returns the poll with key, or the first one.
func (a pollsAnswer) find(key string) pollRecord {
	for _, r := range a.Polls {
		if r.Key == key {
			return r
		}
	}
	return a.Polls[0]
}

// apply sets the outcome from a poll answer and completes the process once
// Loomio says the poll closed.
func (h poll) apply(p *plugin.Process, a pollsAnswer, key string) error {
	r := a.find(key)
	out := pollOutcome{
		PollURL:              h.l.pollURL(r.Key),
		Votes:                tally(a.PollOptions, r.ID),
		VotersCount:          r.VotersCount,
		UndecidedVotersCount: r.UndecidedVotersCount,
		CastStancesPct:       r.CastStancesPct,
	}
	if err := p.SetOutcome(out); err != nil {
		return err
	}
	if r.ClosedAt != nil && *r.ClosedAt != "" {
		p.Complete()
	}
	return nil
}

// tally maps each option of the poll to its total score and its voters'
// ids, sorted so the outcome only changes when the votes do.
func tally(options []pollOption, pollID int64) map[string]optionVotes {
	out := map[string]optionVotes{}
	for _, o := range options {
		if o.PollID != 0 && pollID != 0 && o.PollID != pollID {
			continue
		}
		users := make([]string, 0, len(o.VoterScores))
		for id := range o.VoterScores {
			users = append(users, id)
		}
		slices.Sort(users)
		out[o.Name] = optionVotes{Count: o.TotalScore, Users: users}
	}
	return out
}

// closingLayouts are the forms closing_at may take: Loomio's API help
// shows date-times, the original's schema said "date", and Rails reads a
// zoneless time as UTC.
var closingLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

// parseClosingAt reads closing_at as a date (midnight UTC) or a date-time.
func parseClosingAt(s string) (time.Time, error) {
	for _, layout := range closingLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, &plugin.InputError{Field: "/closing_at",
		Message: fmt.Sprintf("closing_at %q is neither a date (2024-09-22) nor a date-time (2024-09-22T04:00:00Z)", s)}
}
