package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// defaultIneligibleMessage is the original's notice to an ineligible voter.
const defaultIneligibleMessage = "You are not eligible to vote in this poll."

// Discord's limits on a message's buttons and content.
const (
	maxButtonsPerRow = 5
	maxRows          = 5
	maxContent       = 2000
	maxMentionsShown = 20
	castVotePrefix   = "cast_vote_"
)

var voteInputSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"title": {"type": "string", "minLength": 1, "maxLength": 256},
		"poll_type": {"type": "string", "enum": ["boolean", "choice"]},
		"channel": ` + snowflakeSchema + `,
		"options": {"type": "array", "maxItems": 25, "uniqueItems": true, "items": {"type": "string", "minLength": 1, "maxLength": 80},
			"description": "the choices of a choice vote, one button each (at most 25: five rows of five); ignored for boolean, whose options are yes and no"},
		"details": {"type": "string", "maxLength": 1000},
		"eligible_voters": {"type": "array", "maxItems": 10000, "uniqueItems": true, "items": ` + snowflakeSchema + `,
			"description": "Discord user ids who may vote (empty: anyone who sees the message)"},
		"ineligible_voters": {"type": "array", "maxItems": 10000, "uniqueItems": true, "items": ` + snowflakeSchema + `,
			"description": "Discord user ids who may not vote"},
		"ineligible_voter_message": {"type": "string", "minLength": 1, "maxLength": 2000, "default": "You are not eligible to vote in this poll."}
	},
	"required": ["title", "poll_type", "channel"]
}`)

var voteOutcomeSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"votes": {"type": "object", "description": "per option, who voted for it and how many",
			"additionalProperties": {"type": "object", "properties": {
				"users": {"type": "array", "items": {"type": "string"}},
				"count": {"type": "integer"}}}},
		"message_id": {"type": "string", "description": "the vote's message"},
		"channel": {"type": "string", "description": "the channel of the vote's message"}
	}
}`)

// voteInput is the start request.
type voteInput struct {
	Title                  string      `json:"title"`
	PollType               string      `json:"poll_type"`
	Channel                Snowflake   `json:"channel"`
	Options                []string    `json:"options"`
	Details                string      `json:"details"`
	EligibleVoters         []Snowflake `json:"eligible_voters"`
	IneligibleVoters       []Snowflake `json:"ineligible_voters"`
	IneligibleVoterMessage string      `json:"ineligible_voter_message"`
}

func (in *voteInput) options() []string {
	if in.PollType == "boolean" {
		return []string{"yes", "no"}
	}
	return in.Options
}

// eligible reports whether u may vote: in eligible_voters when that is
// given, and never in ineligible_voters.
func (in *voteInput) eligible(u Snowflake) bool {
	if len(in.EligibleVoters) > 0 && !slices.Contains(in.EligibleVoters, u) {
		return false
	}
	return !slices.Contains(in.IneligibleVoters, u)
}

// optionVotes is one option's tally.
type optionVotes struct {
	Users []string `json:"users"`
	Count int      `json:"count"`
}

// voteOutcome is the original's outcome, with the message's channel.
type voteOutcome struct {
	Votes     map[string]*optionVotes `json:"votes"`
	MessageID Snowflake               `json:"message_id,omitempty"`
	Channel   Snowflake               `json:"channel,omitempty"`
}

// vote runs one vote.
type vote struct{ d *Discord }

// Start posts the vote's message.
func (v vote) Start(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	var in voteInput
	if err := p.DecodeInput(&in); err != nil {
		return err
	}
	if in.PollType == "choice" && len(in.Options) == 0 {
		return &plugin.InputError{Field: "/options", Message: "a choice vote needs options"}
	}
	for i, o := range in.Options {
		if len(castVotePrefix+o) > 100 {
			return &plugin.InputError{Field: fmt.Sprintf("/options/%d", i), Message: "an option is at most 90 bytes (it is the button's custom_id)"}
		}
	}
	out := voteOutcome{Votes: map[string]*optionVotes{}}
	for _, o := range in.options() {
		out.Votes[o] = &optionVotes{Users: []string{}}
	}
	var msg struct {
		ID        Snowflake `json:"id"`
		ChannelID Snowflake `json:"channel_id"`
	}
	err := v.d.api.call(ctx, http.MethodPost, "/channels/"+string(in.Channel)+"/messages", render(&in, &out, true), &msg, messageFields)
	if err != nil {
		return err
	}
	if msg.ID == "" {
		return &plugin.PlatformError{Platform: platform, Message: "create message answered without an id"}
	}
	out.MessageID, out.Channel = msg.ID, in.Channel
	if msg.ChannelID != "" {
		out.Channel = msg.ChannelID
	}
	if err := p.SetOutcome(out); err != nil {
		return err
	}
	p.SetURL(fmt.Sprintf("https://discord.com/channels/%s/%s/%s", v.d.cfg.GuildID, out.Channel, out.MessageID))
	p.SetStatus(plugin.StatusPending)
	return nil
}

