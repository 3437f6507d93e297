package loomio

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// pollsAnswer is the part of Loomio's poll answer (GET polls/<key>, POST
// polls) the plugin reads.
type pollsAnswer struct {
	Polls []pollRecord `json:"polls"`
}

// pollRecord is one poll as Loomio's poll serializer writes it (in part).
// Results is absent while Loomio hides them (hide_results until_closed, or
// an anonymous poll, before the close).
type pollRecord struct {
	ID                   int64        `json:"id"`
	Key                  string       `json:"key"`
	PollType             string       `json:"poll_type"`
	GroupID              *int64       `json:"group_id"`
	ClosedAt             *string      `json:"closed_at"`
	ClosingAt            *string      `json:"closing_at"`
	VotersCount          *int64       `json:"voters_count"`
	DecidedVotersCount   *int64       `json:"decided_voters_count"`
	UndecidedVotersCount *int64       `json:"undecided_voters_count"`
	CastStancesPct       *float64     `json:"cast_stances_pct"`
	PollOptionNames      []string     `json:"poll_option_names"`
	PollOptionNameFormat string       `json:"poll_option_name_format"`
	Results              *[]resultRow `json:"results"`
}

// resultRow is one row of a poll's results (PollService.calculate_results).
// Rows with an id of 0 (none of the above) or -1 (undecided) are not
// options.
type resultRow struct {
	ID          int64              `json:"id"`
	Name        string             `json:"name"`
	NameFormat  string             `json:"name_format"`
	Score       float64            `json:"score"`
	VoterIDs    []int64            `json:"voter_ids"` // the first 50 only
	VoterCount  int64              `json:"voter_count"`
	VoterScores map[string]float64 `json:"voter_scores"`
}

// closingAt is when Loomio says the poll closes, if it says so clearly.
func (r pollRecord) closingAt() (time.Time, bool) {
	if r.ClosingAt == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, *r.ClosingAt)
	return t, err == nil
}

// pollOutcome is the outcome of a poll process.
type pollOutcome struct {
	PollURL              string                  `json:"poll_url"`
	Votes                *map[string]optionVotes `json:"votes"`
	ResultsHidden        bool                    `json:"results_hidden"`
	Options              []string                `json:"options"`
	VotersCount          *int64                  `json:"voters_count"`
	DecidedVotersCount   *int64                  `json:"decided_voters_count"`
	UndecidedVotersCount *int64                  `json:"undecided_voters_count"`
	CastStancesPct       *float64                `json:"cast_stances_pct"`
	ClosingAt            *string                 `json:"closing_at"`
	ClosedAt             *string                 `json:"closed_at"`
}

// optionVotes is one option's tally: count is its score (the number of
// voters for single and multiple choice polls, the points for score and
// dot votes), users the voters' ids, names their names ("" where Loomio
// did not say), in the same order.
type optionVotes struct {
	Count      float64  `json:"count"`
	Users      []string `json:"users"`
	Names      []string `json:"names"`
	VoterCount int64    `json:"voter_count"`
}

// optionName is the name a driver gave an option. Loomio writes the
// options of proposals (and other types with fixed options) as i18n keys,
// such as poll_proposal_options.agree; their last segment is the driver's.
func optionName(name, format string) string {
	if format == "i18n" {
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			return name[i+1:]
		}
	}
	return name
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

// find returns the poll with key, or the first one.
func (a pollsAnswer) find(key string) pollRecord {
	for _, r := range a.Polls {
		if r.Key == key {
			return r
		}
	}
	return a.Polls[0]
}

// refresh fetches the poll and applies the answer. It returns the poll as
// Loomio has it.
func (h poll) refresh(ctx context.Context, p *plugin.Process) (pollRecord, error) {
	var key string
	if _, err := p.State().Get(ctx, pollKeyKey, &key); err != nil {
		return pollRecord{}, fmt.Errorf("reading loomio poll key: %w", err)
	}
	if key == "" {
		return pollRecord{}, fmt.Errorf("fetching loomio poll: the process has no poll key")
	}
	raw, err := h.l.client.get(ctx, pollPath(key), nil)
	if err != nil {
		return pollRecord{}, fmt.Errorf("fetching loomio poll %s: %w", key, err)
	}
	a, err := decodePolls(raw)
	if err != nil {
		return pollRecord{}, fmt.Errorf("fetching loomio poll %s: %w", key, err)
	}
	r := a.find(key)
	if err := h.apply(ctx, p, r); err != nil {
		return pollRecord{}, err
	}
	return r, nil
}

