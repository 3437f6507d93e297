package loomio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// Process state keys of a poll.
const (
	pollKeyKey   = "poll_key"   // the poll's key on Loomio
	closingAtKey = "closing_at" // when Loomio says it closes
	lateWakesKey = "late_wakes" // fetches after closing_at that found it open
	namesKey     = "names"      // user id → name, "" when Loomio did not say
	groupIDKey   = "group_id"   // the poll's group, for voter names
)

// The waits between fetches of a poll found open after its closing time.
const (
	minLateWakeup = time.Minute
	maxLateWakeup = time.Hour
)

// maxClosingAhead bounds closing_at: a poll that long is almost certainly a
// mistake, and its timer would outlive most deployments.
const maxClosingAhead = 2 * 366 * 24 * time.Hour

// pollInput is the start parameters of a poll; see pollInputSchema.
type pollInput struct {
	groupParams
	Title                  string          `json:"title"`
	ClosingAt              string          `json:"closing_at"`
	PollType               string          `json:"poll_type"`
	Options                []string        `json:"options"`
	Details                *string         `json:"details"`
	DetailsFormat          string          `json:"details_format"`
	SpecifiedVotersOnly    *bool           `json:"specified_voters_only"`
	HideResults            string          `json:"hide_results"`
	HideResultsUntilClosed *bool           `json:"hide_results_until_closed"`
	Anonymous              *bool           `json:"anonymous"`
	DiscussionID           json.RawMessage `json:"discussion_id"`
	TopicID                int64           `json:"topic_id"`
	VoterCanAddOptions     *bool           `json:"voter_can_add_options"`
	NotifyOnClosingSoon    string          `json:"notify_on_closing_soon"`
	RecipientAudience      *string         `json:"recipient_audience"`
	RecipientUserIDs       []flexID        `json:"recipient_user_ids"`
	RecipientEmails        []string        `json:"recipient_emails"`
	RecipientMessage       *string         `json:"recipient_message"`
	NotifyRecipients       *bool           `json:"notify_recipients"`
}

// hideResults is Loomio's hide_results for the input: hide_results, else
// the original's boolean, else Loomio's default.
func (in pollInput) hideResults() string {
	switch {
	case in.HideResults != "":
		return in.HideResults
	case in.HideResultsUntilClosed != nil && *in.HideResultsUntilClosed:
		return "until_closed"
	case in.HideResultsUntilClosed != nil:
		return "off"
	}
	return ""
}

// pollFields maps Loomio's attribute names to the poll's parameters, for
// errors.
var pollFields = map[string]string{"title": "/title", "closing_at": "/closing_at", "poll_type": "/poll_type",
	"options": "/options", "poll_option_names": "/options", "poll_options": "/options", "details": "/details",
	"details_format": "/details_format", "group": "/group_id", "group_id": "/group_id", "topic": "/topic_id",
	"topic_id": "/topic_id", "hide_results": "/hide_results", "anonymous": "/anonymous",
	"notify_on_closing_soon": "/notify_on_closing_soon", "recipient_emails": "/recipient_emails",
	"recipient_user_ids": "/recipient_user_ids"}

// body is the POST /api/b2/polls request: the poll's attributes nested
// under "poll", which Loomio's controller reads as they are (a flat JSON
// body is wrapped by Rails with model columns only, losing group_id and
// options), and the invitation parameters at the top level, where
// PollService.invite reads them.
func (in pollInput) body(groupID, topicID int64, closingAt time.Time) map[string]any {
	p := map[string]any{"group_id": groupID, "title": in.Title, "poll_type": in.PollType, "options": in.Options,
		"closing_at": closingAt.UTC().Format(time.RFC3339)}
	if topicID != 0 {
		p["topic_id"] = topicID
	}
	setString(p, "details", in.Details)
	setNonEmpty(p, "details_format", in.DetailsFormat)
	setBool(p, "specified_voters_only", in.SpecifiedVotersOnly)
	setNonEmpty(p, "hide_results", in.hideResults())
	setBool(p, "anonymous", in.Anonymous)
	setBool(p, "voter_can_add_options", in.VoterCanAddOptions)
	setNonEmpty(p, "notify_on_closing_soon", in.NotifyOnClosingSoon)
	out := map[string]any{"poll": p}
	setString(out, "recipient_audience", in.RecipientAudience)
	setString(out, "recipient_message", in.RecipientMessage)
	setBool(out, "notify_recipients", in.NotifyRecipients)
	addRecipients(out, in.RecipientUserIDs, in.RecipientEmails)
	return out
}

// poll runs one Loomio poll. It keeps nothing in memory: the poll's key and
// what it learnt of voters' names live in the process state.
type poll struct{ l *Loomio }

