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
// allow it), adds it to the running count, and closes the poll early once
// the result can no longer change, if the rules ask for that.
func cast(ctx context.Context, _ plugin.Instance, c *plugin.Call, p *plugin.Process, params json.RawMessage) (any, error) {
	var in castParams
	if err := plugin.Unmarshal(params, &in); err != nil {
		return nil, err
	}
	if p.Status() != plugin.StatusPending {
		return nil, &plugin.InputError{Field: "/process_id", Message: "the vote is closed"}
	}
	rules, s, err := loadRules(ctx, p)
	if err != nil {
		return nil, err
	}
	now := c.Now().UTC()
	if !now.Before(s.ClosesAt) {
		return nil, &plugin.InputError{Field: "/process_id", Message: "the vote closed at " + s.ClosesAt.Format("2006-01-02T15:04:05Z")}
	}
	if rules, err = voterRules(ctx, c, p.ID(), rules, in.Voter); err != nil {
		return nil, err
	}
	choice, err := rules.CheckBallot(in.Voter, in.Ballot)
	if err != nil {
		return nil, inputError(err)
	}
	pg, at, had, err := loadPage(ctx, c, p, in.Voter)
	if err != nil {
		return nil, err
	}
	b := tally.Ballot{Voter: in.Voter, Choice: choice, CastAt: now}
	var prev tally.Ballot
	if had {
		if !rules.AllowChange {
			return nil, &plugin.InputError{Field: "/voter", Message: in.Voter + " has voted already, and this vote does not allow changes"}
		}
		prev = pg.ballots[at]
		b.Revision = prev.Revision + 1
	}
	k, err := counter(ctx, c, p, rules) // before the new ballot is stored
	if err != nil {
		return nil, err
	}
	if err := pg.put(c, pagePrefix(p.ID()), b, at, had); err != nil {
		return nil, err
	}
	if had {
		k.Remove(prev)
	}
	k.Add(b)
	if k.Stale() {
		if k, err = recount(ctx, c, p); err != nil {
			return nil, err
		}
	}
	if err := publish(ctx, c, p, rules, s, k); err != nil {
		return nil, err
	}
	if s.CloseEarly && k.DecidedIfFinal() {
		if now.Before(s.MinOpenUntil) {
			p.WakeAt(s.MinOpenUntil) // decided, but it must stay open until then
		} else if err := closePoll(ctx, c, p); err != nil {
			return nil, err
		}
	}
	return castResult{ProcessID: p.ID(), Voter: in.Voter, Revision: b.Revision, Status: string(p.Status())}, nil
}

// exportParams are vote.export's parameters besides process_id.
type exportParams struct {
	Limit int    `json:"limit"`
	After string `json:"after"`
}

// maxExportPage bounds a page of ballots.
const maxExportPage = 10_000

// ballotPage is a page of a poll's ballots, by voter id.
type ballotPage struct {
	ProcessID int64          `json:"process_id"`
	Ballots   []tally.Ballot `json:"ballots"`
	// Next is the after of the next page; absent on the last.
	Next string `json:"next,omitempty"`
}

// export returns the poll as a tally.Record: rules, ballots, outcome and
// digest, which `metagov tally FILE` recounts. It names the voters even of
// an anonymous vote, so it is for the driver, not for the public. With a
// limit it returns a page of the ballots instead, by voter id: the full
// users lists of a large vote, a page at a time. (Each page reads the
// poll's ballot pages, in voter order.)
func export(ctx context.Context, _ plugin.Instance, c *plugin.Call, p *plugin.Process, params json.RawMessage) (any, error) {
	var in exportParams
	if err := plugin.Unmarshal(params, &in); err != nil {
		return nil, err
	}
	rules, err := fullRules(ctx, p)
	if err != nil {
		return nil, err
	}
	ballots, err := loadBallots(ctx, c, p, 0)
	if err != nil {
		return nil, err
	}
	if in.Limit == 0 {
		if in.After != "" {
			return nil, &plugin.InputError{Field: "/after", Message: "after pages the ballots: give limit too"}
		}
		return tally.NewRecord(rules, ballots)
	}
	i, found := slices.BinarySearchFunc(ballots, in.After, func(b tally.Ballot, voter string) int { return strings.Compare(b.Voter, voter) })
	if found {
		i++
	}
	page := ballotPage{ProcessID: p.ID(), Ballots: ballots[i:min(i+in.Limit, len(ballots))]}
	if i+in.Limit < len(ballots) {
		page.Next = page.Ballots[len(page.Ballots)-1].Voter
	}
	return page, nil
}
