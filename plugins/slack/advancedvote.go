package slack

import (
	"context"
	"slices"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// advancedActionPrefix starts the action_id of each candidate's select;
// the candidate follows it whole, dots included.
const advancedActionPrefix = "advanced_vote."

var advancedVoteInputSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"title": {"type": "string", "minLength": 1, "maxLength": 1000},
		"candidates": {"type": "array", "minItems": 1, "maxItems": 49, "uniqueItems": true,
			"items": {"type": "string", "minLength": 1, "maxLength": 200},
			"description": "what is voted on, one select each (a message holds 50 blocks, the first is the title)"},
		"options": {"type": "array", "minItems": 1, "maxItems": 100, "uniqueItems": true,
			"items": {"type": "string", "minLength": 1, "maxLength": 75},
			"description": "the choices each candidate's select offers"},
		"details": {"type": "string", "maxLength": 1500},
		"channel": {"type": "string", "minLength": 1, "maxLength": 255, "description": "where to post the vote; without it, a group DM of eligible_voters"},
		"eligible_voters": {"type": "array", "maxItems": 10000, "uniqueItems": true, "items": {"type": "string", "minLength": 1, "maxLength": 64}},
		"users": {"type": "array", "maxItems": 10000, "uniqueItems": true, "items": {"type": "string", "minLength": 1, "maxLength": 64},
			"description": "the original's first name for eligible_voters (PolicyKit sends it); eligible_voters wins when both are given"},
		"ineligible_voters": {"type": "array", "maxItems": 10000, "uniqueItems": true, "items": {"type": "string", "minLength": 1, "maxLength": 64}},
		"ineligible_voter_message": {"type": "string", "minLength": 1, "maxLength": 3000, "default": "You are not eligible to vote in this poll."}
	},
	"required": ["title", "candidates", "options"]
}`)

var advancedVoteOutcomeSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"votes": {"type": "object", "description": "per voter (Slack user id), the option chosen for each candidate",
			"additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}}},
		"channel": {"type": "string"},
		"message_ts": {"type": "string"}
	}
}`)

type advancedVoteInput struct {
	voters     `json:",inline"`
	Title      string   `json:"title"`
	Candidates []string `json:"candidates"`
	Options    []string `json:"options"`
	Details    string   `json:"details"`
}

type advancedVoteOutcome struct {
	Votes   map[string]map[string]string `json:"votes"`
	message `json:",inline"`
}

// advancedVote runs one advanced-vote.
type advancedVote struct{ s *Slack }

// Start posts the vote.
func (v advancedVote) Start(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	var in advancedVoteInput
	if err := p.DecodeInput(&in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	m, err := v.s.postVote(ctx, c, p, in.voters, in.Title, advancedBlocks(&in, true))
	if err != nil {
		return err
	}
	if err := p.SetOutcome(advancedVoteOutcome{Votes: map[string]map[string]string{}, message: m}); err != nil {
		return err
	}
	p.SetStatus(plugin.StatusPending)
	return nil
}

// ReceiveWebhook records a choice made in a candidate's select.
func (v advancedVote) ReceiveWebhook(ctx context.Context, c *plugin.Call, p *plugin.Process, req *plugin.WebhookRequest) error {
	var out advancedVoteOutcome
	if err := p.DecodeOutcome(&out); err != nil {
		return err
	}
	in, err := interactionFor(req, out.message)
	if err != nil || in == nil {
		return err
	}
	var input advancedVoteInput
	if err := p.DecodeInput(&input); err != nil {
		return err
	}
	if out.Votes == nil {
		out.Votes = map[string]map[string]string{}
	}
	var add outbox
	for _, a := range in.Actions {
		candidate, ok := strings.CutPrefix(a.ActionID, advancedActionPrefix)
		if !ok || a.SelectedOption == nil || !slices.Contains(input.Candidates, candidate) || !slices.Contains(input.Options, a.SelectedOption.Value) {
			continue
		}
		if !input.eligible(in.User.ID) {
			add.Ephemeral = append(add.Ephemeral, ineligibleNotice(input.voters, in))
			break
		}
		if out.Votes[in.User.ID] == nil {
			out.Votes[in.User.ID] = map[string]string{}
		}
		out.Votes[in.User.ID][candidate] = a.SelectedOption.Value
	}
	if err := p.SetOutcome(out); err != nil {
		return err
	}
	if len(add.Ephemeral) > 0 {
		return queue(ctx, c, p, add)
	}
	return nil
}

// Wake sends the notices to ineligible voters.
func (v advancedVote) Wake(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	var in advancedVoteInput
	if err := p.DecodeInput(&in); err != nil {
		return err
	}
	return v.s.flush(ctx, c, p, func() []block { return advancedBlocks(&in, true) })
}

// Close completes the vote and takes the selects off its message.
func (v advancedVote) Close(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	var in advancedVoteInput
	if err := p.DecodeInput(&in); err != nil {
		return err
	}
	var out advancedVoteOutcome
	if err := p.DecodeOutcome(&out); err != nil {
		return err
	}
	if err := v.s.updateVote(ctx, c, out.message, in.Title, advancedBlocks(&in, false)); err != nil {
		return err
	}
	p.Complete()
	return nil
}

// advancedBlocks is the vote's message: the title and details, then one
// section per candidate with a select of the options while open.
func advancedBlocks(in *advancedVoteInput, open bool) []block {
	header := "*" + escapeMrkdwn(in.Title) + "*\n"
	if in.Details != "" {
		header += escapeMrkdwn(in.Details) + "\n"
	}
	if !open {
		header += "_This vote is closed._\n"
	}
	blocks := []block{section(header, nil)}
	for _, cand := range in.Candidates {
		var sel *element
		if open {
			opts := make([]option, 0, min(len(in.Options), maxSelectOptions))
			for _, o := range in.Options[:min(len(in.Options), maxSelectOptions)] {
				opts = append(opts, option{Text: plainText(o, maxOptionText), Value: truncate(o, maxOptionValue)})
			}
			sel = &element{Type: "static_select", ActionID: truncate(advancedActionPrefix+cand, maxActionID),
				Placeholder: plainText("Select an option", maxOptionValue), Options: opts}
		}
		blocks = append(blocks, section(escapeMrkdwn(cand), sel))
	}
	return blocks
}
