package vote

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/metagov/metagov-go/plugin"
	"github.com/metagov/metagov-go/plugins/vote/tally"
)

type castParams struct {
	Voter  string          `json:"voter"`
	Ballot json.RawMessage `json:"ballot"`
}

type castResult struct {
	ProcessID int64  `json:"process_id"`
	Voter     string `json:"voter"`
	Revision  int    `json:"revision"`
	Status    string `json:"status"`
}

// cast stores a voter's ballot (replacing their earlier one when the rules
// allow it), recounts, and closes the poll early once the result can no
// longer change, if the rules ask for that.
func cast(ctx context.Context, inst plugin.Instance, c *plugin.Call, p *plugin.Process, params json.RawMessage) (any, error) {
	v := inst.(*Vote)
	var in castParams
	if err := plugin.Unmarshal(params, &in); err != nil {
		return nil, err
	}
	if p.Status() != plugin.StatusPending {
		return nil, &plugin.InputError{Field: "/process_id", Message: "the vote is closed"}
	}
	rules, s, ballots, version, err := load(ctx, v, c, p)
	if err != nil {
		return nil, err
	}
	now := c.Now().UTC()
	if !now.Before(s.ClosesAt) {
		return nil, &plugin.InputError{Field: "/process_id", Message: "the vote closed at " + s.ClosesAt.Format("2006-01-02T15:04:05Z")}
	}
	choice, err := rules.CheckBallot(in.Voter, in.Ballot)
	if err != nil {
		return nil, inputError(err)
	}
	key := ballotPrefix(p.ID()) + in.Voter
	var prev tally.Ballot
	had, err := c.State().Get(ctx, key, &prev)
	if err != nil {
		return nil, err
	}
	b := tally.Ballot{Voter: in.Voter, Choice: choice, CastAt: now}
	if had {
		if !rules.AllowChange {
			return nil, &plugin.InputError{Field: "/voter", Message: in.Voter + " has voted already, and this vote does not allow changes"}
		}
		b.Revision = prev.Revision + 1
	}
	if err := c.State().Set(key, b); err != nil {
		return nil, err
	}
	ballots = replaceBallot(ballots, b)
	if err := p.State().Set("ballots_version", version+1); err != nil {
		return nil, err
	}
	v.remember(p.ID(), version+1, ballots)
	out, err := tally.Tally(rules, ballots)
	if err != nil {
		return nil, err
	}
	if err := p.SetOutcome(finalOutcome{Outcome: out, ClosesAt: s.ClosesAt}); err != nil {
		return nil, err
	}
	if s.CloseEarly && decided(rules, ballots) {
		if now.Before(s.MinOpenUntil) {
			p.WakeAt(s.MinOpenUntil) // decided, but it must stay open until then
		} else if err := closePoll(ctx, v, c, p); err != nil {
			return nil, err
		}
	}
	return castResult{ProcessID: p.ID(), Voter: in.Voter, Revision: b.Revision, Status: string(p.Status())}, nil
}

// replaceBallot puts b in place of its voter's earlier ballot, or adds it,
// keeping the ballots sorted by voter.
func replaceBallot(ballots []tally.Ballot, b tally.Ballot) []tally.Ballot {
	i, found := slices.BinarySearchFunc(ballots, b.Voter, func(x tally.Ballot, voter string) int {
		return strings.Compare(x.Voter, voter)
	})
	if found {
		ballots[i] = b
		return ballots
	}
	return slices.Insert(ballots, i, b)
}

// export returns the poll as a tally.Record: rules, ballots, outcome and
// digest, which `metagov tally FILE` recounts. It names the voters even of
// an anonymous vote, so it is for the driver, not for the public.
func export(ctx context.Context, inst plugin.Instance, c *plugin.Call, p *plugin.Process, _ json.RawMessage) (any, error) {
	rules, _, ballots, _, err := load(ctx, inst.(*Vote), c, p)
	if err != nil {
		return nil, err
	}
	return tally.NewRecord(rules, ballots)
}

// decided reports whether the voters who have not voted yet can no longer
// change the result. The tally counts a ballot that may still change as
// undecided; closing early freezes the ballots cast so far, so here they
// count as final.
func decided(rules tally.Rules, ballots []tally.Ballot) bool {
	rules.AllowChange = false
	out, err := tally.Tally(rules, ballots)
	return err == nil && out.Decided
}
