package github

import (
	"context"
	"fmt"
	"strings"

	gh "github.com/google/go-github/v92/github"

	"github.com/metagov/metagov-go/plugin"
)

// reactVote is issue-react-vote: 👍 is yes, 👎 is no, from users only
// (bots, the app included, are not counted; a user may count on both
// sides, as in the original).
type reactVote struct{ g *GitHub }

type reactOutcome struct {
	IssueNumber int                   `json:"issue_number"`
	Votes       map[string]usersCount `json:"votes"`
	Result      string                `json:"result"`
}

func (v reactVote) Start(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	var in voteInput
	if err := p.DecodeInput(&in); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("React to this issue to vote: 👍 (thumbs up) for yes, 👎 (thumbs down) for no.")
	if in.MaxVotes > 0 {
		fmt.Fprintf(&b, " This vote will end when there are %d total votes.", in.MaxVotes)
	}
	if in.HelpText != "" {
		fmt.Fprintf(&b, "\n\nAdditional guidance: %s", in.HelpText)
	}
	fmt.Fprintf(&b, "\n\nQUESTION: %s", in.Question)
	ref, err := v.g.openIssue(ctx, c, p, in, b.String())
	if err != nil {
		return err
	}
	if err := p.SetOutcome(reactOutcome{IssueNumber: ref.Number, Votes: map[string]usersCount{
		"yes": newUsersCount(nil), "no": newUsersCount(nil)}, Result: "tie"}); err != nil {
		return err
	}
	p.SetStatus(plugin.StatusPending)
	return nil
}

// tally counts the issue's reactions, every page.
func (v reactVote) tally(ctx context.Context, ref issueRef) (reactOutcome, error) {
	var yes, no []string
	seen := map[string]bool{}
	opts := &gh.ListReactionOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		reactions, resp, err := v.g.api.Reactions.ListIssueReactions(ctx, ref.Owner, ref.Repo, ref.Number, opts)
		if err != nil {
			return reactOutcome{}, fmt.Errorf("reading the vote's reactions: %w", platformError(err))
		}
		for _, r := range reactions {
			u := r.GetUser()
			if u.GetType() != "User" || u.GetID() == ref.BotID {
				continue
			}
			key := r.GetContent() + " " + u.GetLogin()
			if seen[key] {
				continue
			}
			seen[key] = true
			switch r.GetContent() {
			case "+1":
				yes = append(yes, u.GetLogin())
			case "-1":
				no = append(no, u.GetLogin())
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	out := reactOutcome{IssueNumber: ref.Number, Votes: map[string]usersCount{"yes": newUsersCount(yes), "no": newUsersCount(no)}}
	switch {
	case len(yes) > len(no):
		out.Result = "pass"
	case len(no) > len(yes):
		out.Result = "fail"
	default:
		out.Result = "tie"
	}
	return out, nil
}

// update counts the votes and closes the vote once max_votes are in (the
// original tried and crashed).
func (v reactVote) update(ctx context.Context, p *plugin.Process) error {
	ref, err := issueOf(ctx, p)
	if err != nil {
		return err
	}
	out, err := v.tally(ctx, ref)
	if err != nil {
		return err
	}
	var in voteInput
	if err := p.DecodeInput(&in); err != nil {
		return err
	}
	if in.MaxVotes > 0 && out.Votes["yes"].Count+out.Votes["no"].Count >= in.MaxVotes {
		return v.finish(ctx, p, ref, out)
	}
	return p.SetOutcome(out)
}

func (v reactVote) finish(ctx context.Context, p *plugin.Process, ref issueRef, out reactOutcome) error {
	comment := fmt.Sprintf("This vote is now closed. The result was '%s' with %d votes for and %d votes against.",
		out.Result, out.Votes["yes"].Count, out.Votes["no"].Count)
	return v.g.finishVote(ctx, p, ref, comment, out)
}

// Poll counts the votes every minute: GitHub sends no webhook for
// reactions.
func (v reactVote) Poll(ctx context.Context, _ *plugin.Call, p *plugin.Process) error {
	return v.update(ctx, p)
}

// ReceiveWebhook counts again when something happens on the vote's issue.
func (v reactVote) ReceiveWebhook(ctx context.Context, _ *plugin.Call, p *plugin.Process, req *plugin.WebhookRequest) error {
	ref, err := issueOf(ctx, p)
	if err != nil {
		return err
	}
	if _, pl, ok := webhookPayload(req); !ok || !pl.concerns(v.g, ref) {
		return nil
	}
	return v.update(ctx, p)
}

// Close counts, closes the issue with a comment giving the result, and
// completes the vote.
func (v reactVote) Close(ctx context.Context, _ *plugin.Call, p *plugin.Process) error {
	ref, err := issueOf(ctx, p)
	if err != nil {
		return err
	}
	out, err := v.tally(ctx, ref)
	if err != nil {
		return err
	}
	return v.finish(ctx, p, ref, out)
}