// ReceiveWebhook records a click on one of the vote's buttons (a voter's
// vote moves to the option clicked last) and answers it with the
// re-rendered message (UPDATE_MESSAGE), or an ineligible voter with an
// ephemeral notice.
func (v vote) ReceiveWebhook(ctx context.Context, c *plugin.Call, p *plugin.Process, req *plugin.WebhookRequest) error {
	in, err := parseInteraction(req, v.d.st)
	if err != nil || in.Type != interactionMessageComponent || in.Message == nil {
		return err
	}
	var out voteOutcome
	if err := p.DecodeOutcome(&out); err != nil {
		return err
	}
	option, ok := strings.CutPrefix(in.Data.CustomID, castVotePrefix)
	if in.Message.ID != out.MessageID || !ok {
		return nil
	}
	var input voteInput
	if err := p.DecodeInput(&input); err != nil {
		return err
	}
	voter := in.who().ID
	if voter == "" || !input.eligible(voter) {
		text := input.IneligibleVoterMessage
		if text == "" {
			text = defaultIneligibleMessage
		}
		answer(in.ID, map[string]any{"type": callbackChannelMessage, "data": map[string]any{"content": text, "flags": flagEphemeral}})
		return nil
	}
	chosen, ok := out.Votes[option]
	if ok && !slices.Contains(chosen.Users, string(voter)) {
		for _, ov := range out.Votes {
			if i := slices.Index(ov.Users, string(voter)); i >= 0 {
				ov.Users = slices.Delete(ov.Users, i, i+1)
				ov.Count = len(ov.Users)
			}
		}
		chosen.Users = append(chosen.Users, string(voter))
		chosen.Count = len(chosen.Users)
		if err := p.SetOutcome(out); err != nil {
			return err
		}
	}
	msg := render(&input, &out, true)
	if !answer(in.ID, map[string]any{"type": callbackUpdateMessage, "data": msg}) {
		// No answer is held (the gateway did not route this interaction
		// through the plugin's receivers): edit the message instead.
		return v.d.editVote(ctx, c, out, msg)
	}
	return nil
}

// Close completes the vote and edits its message to show the result, the
// buttons disabled.
func (v vote) Close(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	var in voteInput
	if err := p.DecodeInput(&in); err != nil {
		return err
	}
	var out voteOutcome
	if err := p.DecodeOutcome(&out); err != nil {
		return err
	}
	if err := v.d.editVote(ctx, c, out, render(&in, &out, false)); err != nil {
		return err
	}
	p.Complete()
	return nil
}

// editVote replaces the vote's message. A message that is gone, or a
// channel the bot no longer sees, does not keep the vote open.
func (d *Discord) editVote(ctx context.Context, c *plugin.Call, out voteOutcome, msg message) error {
	err := d.api.call(ctx, http.MethodPatch, "/channels/"+string(out.Channel)+"/messages/"+string(out.MessageID), msg, nil, fields{})
	var pe *plugin.PlatformError
	if err != nil && errors.As(err, &pe) && pe.Rejected {
		c.Warn("discord: the vote's message was not updated: %v", err)
		return nil
	}
	return err
}

// message is a create or edit message body, and UPDATE_MESSAGE's data.
type message struct {
	Content    string      `json:"content"`
	Components []actionRow `json:"components"`
	// AllowedMentions is empty: the voters are named as mentions, which
	// must not notify them at every click.
	AllowedMentions allowedMentions `json:"allowed_mentions"`
}

type allowedMentions struct {
	Parse []string `json:"parse"`
}

type actionRow struct {
	Type       int      `json:"type"` // 1
	Components []button `json:"components"`
}

type button struct {
	Type     int    `json:"type"`  // 2
	Style    int    `json:"style"` // 1, primary
	Label    string `json:"label,omitempty"`
	Emoji    *emoji `json:"emoji,omitempty"`
	CustomID string `json:"custom_id"`
	Disabled bool   `json:"disabled"`
}

type emoji struct {
	Name string `json:"name"`
}

// render is the vote's message, as the original wrote it: the title in
// bold, the details, then per option its name ("Approvals"/"Rejections"
// for boolean), its count and its voters as mentions; and one button per
// option, five to a row, disabled once the vote is closed.
func render(in *voteInput, out *voteOutcome, open bool) message {
	parts := []string{"**" + in.Title + "**"}
	if in.Details != "" {
		parts = append(parts, in.Details)
	}
	var buttons []button
	for _, o := range in.options() {
		label := o
		b := button{Type: 2, Style: 1, CustomID: castVotePrefix + o, Disabled: !open}
		if in.PollType == "boolean" {
			label = map[string]string{"yes": "Approvals", "no": "Rejections"}[o]
			b.Emoji = &emoji{Name: map[string]string{"yes": "👍", "no": "👎"}[o]}
		} else {
			b.Label = o
		}
		buttons = append(buttons, b)
		ov := out.Votes[o]
		if ov == nil {
			ov = &optionVotes{}
		}
		line := fmt.Sprintf("%s   (%d)", label, ov.Count)
		if ov.Count > 0 {
			line += " (" + mentions(ov.Users) + ")"
		}
		parts = append(parts, line)
	}
	if !open {
		parts = append(parts, "*This vote is closed.*")
	}
	content := strings.Join(parts, "\n\n")
	if r := []rune(content); len(r) > maxContent {
		content = string(r[:maxContent-1]) + "…"
	}
	rows := []actionRow{}
	for len(buttons) > 0 && len(rows) < maxRows {
		n := min(maxButtonsPerRow, len(buttons))
		rows = append(rows, actionRow{Type: 1, Components: buttons[:n]})
		buttons = buttons[n:]
	}
	return message{Content: content, Components: rows, AllowedMentions: allowedMentions{Parse: []string{}}}
}

// mentions names voters as Discord mentions, at most maxMentionsShown.
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
