package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/metagov/metagov-go/plugin"
)

// defaultIneligibleMessage is the original's notice to an ineligible voter.
const defaultIneligibleMessage = "You are not eligible to vote in this poll."

// maxGroupDM is how many people besides the bot a group DM holds.
const maxGroupDM = 8

// voters are the eligibility rules both votes share.
type voters struct {
	Channel        string   `json:"channel"`
	EligibleVoters []string `json:"eligible_voters"`
	// Users is eligible_voters' name in the original's first generation,
	// which PolicyKit still sends; eligible_voters wins when both are given.
	Users                  []string `json:"users"`
	IneligibleVoters       []string `json:"ineligible_voters"`
	IneligibleVoterMessage string   `json:"ineligible_voter_message"`
}

// eligible reports whether user may vote: in eligible_voters when that is
// given, and never in ineligible_voters.
func (v voters) eligible(user string) bool {
	if list := v.eligibleList(); len(list) > 0 && !slices.Contains(list, user) {
		return false
	}
	return !slices.Contains(v.IneligibleVoters, user)
}

// eligibleList is eligible_voters, or users when only that is given.
func (v voters) eligibleList() []string {
	if len(v.EligibleVoters) > 0 {
		return v.EligibleVoters
	}
	return v.Users
}

// check refuses a vote with nowhere to post.
func (v voters) check() error {
	list, field := v.EligibleVoters, "/eligible_voters"
	if len(list) == 0 {
		list, field = v.Users, "/users"
	}
	if v.Channel == "" && len(list) == 0 {
		return &plugin.InputError{Message: "eligible_voters or channel are required"}
	}
	if v.Channel == "" && len(list) > maxGroupDM {
		return &plugin.InputError{Field: field, Message: fmt.Sprintf(
			"without a channel the vote is posted to a group DM of the eligible voters, which holds at most %d people: give a channel", maxGroupDM)}
	}
	return nil
}

// message is where a vote's message is.
type message struct {
	Channel   string `json:"channel"`
	MessageTS string `json:"message_ts"`
}

// postVote posts a vote's message to the channel, or to the group DM of the
// eligible voters, and sets the process url to its permalink.
func (s *Slack) postVote(ctx context.Context, c *plugin.Call, p *plugin.Process, v voters, text string, blocks []block) (message, error) {
	channel := v.Channel
	if channel == "" {
		field := "/eligible_voters"
		if len(v.EligibleVoters) == 0 {
			field = "/users"
		}
		ch, err := s.openConversation(ctx, v.eligibleList(), field)
		if err != nil {
			return message{}, err
		}
		channel = ch
	}
	args := url.Values{"channel": {channel}, "text": {truncate(text, maxMessageFallback)}, "blocks": {encodeBlocks(blocks)}}
	out, err := s.callJoining(ctx, "chat.postMessage", args, "")
	if err != nil {
		return message{}, err
	}
	var m message
	if raw, ok := out["channel"]; ok {
		_ = json.Unmarshal(raw, &m.Channel)
	}
	if raw, ok := out["ts"]; ok {
		_ = json.Unmarshal(raw, &m.MessageTS)
	}
	if m.Channel == "" || m.MessageTS == "" {
		return message{}, &plugin.PlatformError{Platform: platform, Message: "chat.postMessage answered without channel and ts"}
	}
	var link struct {
		Permalink string `json:"permalink"`
	}
	// The message is posted: a missing permalink only leaves url empty.
	if err := s.api.call(ctx, "chat.getPermalink", url.Values{"channel": {m.Channel}, "message_ts": {m.MessageTS}}, "", &link); err != nil {
		c.Warn("slack: no permalink for the vote's message: %v", err)
	} else {
		p.SetURL(link.Permalink)
	}
	return m, nil
}