// Start creates the poll on Loomio and leaves the process pending with the
// poll's URL (also in the outcome as poll_url, where the original's first
// generation put it) and its options. It asks to be woken at Loomio's
// closing time.
func (h poll) Start(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	var in pollInput
	if err := p.DecodeInput(&in); err != nil {
		return fmt.Errorf("starting loomio poll: %w", err)
	}
	if in.PollType == "" {
		in.PollType = "proposal"
	}
	closingAt, err := parseClosingAt(in.ClosingAt, c.Now())
	if err != nil {
		return err
	}
	g, err := h.l.groupFor(ctx, c, in.GroupID, in.Subgroup)
	if err != nil {
		return err
	}
	topicID, err := h.topic(ctx, in)
	if err != nil {
		return err
	}
	raw, err := h.l.client.send(ctx, http.MethodPost, "polls", in.body(g.ID, topicID, closingAt), pollFields)
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
	for k, v := range map[string]any{pollKeyKey: created.Key, closingAtKey: closingAt, groupIDKey: g.ID} {
		if err := p.State().Set(k, v); err != nil {
			return fmt.Errorf("starting loomio poll: %w", err)
		}
	}
	p.SetURL(h.l.pollURL(created.Key))
	p.SetStatus(plugin.StatusPending)
	if err := h.apply(ctx, p, created); err != nil {
		return fmt.Errorf("starting loomio poll: %w", err)
	}
	if p.Status() == plugin.StatusPending {
		p.WakeAt(closingAt)
	}
	return nil
}

// topic is the thread to put the poll in: topic_id, or the topic of the
// discussion discussion_id names (Loomio's current API takes topic_id; the
// original sent discussion_id), or none.
func (h poll) topic(ctx context.Context, in pollInput) (int64, error) {
	if in.TopicID != 0 {
		return in.TopicID, nil
	}
	id, err := strconv.ParseInt(strings.TrimSpace(string(in.DiscussionID)), 10, 64)
	if err != nil {
		return 0, nil // absent, or the boolean an old schema allowed
	}
	raw, err := h.l.client.get(ctx, "discussions/"+strconv.FormatInt(id, 10), nil)
	if isStatus(err, http.StatusNotFound, http.StatusForbidden) {
		return 0, &plugin.InputError{Field: "/discussion_id", Message: fmt.Sprintf("Loomio has no discussion %d the API key's user may see", id)}
	}
	if err != nil {
		return 0, fmt.Errorf("reading loomio discussion %d: %w", id, err)
	}
	var d struct {
		Discussions []struct {
			TopicID int64 `json:"topic_id"`
		} `json:"discussions"`
	}
	if err := json.Unmarshal(raw, &d); err != nil || len(d.Discussions) == 0 || d.Discussions[0].TopicID == 0 {
		return 0, &plugin.PlatformError{Platform: platform, Message: fmt.Sprintf("discussion %d has no topic_id", id)}
	}
	return d.Discussions[0].TopicID, nil
}

// ReceiveWebhook fetches the poll again when a webhook links to it, or
// links to no poll at all (a comment, a notification): Loomio's webhooks
// carry only text, so nothing else in them is trusted.
func (h poll) ReceiveWebhook(ctx context.Context, c *plugin.Call, p *plugin.Process, req *plugin.WebhookRequest) error {
	keys, err := hookKeys(req.Body)
	if err != nil {
		return nil // the instance answered 400 already
	}
	if len(keys) > 0 {
		var key string
		if _, err := p.State().Get(ctx, pollKeyKey, &key); err != nil {
			return fmt.Errorf("reading loomio poll key: %w", err)
		}
		if !keys[key] {
			return nil
		}
	}
	_, err = h.refresh(ctx, p)
	return recordRefusal(p, err)
}

// Poll fetches the poll every few minutes, since Loomio sends no webhook
// for many votes.
func (h poll) Poll(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	if p.Status() != plugin.StatusPending {
		return nil
	}
	_, err := h.refresh(ctx, p)
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
// was discarded, the key revoked) into the process's errors, which reach the
// driver by callback, since asking again will not help. Other errors are
// returned as they are.
func recordRefusal(p *plugin.Process, err error) error {
	var pe *plugin.PlatformError
	if !errors.As(err, &pe) || pe.Status < 400 || pe.Status > 499 || pe.Status == http.StatusTooManyRequests {
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

// closingLayouts are the forms closing_at may take: Loomio's API help
// shows date-times, the original's schema said "date", and Rails reads a
// zoneless time as UTC.
var closingLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

// parseClosingAt reads closing_at as a date (midnight UTC) or a date-time,
// which must lie after now (Loomio refuses a poll closing in the past) and
// at most maxClosingAhead after it.
func parseClosingAt(s string, now time.Time) (time.Time, error) {
	for _, layout := range closingLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		switch {
		case !t.After(now):
			return time.Time{}, &plugin.InputError{Field: "/closing_at",
				Message: fmt.Sprintf("closing_at %s is not in the future (now is %s)", s, now.UTC().Format(time.RFC3339))}
		case t.Sub(now) > maxClosingAhead:
			return time.Time{}, &plugin.InputError{Field: "/closing_at", Message: fmt.Sprintf("closing_at %s is more than two years ahead", s)}
		}
		return t.UTC(), nil
	}
	return time.Time{}, &plugin.InputError{Field: "/closing_at",
		Message: fmt.Sprintf("closing_at %q is neither a date (2024-09-22) nor a date-time (2024-09-22T04:00:00Z)", s)}
}

// pollPath is the API path of a poll by key.
func pollPath(key string) string { return "polls/" + url.PathEscape(key) }