// apply sets the outcome from a poll record and completes the process once
// Loomio says the poll closed.
func (h poll) apply(ctx context.Context, p *plugin.Process, r pollRecord) error {
	out := pollOutcome{
		PollURL:              h.l.pollURL(r.Key),
		ResultsHidden:        r.Results == nil,
		Options:              []string{},
		VotersCount:          r.VotersCount,
		DecidedVotersCount:   r.DecidedVotersCount,
		UndecidedVotersCount: r.UndecidedVotersCount,
		CastStancesPct:       r.CastStancesPct,
		ClosingAt:            r.ClosingAt,
		ClosedAt:             r.ClosedAt,
	}
	for _, n := range r.PollOptionNames {
		out.Options = append(out.Options, optionName(n, r.PollOptionNameFormat))
	}
	if r.Results != nil {
		names, err := h.voterNames(ctx, p, *r.Results)
		if err != nil {
			return err
		}
		votes := tally(*r.Results, names)
		out.Votes = &votes
	}
	if err := p.SetOutcome(out); err != nil {
		return err
	}
	if r.ClosedAt != nil && *r.ClosedAt != "" {
		p.Complete()
	}
	return nil
}

// voters returns the ids of a row's voters as strings, sorted: every key of
// voter_scores (which Loomio does not cut), else voter_ids (its first 50).
func (row resultRow) voters() []string {
	set := map[string]bool{}
	for id := range row.VoterScores {
		set[id] = true
	}
	if len(set) == 0 {
		for _, id := range row.VoterIDs {
			set[strconv.FormatInt(id, 10)] = true
		}
	}
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	slices.SortFunc(out, func(a, b string) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	return out
}

// tally maps each option to its score, voters and their names.
func tally(rows []resultRow, names map[string]string) map[string]optionVotes {
	out := map[string]optionVotes{}
	for _, row := range rows {
		if row.ID <= 0 {
			continue
		}
		users := row.voters()
		ns := make([]string, len(users))
		for i, id := range users {
			ns[i] = names[id]
		}
		out[optionName(row.Name, row.NameFormat)] = optionVotes{Count: row.Score, Users: users, Names: ns, VoterCount: row.VoterCount}
	}
	return out
}

// voterNames returns the names of the voters in rows, from the process
// state or, when a voter is new to it, from the memberships of the poll's
// group (Loomio serializes only the author with a poll). Voters Loomio does
// not list (guests, or members Loomio hides from the key's user) are kept
// as "" so they are not asked for again.
func (h poll) voterNames(ctx context.Context, p *plugin.Process, rows []resultRow) (map[string]string, error) {
	names := map[string]string{}
	if _, err := p.State().Get(ctx, namesKey, &names); err != nil {
		return nil, fmt.Errorf("reading loomio voter names: %w", err)
	}
	var missing []string
	for _, row := range rows {
		if row.ID <= 0 {
			continue
		}
		for _, id := range row.voters() {
			if _, ok := names[id]; !ok && !slices.Contains(missing, id) {
				missing = append(missing, id)
			}
		}
	}
	if len(missing) == 0 {
		return names, nil
	}
	var groupID int64
	if _, err := p.State().Get(ctx, groupIDKey, &groupID); err != nil {
		return nil, fmt.Errorf("reading loomio poll group: %w", err)
	}
	if groupID != 0 {
		a, err := h.l.members(ctx, groupID)
		switch {
		case isStatus(err, 403, 404):
			// Older Loomio lets only admins list members: go without names.
		case err != nil:
			return nil, fmt.Errorf("reading loomio voter names: %w", err)
		default:
			for _, raw := range a.Users {
				var u struct {
					ID   json.Number `json:"id"`
					Name string      `json:"name"`
				}
				if json.Unmarshal(raw, &u) == nil && slices.Contains(missing, u.ID.String()) {
					names[u.ID.String()] = u.Name
				}
			}
		}
	}
	for _, id := range missing {
		if _, ok := names[id]; !ok {
			names[id] = ""
		}
	}
	if err := p.State().Set(namesKey, names); err != nil {
		return nil, fmt.Errorf("storing loomio voter names: %w", err)
	}
	return names, nil
}
