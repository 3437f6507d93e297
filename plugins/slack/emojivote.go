package slack

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// emojiFamilies are the button emojis of a choice vote, as in the original,
// whose hearts repeated green_heart (yellow_heart replaces the second).
var emojiFamilies = map[string][]string{
	"numbers": {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "keycap_ten"},
	"flowers": {"tulip", "sunflower", "cherry_blossom", "rose", "wilted_flower", "bouquet", "hibiscus", "blossom"},
	"hearts":  {"blue_heart", "purple_heart", "heart", "green_heart", "sparkling_heart", "orange_heart", "yellow_heart"},
}

var emojiVoteInputSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"title": {"type": "string", "minLength": 1, "maxLength": 1000},
		"poll_type": {"type": "string", "enum": ["boolean", "choice"]},
		"options": {"type": "array", "maxItems": 10, "uniqueItems": true, "items": {"type": "string", "minLength": 1, "maxLength": 150},
			"description": "the choices of a choice vote (at most as many as the emoji family has: 10, 8 or 7); ignored for boolean, whose options are yes and no"},
		"details": {"type": "string", "maxLength": 1500},
		"channel": {"type": "string", "minLength": 1, "maxLength": 255, "description": "where to post the vote; without it, a group DM of eligible_voters"},
		"eligible_voters": {"type": "array", "maxItems": 10000, "uniqueItems": true, "items": {"type": "string", "minLength": 1, "maxLength": 64},
			"description": "Slack user ids who may vote (empty: anyone who sees the message)"},
		"users": {"type": "array", "maxItems": 10000, "uniqueItems": true, "items": {"type": "string", "minLength": 1, "maxLength": 64},
			"description": "the original's first name for eligible_voters (PolicyKit sends it); eligible_voters wins when both are given"},
		"ineligible_voters": {"type": "array", "maxItems": 10000, "uniqueItems": true, "items": {"type": "string", "minLength": 1, "maxLength": 64},
			"description": "Slack user ids who may not vote"},
		"ineligible_voter_message": {"type": "string", "minLength": 1, "maxLength": 3000, "default": "You are not eligible to vote in this poll."},
		"emoji_family": {"type": "string", "enum": ["hearts", "flowers", "numbers"], "default": "numbers"}
	},
	"required": ["title", "poll_type"]
}`)

var emojiVoteOutcomeSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"votes": {"type": "object", "description": "per option, who voted for it and how many",
			"additionalProperties": {"type": "object", "properties": {
				"users": {"type": "array", "items": {"type": "string"}},
				"count": {"type": "integer"}}}},
		"channel": {"type": "string", "description": "the channel of the vote's message"},
		"message_ts": {"type": "string", "description": "the ts of the vote's message"}
	}
}`)

// emojiVoteInput is the start request.
type emojiVoteInput struct {
	voters      `json:",inline"`
	Title       string   `json:"title"`
	PollType    string   `json:"poll_type"`
	Options     []string `json:"options"`
	Details     string   `json:"details"`
	EmojiFamily string   `json:"emoji_family"`
}

// optionVotes is one option's tally.
type optionVotes struct {
	Users []string `json:"users"`
	Count int      `json:"count"`
}

// emojiVoteOutcome is the original's outcome.
type emojiVoteOutcome struct {
	Votes   map[string]*optionVotes `json:"votes"`
	message `json:",inline"`
}

// emojiVote runs one emoji-vote.
type emojiVote struct{ s *Slack }

func (in *emojiVoteInput) options() []string {
	if in.PollType == "boolean" {
		return []string{"yes", "no"}
	}
	return in.Options
}

// Start posts the vote.
func (v emojiVote) Start(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	var in emojiVoteInput
	if err := p.DecodeInput(&in); err != nil {
		return err
	}
	if in.PollType == "choice" {
		if len(in.Options) == 0 {
			return &plugin.InputError{Field: "/options", Message: "a choice vote needs options"}
		}
		if n := len(emojiFamilies[in.EmojiFamily]); len(in.Options) > n {
			return &plugin.InputError{Field: "/options", Message: fmt.Sprintf("the %s emoji family has %d emojis, one per option", in.EmojiFamily, n)}
		}
	}
	if err := in.check(); err != nil {
		return err
	}
	out := emojiVoteOutcome{Votes: map[string]*optionVotes{}}
	for _, o := range in.options() {
		out.Votes[o] = &optionVotes{Users: []string{}}
	}
	m, err := v.s.postVote(ctx, c, p, in.voters, in.Title, emojiBlocks(&in, &out, true))
	if err != nil {
		return err
	}
	out.message = m
	if err := p.SetOutcome(out); err != nil {
		return err
	}
	p.SetStatus(plugin.StatusPending)
	return nil
}

