package github

import (
	"context"
	"fmt"
	"slices"
	"strings"

	gh "github.com/google/go-github/v92/github"

	"github.com/metagov/metagov-go/plugin"
)

// voteInputSchema is the original's input of both issue votes.
var voteInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"repo_name": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,100}$", "description": "A repository of the owner, where the vote's issue is opened."},
		"question": {"type": "string", "minLength": 1, "maxLength": 240, "description": "The question; the issue is titled VOTE: <question>."},
		"help_text": {"type": "string", "maxLength": 10000, "description": "Additional guidance for voters, shown in the issue."},
		"max_votes": {"type": "integer", "minimum": 1, "maximum": 1000000, "description": "Close the vote once this many votes are counted."},
		"track_progress": {"type": "string", "description": "Accepted for compatibility with the original (where it crashed the start) and ignored."}
	},
	"required": ["repo_name", "question"],
	"additionalProperties": false
}`)

var usersCountSchema = `{"type": "object", "required": ["users", "count"], "properties": {"users": {"type": "array", "items": {"type": "string"}}, "count": {"type": "integer"}}}`

var reactOutcomeSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"issue_number": {"type": "integer"},
		"votes": {"type": "object", "properties": {"yes": ` + usersCountSchema + `, "no": ` + usersCountSchema + `}},
		"result": {"enum": ["pass", "fail", "tie"], "description": "pass when yes > no, fail when no > yes; the standing while pending, the result once completed."}
	}
}`)

var commentOutcomeSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"issue_number": {"type": "integer"},
		"votes": {"type": "object", "additionalProperties": ` + usersCountSchema + `, "description": "By vote (the text between ^^^^ and ^^^^, trimmed and lowercased)."},
		"total": {"type": "integer", "description": "The number of users who voted."},
		"winners": {"type": "array", "items": {"type": "string"}, "description": "The votes with the highest count, in alphabetical order."}
	}
}`)

// voteInput is the start input of both votes.
type voteInput struct {
	RepoName      string `json:"repo_name"`
	Question      string `json:"question"`
	HelpText      string `json:"help_text"`
	MaxVotes      int    `json:"max_votes"`
	TrackProgress string `json:"track_progress"`
}

// issueRef is what a vote keeps of its issue, in process state.
type issueRef struct {
	Owner    string `json:"owner"`
	Repo     string `json:"repo"`
	Number   int    `json:"issue_number"`
	BotID    int64  `json:"bot_id"`
	BotLogin string `json:"bot_login"`
}

// usersCount is one option's voters.
type usersCount struct {
	Users []string `json:"users"`
	Count int      `json:"count"`
}

func newUsersCount(users []string) usersCount {
	if users == nil {
		users = []string{}
	}
	slices.Sort(users)
	return usersCount{Users: users, Count: len(users)}
}

// openIssue opens the vote's issue and records it in the process.
func (g *GitHub) openIssue(ctx context.Context, c *plugin.Call, p *plugin.Process, in voteInput, body string) (issueRef, error) {
	owner, err := g.ownerFor(ctx, c)
	if err != nil {
		return issueRef{}, err
	}
	issue, _, err := g.api.Issues.Create(ctx, owner, in.RepoName, gh.CreateIssueRequest{
		Title: "VOTE: " + in.Question,
		Body:  new(body),
	})
	if err != nil {
		return issueRef{}, fmt.Errorf("opening the vote's issue: %w", platformError(err))
	}
	ref := issueRef{Owner: owner, Repo: in.RepoName, Number: issue.GetNumber(), BotID: issue.GetUser().GetID(), BotLogin: issue.GetUser().GetLogin()}
	if err := p.State().Set("issue", ref); err != nil {
		return issueRef{}, fmt.Errorf("recording the vote's issue: %w", err)
	}
	p.SetURL(issue.GetHTMLURL())
	return ref, nil
}

// issueOf reads the vote's issue from process state.
func issueOf(ctx context.Context, p *plugin.Process) (issueRef, error) {
	var ref issueRef
	ok, err := p.State().Get(ctx, "issue", &ref)
	if err != nil {
		return ref, fmt.Errorf("reading the vote's issue: %w", err)
	}
	if !ok {
		return ref, fmt.Errorf("process %d has no issue in its state", p.ID())
	}
	return ref, nil
}

// closeIssue closes the vote's issue (PATCH state: closed; the original
// used POST, which GitHub refuses) and then posts the closing comment. In
// this order a retry after a failure repeats only the idempotent PATCH
// and the comment, never a comment on an issue left open.
func (g *GitHub) closeIssue(ctx context.Context, ref issueRef, comment string) error {
	if _, _, err := g.api.Issues.Update(ctx, ref.Owner, ref.Repo, ref.Number, gh.UpdateIssueRequest{State: new("closed"), StateReason: new("completed")}); err != nil {
		return fmt.Errorf("closing the vote's issue: %w", platformError(err))
	}
	if _, _, err := g.api.Issues.CreateComment(ctx, ref.Owner, ref.Repo, ref.Number, gh.IssueCommentRequest{Body: comment}); err != nil {
		return fmt.Errorf("commenting on the vote's issue: %w", platformError(err))
	}
	return nil
}

// finishVote closes the vote's issue with the closing comment, then
// records the final outcome and completes the process; if GitHub fails, the
// process stays pending and the close is tried again later.
func (g *GitHub) finishVote(ctx context.Context, p *plugin.Process, ref issueRef, comment string, outcome any) error {
	if err := g.closeIssue(ctx, ref, comment); err != nil {
		return err
	}
	if err := p.SetOutcome(outcome); err != nil {
		return err
	}
	p.Complete()
	return nil
}

// concerns reports whether a delivery is about the vote's issue.
func (p payload) concerns(g *GitHub, ref issueRef) bool {
	return p.forInstallation(g.installationID) && p.Issue != nil && p.Repository != nil && p.Issue.Number == ref.Number &&
		strings.EqualFold(p.Repository.Name, ref.Repo) && strings.EqualFold(p.Repository.Owner.Login, ref.Owner)
}

// webhookPayload reads a delivery's event name and payload, for the
// processes' receivers (the instance verified it).
func webhookPayload(req *plugin.WebhookRequest) (string, payload, bool) {
	raw, err := payloadOf(req)
	if err != nil {
		return "", payload{}, false
	}
	var p payload
	if decodeNumbers(raw, &p) != nil {
		return "", payload{}, false
	}
	return req.Header.Get(headerEvent), p, true
}