// updateVote replaces a closed vote's message. A message that is gone or
// can no longer be edited does not keep the vote open.
func (s *Slack) updateVote(ctx context.Context, c *plugin.Call, m message, text string, blocks []block) error {
	args := url.Values{"channel": {m.Channel}, "ts": {m.MessageTS}, "text": {truncate(text, maxMessageFallback)}, "blocks": {encodeBlocks(blocks)}}
	err := s.api.call(ctx, "chat.update", args, "", nil)
	var pe *plugin.PlatformError
	if err != nil && asPlatformError(err, &pe) && pe.Rejected {
		c.Warn("slack: the closed vote's message was not updated: %v", err)
		return nil
	}
	return err
}

// outbox is what a vote must still tell Slack after answering an
// interaction: Slack wants its answer within three seconds, so these calls
// wait for a durable timer set at once.
type outbox struct {
	// Ephemeral are notices to ineligible voters.
	Ephemeral []ephemeral `json:"ephemeral,omitempty"`
	// ResponseURL, when set, is where to send the refreshed message.
	ResponseURL string `json:"response_url,omitempty"`
}

type ephemeral struct {
	Channel string `json:"channel"`
	User    string `json:"user"`
	Text    string `json:"text"`
}

const outboxKey = "outbox"

// queue adds to the process's outbox and sets the timer that sends it.
func queue(ctx context.Context, c *plugin.Call, p *plugin.Process, add outbox) error {
	var ob outbox
	if _, err := p.State().Get(ctx, outboxKey, &ob); err != nil {
		return err
	}
	ob.Ephemeral = append(ob.Ephemeral, add.Ephemeral...)
	if add.ResponseURL != "" {
		ob.ResponseURL = add.ResponseURL
	}
	if err := p.State().Set(outboxKey, ob); err != nil {
		return err
	}
	p.WakeAt(c.Now())
	return nil
}

// flush sends the outbox: the notices, and the refreshed message (blocks)
// while the vote is open. A failure is logged, not retried: the voter can
// click again, and the vote itself is already recorded.
func (s *Slack) flush(ctx context.Context, c *plugin.Call, p *plugin.Process, blocks func() []block) error {
	var ob outbox
	found, err := p.State().Get(ctx, outboxKey, &ob)
	if err != nil || !found {
		return err
	}
	p.State().Delete(outboxKey)
	for _, e := range ob.Ephemeral {
		args := url.Values{"channel": {e.Channel}, "user": {e.User}, "text": {e.Text}}
		if err := s.api.call(ctx, "chat.postEphemeral", args, "", nil); err != nil {
			c.Warn("slack: could not tell %s they may not vote: %v", e.User, err)
		}
	}
	if ob.ResponseURL != "" && p.Status() == plugin.StatusPending {
		if err := s.respond(ctx, ob.ResponseURL, blocks()); err != nil {
			c.Warn("slack: could not refresh the vote's message: %v", err)
		}
	}
	return nil
}

// respond replaces the message an interaction came from through its
// response_url.
func (s *Slack) respond(ctx context.Context, responseURL string, blocks []block) error {
	body, err := json.Marshal(map[string]any{"replace_original": true, "blocks": blocks})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building the response_url request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.api.hc.Do(req)
	if err := plugin.CheckResponse(platform, resp, err); err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// interactionFor reads an Interactivity request about message m, or nil.
func interactionFor(req *plugin.WebhookRequest, m message) (*interaction, error) {
	in, isForm, err := parseInteraction(req)
	if err != nil || !isForm || in.Type != "block_actions" {
		return nil, err
	}
	if in.messageTS() != m.MessageTS || (in.channelID() != "" && in.channelID() != m.Channel) {
		return nil, nil
	}
	return in, nil
}

// ineligibleNotice is the notice an ineligible voter gets.
func ineligibleNotice(v voters, in *interaction) ephemeral {
	text := v.IneligibleVoterMessage
	if text == "" {
		text = defaultIneligibleMessage
	}
	return ephemeral{Channel: in.channelID(), User: in.User.ID, Text: text}
}
