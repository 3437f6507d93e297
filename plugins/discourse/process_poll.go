package discourse

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// pollInputSchema has the original's properties; poll_type defaults to
// regular, and options are checked in Start since number polls have none.
var pollInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"title": {"type": "string", "minLength": 1, "description": "Question of the poll; also the title of the new topic."},
		"options": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "Options to vote on; required unless poll_type is number."},
		"details": {"type": "string", "description": "Text shown above the poll."},
		"topic_id": {"type": "integer", "description": "Post the poll as a reply in this topic; without it the poll starts a new topic."},
		"category": {"type": "integer", "description": "Category of the new topic; ignored with topic_id."},
		"closing_at": {"type": "string", "description": "When Discourse closes the poll, as a date or an ISO 8601 time (the close= poll parameter)."},
		"poll_type": {"type": "string", "enum": ["regular", "multiple", "number"], "default": "regular"},
		"public": {"type": "boolean", "description": "Whether votes are public."},
		"results": {"type": "string", "enum": ["always", "on_vote", "on_close", "staff_only"], "description": "When to show results."},
		"min": {"type": "integer", "description": "For number polls the lowest number, for multiple polls the fewest options a voter picks."},
		"max": {"type": "integer", "description": "For number polls the highest number, for multiple polls the most options a voter picks."},
		"step": {"type": "integer", "description": "For number polls, the step between numbers (at least 1)."},
		"chart_type": {"type": "string", "enum": ["pie", "bar"]},
		"groups": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "Only members of these groups may vote."}
	},
	"required": ["title"]
}`)

// pollOutcomeSchema: poll_url as in the original's first revision, and votes
// once Discourse shows them.
var pollOutcomeSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"poll_url": {"type": "string", "description": "URL of the post holding the poll (also the process url)."},
		"votes": {"type": "object", "additionalProperties": {"type": "integer"},
			"description": "Votes per option, keyed by the option text the driver sent (not Discourse's rendered HTML of it); options whose results Discourse hides from the API user are left out."}
	}
}`)

// pollName is the name Discourse gives the only poll of a post.
const pollName = "poll"

// Process state keys, as the original named them.
const (
	postIDKey     = "post_id"
	topicIDKey    = "topic_id"
	topicSlugKey  = "topic_slug"
	postNumberKey = "post_number"
	// optionsKey holds the option texts the driver sent, to name Discourse's
	// options by them again.
	optionsKey = "options"
)

// pollInput is the start parameters of a poll.
type pollInput struct {
	Title     string   `json:"title"`
	Options   []string `json:"options"`
	Details   string   `json:"details"`
	TopicID   *int64   `json:"topic_id"`
	Category  *int64   `json:"category"`
	ClosingAt string   `json:"closing_at"`
	PollType  string   `json:"poll_type"`
	Public    *bool    `json:"public"`
	Results   string   `json:"results"`
	Min       *int64   `json:"min"`
	Max       *int64   `json:"max"`
	Step      *int64   `json:"step"`
	ChartType string   `json:"chart_type"`
	Groups    []string `json:"groups"`
}

// pollOutcome is the outcome of a poll.
type pollOutcome struct {
	PollURL string           `json:"poll_url"`
	Votes   map[string]int64 `json:"votes,omitempty"`
}

// poll runs one discourse.poll; everything it needs between steps is in the
// process state.
type poll struct{ d *Discourse }

// Start posts the poll and leaves it pending. Options missing from a poll
// that needs them are the caller's mistake (400; the original answered 500).
func (h poll) Start(ctx context.Context, _ *plugin.Call, p *plugin.Process) error {
	var in pollInput
	if err := p.DecodeInput(&in); err != nil {
		return err
	}
	if in.PollType == "" {
		in.PollType = "regular"
	}
	if in.PollType != "number" && len(in.Options) == 0 {
		return &plugin.InputError{Field: "/options", Message: "options are required for poll type " + in.PollType}
	}
	created, err := h.d.client.createPost(ctx, createPostRequest{
		Raw: pollRaw(in), Title: in.Title, TopicID: in.TopicID, Category: in.Category,
	})
	if err != nil {
		return fmt.Errorf("posting discourse poll: %w", err)
	}
	for key, v := range map[string]any{postIDKey: created.ID, topicIDKey: created.TopicID,
		topicSlugKey: created.TopicSlug, postNumberKey: created.PostNumber, optionsKey: in.Options} {
		if err := p.State().Set(key, v); err != nil {
			return err
		}
	}
	url := h.d.postURL(created.TopicSlug, created.TopicID, created.PostNumber)
	p.SetURL(url)
	p.SetStatus(plugin.StatusPending)
	return p.SetOutcome(pollOutcome{PollURL: url})
}

