package loomio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// Process state keys of a poll.
const (
	pollKeyKey   = "poll_key"   // the poll's key on Loomio
	apiKeyIDKey  = "api_key_id" // fingerprint of the key it was created with
	closingAtKey = "closing_at" // when Loomio says it closes
	lateWakesKey = "late_wakes" // fetches after closing_at that found it open
)

// The waits between fetches of a poll found open after its closing time.
const (
	minLateWakeup = time.Minute
	maxLateWakeup = time.Hour
)

// pollInput is the start parameters of a poll; see pollInputSchema.
type pollInput struct {
	Title                  string          `json:"title"`
	ClosingAt              string          `json:"closing_at"`
	PollType               string          `json:"poll_type"`
	Options                []string        `json:"options"`
	Details                *string         `json:"details"`
	DetailsFormat          string          `json:"details_format"`
	SpecifiedVotersOnly    *bool           `json:"specified_voters_only"`
	HideResultsUntilClosed *bool           `json:"hide_results_until_closed"`
	Anonymous              *bool           `json:"anonymous"`
	DiscussionID           json.RawMessage `json:"discussion_id"`
	VoterCanAddOptions     *bool           `json:"voter_can_add_options"`
	RecipientAudience      *string         `json:"recipient_audience"`
	NotifyOnClosingSoon    string          `json:"notify_on_closing_soon"`
	RecipientUserIDs       []flexID        `json:"recipient_user_ids"`
	RecipientEmails        []string        `json:"recipient_emails"`
	RecipientMessage       *string         `json:"recipient_message"`
	Subgroup               string          `json:"subgroup"`
}

// form is the POST /api/b1/polls body without the api_key: the options as
// repeated options[] fields, the recipients likewise.
func (in pollInput) form() url.Values {
	form := url.Values{"title": {in.Title}, "closing_at": {in.ClosingAt}, "poll_type": {in.PollType}}
	for _, o := range in.Options {
		form.Add("options[]", o)
	}
	setString(form, "details", in.Details)
	setNonEmpty(form, "details_format", in.DetailsFormat)
	setBool(form, "specified_voters_only", in.SpecifiedVotersOnly)
	setBool(form, "hide_results_until_closed", in.HideResultsUntilClosed)
	setBool(form, "anonymous", in.Anonymous)
	setBool(form, "voter_can_add_options", in.VoterCanAddOptions)
	setString(form, "recipient_audience", in.RecipientAudience)
	setNonEmpty(form, "notify_on_closing_soon", in.NotifyOnClosingSoon)
	setString(form, "recipient_message", in.RecipientMessage)
	if id := strings.TrimSpace(string(in.DiscussionID)); id != "" && id != "true" && id != "false" && id != "null" {
		form.Set("discussion_id", id)
	}
	addRecipients(form, in.RecipientUserIDs, in.RecipientEmails)
	return form
}

// poll runs one Loomio poll. It keeps nothing in memory: the poll's key and
// the fingerprint of its API key live in the process state.
type poll struct{ l *Loomio }

