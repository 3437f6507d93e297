package github

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	gh "github.com/google/go-github/v92/github"

	"github.com/metagov/metagov-go/plugin"
)

// voteMarker surrounds a vote in a comment: ^^^^yes^^^^.
const voteMarker = "^^^^"

// commentVote is issue-comment-vote: each user's first comment with a
// ^^^^vote^^^^ counts, the vote trimmed and lowercased.
type commentVote struct{ g *GitHub }

type commentOutcome struct {
	IssueNumber int                   `json:"issue_number"`
	Votes       map[string]usersCount `json:"votes"`
	Total       int                   `json:"total"`
	Winners     []string              `json:"winners"`
}

func (v commentVote) Start(ctx context.Context, c *plugin.Call, p *plugin.Process) error {
	var in voteInput
	if err := p.DecodeInput(&in); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("Vote by commenting on this issue with your vote between ^^^^ marks, such as ^^^^yes^^^^. Only your first vote counts.")
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
	if err := p.SetOutcome(commentOutcome{IssueNumber: ref.Number, Votes: map[string]usersCount{}, Winners: []string{}}); err != nil {
		return err
	}
	p.SetStatus(plugin.StatusPending)
	return nil
}

// parseVote returns the vote in a comment body, if it has one.
func parseVote(body string) (string, bool) {
	parts := strings.Split(body, voteMarker)
	if len(parts) < 3 {
		return "", false
	}
	vote := strings.ToLower(strings.TrimSpace(parts[1]))
	return vote, vote != ""
}

// tally reads every comment, oldest first, and counts each user's first
// vote; the app's own comments and other bots' are not votes.
func (v commentVote) tally(ctx context.Context, ref issueRef) (commentOutcome, error) {
	voted := map[string]bool{}
	byVote := map[string][]string{}
	opts := &gh.IssueListCommentsOptions{Sort: new("created"), Direction: new("asc"), ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		comments, resp, err := v.g.api.Issues.ListComments(ctx, ref.Owner, ref.Repo, ref.Number, opts)
		if err != nil {
			return commentOutcome{}, fmt.Errorf("reading the vote's comments: %w", platformError(err))
		}
		for _, cm := range comments {
			u := cm.GetUser()
			if u.GetID() == ref.BotID || u.GetType() == "Bot" || voted[u.GetLogin()] {
				continue
			}
			vote, ok := parseVote(cm.GetBody())
			if !ok {
				continue
			}
			voted[u.GetLogin()] = true
			byVote[vote] = append(byVote[vote], u.GetLogin())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	out := commentOutcome{IssueNumber: ref.Number, Votes: map[string]usersCount{}, Total: len(voted), Winners: []string{}}
	best := 0
	for vote, users := range byVote {
		out.Votes[vote] = newUsersCount(users)
		best = max(best, len(users))
	}
	for _, vote := range slices.Sorted(maps.Keys(byVote)) {
		if len(byVote[vote]) == best {
			out.Winners = append(out.Winners, vote)
		}
	}
	return out, nil
}

func (v commentVote) update(ctx context.Context, p *plugin.Process) error {
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
	if in.MaxVotes > 0 && out.Total >= in.MaxVotes {
		return v.finish(ctx, p, ref, out)
	}
	return p.SetOutcome(out)
}

func (v commentVote) finish(ctx context.Context, p *plugin.Process, ref issueRef, out commentOutcome) error {
	var b strings.Builder
	b.WriteString("This vote is now closed. The result was:\n")
	voters := []string{}
	for _, vote := range slices.Sorted(maps.Keys(out.Votes)) {
		fmt.Fprintf(&b, "\n%s: %d", vote, out.Votes[vote].Count)
		voters = append(voters, out.Votes[vote].Users...)
	}
	if len(out.Votes) == 0 {
		b.WriteString("\nno votes")
	}
	slices.Sort(voters)
	fmt.Fprintf(&b, "\n\nPeople voting: %s", strings.Join(voters, ", "))
	return v.g.finishVote(ctx, p, ref, b.String(), out)
}

// Poll counts the votes every minute, for comments whose webhook was lost.
func (v commentVote) Poll(ctx context.Context, _ *plugin.Call, p *plugin.Process) error {
	return v.update(ctx, p)
}

// ReceiveWebhook counts again on a comment created, edited or deleted on
// the vote's issue by someone other than the app.
func (v commentVote) ReceiveWebhook(ctx context.Context, _ *plugin.Call, p *plugin.Process, req *plugin.WebhookRequest) error {
	ref, err := issueOf(ctx, p)
	if err != nil {
		return err
	}
	event, pl, ok := webhookPayload(req)
	if !ok || event != "issue_comment" || !pl.concerns(v.g, ref) {
		return nil
	}
	if pl.Sender != nil && pl.Sender.ID.String() == fmt.Sprint(ref.BotID) {
		return nil
	}
	return v.update(ctx, p)
}

// Close counts, closes the issue with a comment giving the result, and
// completes the vote.
func (v commentVote) Close(ctx context.Context, _ *plugin.Call, p *plugin.Process) error {
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