// pollRaw writes the post as the original did: the details line, the [poll]
// BBCode with its parameters in a fixed order, the title as a heading, one
// bullet per option (none for number polls, whose options Discourse
// generates), and [/poll].
func pollRaw(in pollInput) string {
	params := []string{"type=" + in.PollType}
	if in.ClosingAt != "" {
		params = append(params, "close="+in.ClosingAt)
	}
	if len(in.Groups) > 0 {
		params = append(params, "groups="+strings.Join(in.Groups, ","))
	}
	if in.Public != nil && *in.Public {
		params = append(params, "public=true")
	}
	if in.ChartType != "" {
		params = append(params, "chartType="+in.ChartType)
	}
	for _, n := range []struct {
		name string
		v    *int64
	}{{"min", in.Min}, {"max", in.Max}, {"step", in.Step}} {
		if n.v != nil {
			params = append(params, n.name+"="+strconv.FormatInt(*n.v, 10))
		}
	}
	if in.Results != "" {
		params = append(params, "results="+in.Results)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n[poll %s]\n# %s\n", in.Details, strings.Join(params, " "), in.Title)
	if in.PollType != "number" {
		for _, o := range in.Options {
			fmt.Fprintf(&b, "* %s\n", o)
		}
	}
	b.WriteString("\n[/poll]\n")
	return b.String()
}

// Poll fetches the post and copies the votes into the outcome; when someone
// on Discourse closed the poll (or its close time passed), the process
// completes.
func (h poll) Poll(ctx context.Context, _ *plugin.Call, p *plugin.Process) error {
	if p.Status() != plugin.StatusPending {
		return nil
	}
	postID, err := h.postID(ctx, p)
	if err != nil {
		return err
	}
	post, err := h.d.client.getPost(ctx, postID)
	if err != nil {
		return fmt.Errorf("fetching discourse poll post %d: %w", postID, err)
	}
	dp, ok := findPoll(post.Polls)
	if !ok {
		return p.SetErrors(map[string]string{"poll": fmt.Sprintf("post %d has no poll any more", postID)})
	}
	return h.update(ctx, p, dp)
}

// Close closes the poll on Discourse (the poll plugin's toggle_status) and
// completes the process with the final votes.
func (h poll) Close(ctx context.Context, _ *plugin.Call, p *plugin.Process) error {
	postID, err := h.postID(ctx, p)
	if err != nil {
		return err
	}
	dp, err := h.d.client.togglePollStatus(ctx, postID, pollName, "closed")
	if err != nil {
		return fmt.Errorf("closing discourse poll on post %d: %w", postID, err)
	}
	if err := h.update(ctx, p, dp); err != nil {
		return err
	}
	p.Complete()
	return nil
}

// update puts the poll's votes in the outcome, keyed by the driver's option
// texts, and completes the process if the poll is closed.
func (h poll) update(ctx context.Context, p *plugin.Process, dp discoursePoll) error {
	var out pollOutcome
	if err := p.DecodeOutcome(&out); err != nil {
		return err
	}
	var sent []string
	if _, err := p.State().Get(ctx, optionsKey, &sent); err != nil {
		return err
	}
	names := optionNames(sent, dp.Options)
	out.Votes = map[string]int64{}
	for i, o := range dp.Options {
		if o.Votes != nil {
			out.Votes[names[i]] = *o.Votes
		}
	}
	if err := p.SetOutcome(out); err != nil {
		return err
	}
	if dp.Status == "closed" {
		p.Complete()
	}
	return nil
}

// optionNames names each of Discourse's options by the option text the
// driver sent. Discourse keeps an option as cooked HTML ("A & B" comes back
// as "A &amp; B", "**x**" as "<strong>x</strong>"), but its id is the MD5 of
// the option's markdown source as JavaScript's JSON.stringify([source])
// writes it (the poll plugin's discourse-markdown/poll.js), so the driver's
// texts are found by that digest; failing that (a Discourse that digests
// differently), by position when the counts agree, since Discourse keeps
// the order; else the HTML is the name, as for number polls, whose options
// Discourse makes.
func optionNames(sent []string, opts []pollOption) []string {
	byDigest := map[string]string{}
	for _, s := range sent {
		byDigest[optionDigest(s)] = s
	}
	names := make([]string, len(opts))
	matched := 0
	for i, o := range opts {
		if s, ok := byDigest[o.ID]; ok {
			names[i] = s
			matched++
		}
	}
	for i, o := range opts {
		switch {
		case names[i] != "":
		case matched == 0 && len(sent) == len(opts):
			names[i] = sent[i]
		default:
			names[i] = o.HTML
		}
	}
	return names
}

// optionDigest is the id Discourse gives an option whose markdown is text:
// the hex MD5 of JSON.stringify([text]), text trimmed as markdown trims a
// list item. encoding/json writes the same JSON as JSON.stringify once told
// not to escape <, > and &, except for U+2028 and U+2029, which it always
// escapes and JSON.stringify does not.
func optionDigest(text string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode([]string{strings.TrimSpace(text)})
	js := strings.TrimSuffix(b.String(), "\n")
	js = strings.NewReplacer(`\u2028`, "\u2028", `\u2029`, "\u2029").Replace(js)
	sum := md5.Sum([]byte(js))
	return hex.EncodeToString(sum[:])
}

// postID reads the id of the poll's post from the process state.
func (h poll) postID(ctx context.Context, p *plugin.Process) (int64, error) {
	var id int64
	found, err := p.State().Get(ctx, postIDKey, &id)
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("discourse poll %d has no %s in its state", p.ID(), postIDKey)
	}
	return id, nil
}

// findPoll picks the post's poll named "poll", or else its first poll.
func findPoll(polls []discoursePoll) (discoursePoll, bool) {
	for _, dp := range polls {
		if dp.Name == pollName {
			return dp, true
		}
	}
	if len(polls) > 0 {
		return polls[0], true
	}
	return discoursePoll{}, false
}
