package opencollective

import (
	"cmp"
	"context"
	"fmt"

	"github.com/metagov/metagov-go/plugin"
)

// Process state keys of the vote.
const (
	conversationIDKey = "conversation_id"
	titleKey          = "title"
)

// voteTag marks the conversations that hold votes.
const voteTag = "metagov-vote"

// Reactions that count. Open Collective's reaction picker sends 👍 with a
// variation selector (U+1F44D U+FE0F), which the original counted alone;
// the bare U+1F44D counts too, and the same for 👎.
var (
	yesReactions = []string{"\U0001F44D", "\U0001F44D\uFE0F"}
	noReactions  = []string{"\U0001F44E", "\U0001F44E\uFE0F"}
)

type voteInput struct {
	Title   string `json:"title"`
	Details string `json:"details"`
}

type voteCount struct {
	Yes int `json:"yes"`
	No  int `json:"no"`
}

// voteOutcome carries the count and, for drivers written for the original's
// first generation, the conversation's url (also the process url).
type voteOutcome struct {
	Votes   voteCount `json:"votes"`
	VoteURL string    `json:"vote_url,omitempty"`
}

// vote runs one opencollective.vote: a conversation tagged metagov-vote
// whose opening comment collects the reactions. Open Collective has no
// webhook for reactions, so the count is polled; nothing is kept in memory.
type vote struct {
	oc *OpenCollective
}

// Start opens the conversation and leaves the vote pending with a zero
// count.
func (v vote) Start(ctx context.Context, _ *plugin.Call, p *plugin.Process) error {
	var in voteInput
	if err := p.DecodeInput(&in); err != nil {
		return fmt.Errorf("starting vote: %w", err)
	}
	conv, err := v.oc.startConversation(ctx, in.Title, cmp.Or(in.Details, in.Title), []string{voteTag})
	if err != nil {
		return err
	}
	if err := p.State().Set(conversationIDKey, conv.ID); err != nil {
		return fmt.Errorf("starting vote: %w", err)
	}
	if err := p.State().Set(titleKey, in.Title); err != nil {
		return fmt.Errorf("starting vote: %w", err)
	}
	p.SetURL(conv.URL)
	if err := p.SetOutcome(voteOutcome{VoteURL: conv.URL}); err != nil {
		return fmt.Errorf("starting vote: %w", err)
	}
	p.SetStatus(plugin.StatusPending)
	return nil
}

// Poll updates the count; an unchanged count changes nothing, so the driver
// is called back only when someone reacted.
func (v vote) Poll(ctx context.Context, _ *plugin.Call, p *plugin.Process) error {
	if p.Status() != plugin.StatusPending {
		return nil
	}
	id, err := conversationID(ctx, p)
	if err != nil {
		return err
	}
	count, err := v.count(ctx, id)
	if err != nil {
		return err
	}
	return setCount(p, count)
}

// Close takes the final count, marks the conversation's title [CLOSED],
// announces the result in a comment and completes the vote.
func (v vote) Close(ctx context.Context, _ *plugin.Call, p *plugin.Process) error {
	if p.Status() == plugin.StatusCompleted {
		return nil
	}
	id, err := conversationID(ctx, p)
	if err != nil {
		return err
	}
	count, err := v.count(ctx, id)
	if err != nil {
		return err
	}
	var title string
	if _, err := p.State().Get(ctx, titleKey, &title); err != nil {
		return fmt.Errorf("closing vote: %w", err)
	}
	vars := map[string]any{"id": id, "title": "[CLOSED] " + title}
	if err := v.oc.client.do(ctx, "closing vote conversation", editConversationMutation, vars, nil); err != nil {
		return err
	}
	html := fmt.Sprintf("Voting period is closed. Final count is %d for and %d against.", count.Yes, count.No)
	if _, err := v.oc.comment(ctx, map[string]any{"html": html, "conversation": map[string]any{"id": id}}); err != nil {
		return err
	}
	if err := setCount(p, count); err != nil {
		return err
	}
	p.Complete()
	return nil
}

// count reads the reactions on the conversation's opening comment.
func (v vote) count(ctx context.Context, id string) (voteCount, error) {
	var data struct {
		Conversation *struct {
			Body *struct {
				Reactions map[string]int `json:"reactions"`
			} `json:"body"`
		} `json:"conversation"`
	}
	if err := v.oc.client.do(ctx, "counting votes", conversationReactionsQuery, map[string]any{"id": id}, &data); err != nil {
		return voteCount{}, err
	}
	if data.Conversation == nil {
		return voteCount{}, &plugin.PlatformError{Platform: name, Message: fmt.Sprintf("conversation %s not found", id)}
	}
	if data.Conversation.Body == nil {
		return voteCount{}, nil
	}
	return countVotes(data.Conversation.Body.Reactions), nil
}

// countVotes adds up the yes and no reactions.
func countVotes(reactions map[string]int) voteCount {
	var c voteCount
	for _, r := range yesReactions {
		c.Yes += reactions[r]
	}
	for _, r := range noReactions {
		c.No += reactions[r]
	}
	return c
}

// setCount writes the count into the outcome, keeping vote_url.
func setCount(p *plugin.Process, count voteCount) error {
	out := voteOutcome{VoteURL: p.URL()}
	if err := p.DecodeOutcome(&out); err != nil {
		return err
	}
	out.Votes = count
	return p.SetOutcome(out)
}

// conversationID reads the vote's conversation from the process state.
func conversationID(ctx context.Context, p *plugin.Process) (string, error) {
	var id string
	found, err := p.State().Get(ctx, conversationIDKey, &id)
	if err != nil {
		return "", fmt.Errorf("reading vote conversation: %w", err)
	}
	if !found || id == "" {
		return "", fmt.Errorf("no %s in vote state", conversationIDKey)
	}
	return id, nil
}