// ReceiveWebhook records the votes of a click on one of the message's
// buttons: a voter's vote moves to the option clicked last.
func (v emojiVote) ReceiveWebhook(ctx context.Context, c *plugin.Call, p *plugin.Process, req *plugin.WebhookRequest) error {
	var out emojiVoteOutcome
	if err := p.DecodeOutcome(&out); err != nil {
		return err
	}
	in, err := interactionFor(req, out.message)
	if err != nil || in == nil {
		return err
	}
	var input emojiVoteInput
	if err := p.DecodeInput(&input); err != nil {
		return err
	}
	var add outbox
	for _, a := range in.Actions {
		if a.ActionID != "cast_vote" {
			continue
		}
		if !input.eligible(in.User.ID) {
			add.Ephemeral = append(add.Ephemeral, ineligibleNotice(input.voters, in))
			break
		}
		chosen, ok := out.Votes[a.Value]
		if !ok || slices.Contains(chosen.Users, in.User.ID) {
			continue
		}
		for _, ov := range out.Votes {
			if i := slices.Index(ov.Users, in.User.ID); i >= 0 {
				ov.Users = slices.Delete(ov.Users, i, i+1)
				ov.Count = len(ov.Users)
			}
		}
		chosen.Users = append(chosen.Users, in.User.ID)
		chosen.Count = len(chosen.Users)
	}
	if err := p.SetOutcome(out); err != nil {
		return err
	}
	if len(add.Ephemeral) == 0 {
		add.ResponseURL = in.ResponseURL
	}
	return queue(ctx, c, p, add)
}

// Wake sends what the last clicks left to tell Slack.
func (v emojiVote) Wake(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	var in emojiVoteInput
	if err := p.DecodeInput(&in); err != nil {
		return err
	}
	var out emojiVoteOutcome
	if err := p.DecodeOutcome(&out); err != nil {
		return err
	}
	return v.s.flush(ctx, c, p, func() []block { return emojiBlocks(&in, &out, true) })
}

// Close completes the vote and shows the result without buttons.
func (v emojiVote) Close(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	var in emojiVoteInput
	if err := p.DecodeInput(&in); err != nil {
		return err
	}
	var out emojiVoteOutcome
	if err := p.DecodeOutcome(&out); err != nil {
		return err
	}
	if err := v.s.updateVote(ctx, c, out.message, in.Title, emojiBlocks(&in, &out, false)); err != nil {
		return err
	}
	p.Complete()
	return nil
}

// emojiBlocks is the vote's message: the title and details, then one
// section per option with its count and voters, and a button while open.
func emojiBlocks(in *emojiVoteInput, out *emojiVoteOutcome, open bool) []block {
	header := "*" + escapeMrkdwn(in.Title) + "*\n"
	if in.Details != "" {
		header += escapeMrkdwn(in.Details) + "\n"
	}
	if !open {
		header += "_This vote is closed._\n"
	}
	blocks := []block{section(header, nil)}
	family := emojiFamilies[in.EmojiFamily]
	for i, o := range in.options() {
		label, emoji := o, ""
		if in.PollType == "boolean" {
			label = map[string]string{"yes": "Approve", "no": "Reject"}[o]
			emoji = map[string]string{"yes": ":+1:", "no": ":-1:"}[o]
		} else if i < len(family) {
			emoji = ":" + family[i] + ":"
		}
		ov := out.Votes[o]
		if ov == nil {
			ov = &optionVotes{}
		}
		text := escapeMrkdwn(label) + fmt.Sprintf("   `%d`", ov.Count)
		if ov.Count > 0 {
			text += " (" + mentions(ov.Users) + ")"
		}
		var button *element
		if open {
			button = &element{Type: "button", ActionID: "cast_vote", Text: plainText(emoji, maxButtonText), Value: o}
		}
		blocks = append(blocks, section(text, button))
	}
	return blocks
}

// mentions names voters as Slack mentions, at most maxMentionsShown.
func mentions(users []string) string {
	shown := users
	if len(shown) > maxMentionsShown {
		shown = shown[:maxMentionsShown]
	}
	parts := make([]string, len(shown))
	for i, u := range shown {
		parts[i] = "<@" + u + ">"
	}
	s := strings.Join(parts, ", ")
	if rest := len(users) - len(shown); rest > 0 {
		s += fmt.Sprintf(" and %d more", rest)
	}
	return s
}