// Start creates the poll on Loomio and leaves the process pending with the
// poll's URL (also in the outcome as poll_url, where the original's first
// generation put it) and its options at zero votes. It asks to be woken at
// the closing time, in case Loomio's webhook never comes.
func (h poll) Start(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	var in pollInput
	if err := p.DecodeInput(&in); err != nil {
		return fmt.Errorf("starting loomio poll: %w", err)
	}
	if in.PollType == "" {
		in.PollType = "proposal"
	}
	closingAt, err := parseClosingAt(in.ClosingAt)
	if err != nil {
		return err
	}
	apiKey, err := h.l.apiKeyFor(ctx, c, in.Subgroup, "/subgroup")
	if err != nil {
		return err
	}
	form := in.form()
	form.Set("api_key", apiKey)
	raw, err := h.l.client.createPoll(ctx, form)
	if err != nil {
		return fmt.Errorf("creating loomio poll: %w", err)
	}
	resp, err := decodePolls(raw)
	if err != nil {
		return fmt.Errorf("creating loomio poll: %w", err)
	}
	created := resp.Polls[0]
	if created.Key == "" {
		return fmt.Errorf("creating loomio poll: %w", &plugin.PlatformError{Platform: platform, Message: "the created poll has no key"})
	}
	if t, ok := created.closingAt(); ok {
		closingAt = t
	}
	for k, v := range map[string]any{pollKeyKey: created.Key, apiKeyIDKey: fingerprint(apiKey), closingAtKey: closingAt} {
		if err := p.State().Set(k, v); err != nil {
			return fmt.Errorf("starting loomio poll: %w", err)
		}
	}
	p.SetURL(h.l.pollURL(created.Key))
	p.SetStatus(plugin.StatusPending)
	if err := h.apply(p, resp, created.Key); err != nil {
		return fmt.Errorf("starting loomio poll: %w", err)
	}
	if p.Status() == plugin.StatusPending {
		p.WakeAt(closingAt)
	}
	return nil
}

// ReceiveWebhook fetches the poll again when a vote or a closing webhook
// names it. The webhook's content is not trusted beyond that.
func (h poll) ReceiveWebhook(ctx context.Context, c *plugin.Call, p *plugin.Process, req *plugin.WebhookRequest) error {
	hk, err := parseHook(req.Body)
	if err != nil || !hk.refetches() {
		return nil
	}
	var key string
	if _, err := p.State().Get(ctx, pollKeyKey, &key); err != nil {
		return fmt.Errorf("reading loomio poll key: %w", err)
	}
	if !hk.concerns(p.URL(), key) {
		return nil
	}
	_, err = h.refresh(ctx, p)
	return recordRefusal(p, err)
}

// Wake fetches the poll at its closing time. Loomio closes lapsed polls in
// a periodic job, so a poll may still be open when it is due; it is then
// fetched again, waiting twice as long each time, up to an hour. A poll
// whose closing time was moved later is fetched at the new time.
func (h poll) Wake(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	if p.Status() != plugin.StatusPending {
		return nil
	}
	open, err := h.refresh(ctx, p)
	if err != nil || p.Status() == plugin.StatusCompleted {
		// A refusal is recorded and ends the wake-ups; anything else is
		// retried by the gateway.
		return recordRefusal(p, err)
	}
	now := c.Now()
	if t, ok := open.closingAt(); ok && t.After(now) {
		if err := p.State().Set(closingAtKey, t); err != nil {
			return fmt.Errorf("rescheduling loomio poll: %w", err)
		}
		p.WakeAt(t)
		return nil
	}
	var late int
	if _, err := p.State().Get(ctx, lateWakesKey, &late); err != nil {
		return fmt.Errorf("rescheduling loomio poll: %w", err)
	}
	if err := p.State().Set(lateWakesKey, late+1); err != nil {
		return fmt.Errorf("rescheduling loomio poll: %w", err)
	}
	p.WakeAt(now.Add(lateWakeDelay(late)))
	return nil
}

// recordRefusal turns Loomio's refusal to show the poll (a 4xx: the poll
// was deleted, the key revoked) into the process's errors, which reach the
// driver by callback, since asking again will not help. Other errors are
// returned as they are.
func recordRefusal(p *plugin.Process, err error) error {
	var pe *plugin.PlatformError
	if !errors.As(err, &pe) || pe.Status < 400 || pe.Status > 499 {
		return err
	}
	return p.SetErrors(map[string]string{"loomio": pe.Error()})
}

// lateWakeDelay is the wait before the next fetch of a poll found open
// after its closing time for the n-th time (from 0).
func lateWakeDelay(n int) time.Duration {
	d := minLateWakeup
	for range n {
		d *= 2
		if d >= maxLateWakeup {
			return maxLateWakeup
		}
	}
	return d
}
