package loomiofake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// Format is a chatbot's webhook_kind: how its body is rendered.
type Format string

// The webhook formats Loomio's chatbots send.
const (
	Markdown  Format = "markdown"
	Slack     Format = "slack"
	Discord   Format = "discord"
	Microsoft Format = "microsoft"
	Webex     Format = "webex"
)

// Formats lists every webhook format.
var Formats = []Format{Markdown, Slack, Discord, Microsoft, Webex}

// Event kinds a chatbot can be sent.
const (
	StanceCreated    = "stance_created"
	PollClosedByUser = "poll_closed_by_user"
	PollExpired      = "poll_expired"
	PollCreated      = "poll_created"
	OutcomeCreated   = "outcome_created"
	NewComment       = "new_comment"
)

// Text renders the markdown text Loomio's chatbot templates write for an
// event about a poll: the notification line, the bold title link, then
// the vote (for stance_created) or the details, results and turnout. A
// new_comment links to a thread, not to the poll. Keys, ids and kinds are
// never fields of the body; only links in the text name the poll.
func (s *Server) Text(kind, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.polls[key]
	if !ok {
		return "", fmt.Errorf("no poll %s", key)
	}
	title := str(p.resource["title"])
	link := s.PollURL(p.key)
	var b strings.Builder
	switch kind {
	case StanceCreated:
		voter := s.users[p.lastVoter]
		name := "Someone"
		if voter != nil {
			name = voter.Name
		}
		fmt.Fprintf(&b, "%s voted on [%s](%s?change_vote=true)\n\n**[%s](%s)**\n\n", name, title, link, title, link)
		if st := p.stance(p.lastVoter); st != nil {
			for _, o := range p.options {
				if _, ok := st.choices[o.id]; ok {
					b.WriteString(strings.ToUpper(o.name[:1]) + o.name[1:] + "\n")
				}
			}
		}
		b.WriteString("\n")
	case NewComment:
		fmt.Fprintf(&b, "%s commented on [the thread](%s/d/k3y7hr3d/the-thread?comment_id=4201)\n\nWhat do you all think?\n", p.author.Name, s.URL)
	case PollClosedByUser, PollExpired, PollCreated, OutcomeCreated:
		lines := map[string]string{
			PollClosedByUser: p.author.Name + " closed the " + p.pollType + ": [" + title + "](" + link + ")",
			PollExpired:      "Poll closed: [" + title + "](" + link + ")",
			PollCreated:      p.author.Name + " started a " + p.pollType + ": [" + title + "](" + link + ")",
			OutcomeCreated:   p.author.Name + " shared an outcome: [" + title + "](" + link + ")",
		}
		fmt.Fprintf(&b, "%s\n\n**[%s](%s)**\n\n%s\n\n", lines[kind], title, link, str(p.resource["details"]))
		if p.showResults() {
			b.WriteString("**Results**\n\n```\n")
			for _, o := range p.options {
				n := 0
				for _, st := range p.stances {
					n += st.choices[o.id]
				}
				fmt.Fprintf(&b, "│ %-10s │ %6d │\n", o.name, n)
			}
			b.WriteString("```\n\n")
		} else {
			b.WriteString("Results are hidden until the poll closes.\n\n")
		}
		decided := 0
		for _, st := range p.stances {
			if st.cast {
				decided++
			}
		}
		fmt.Fprintf(&b, "%d of %d voted\n", decided, len(p.stances))
	default:
		return "", fmt.Errorf("the fake does not render %s", kind)
	}
	return b.String(), nil
}

var (
	markdownLink = regexp.MustCompile(`\[([^\]]*)\]\(([^)\s]+)\)`)
	markdownBold = regexp.MustCompile(`\*\*([^*]+)\*\*`)
)

// Body renders a webhook body in a format, as Loomio's
// Webhook::<Format>::TopicItemSerializer does.
func (s *Server) Body(format Format, kind, key string) ([]byte, error) {
	text, err := s.Text(kind, key)
	if err != nil {
		return nil, err
	}
	icon, username := s.URL+"/", "Loomio"
	var body map[string]any
	switch format {
	case Markdown:
		body = map[string]any{"text": text, "icon_url": icon, "username": username}
	case Slack:
		text = markdownLink.ReplaceAllString(text, "<$2|$1>")
		text = markdownBold.ReplaceAllString(text, "*$1*")
		body = map[string]any{"text": text}
	case Discord:
		content := text
		if len(content) > 1900 {
			content = content[:1900] + "... (truncated)"
		}
		body = map[string]any{"text": text, "icon_url": icon, "username": username, "content": content}
	case Webex:
		body = map[string]any{"text": text, "icon_url": icon, "username": username, "markdown": text}
	case Microsoft:
		body = map[string]any{"@type": "MessageCard", "@context": "http://schema.org/extensions", "themeColor": "#658AE7",
			"text": text, "sections": []any{}, "icon_url": icon, "username": username}
	default:
		return nil, fmt.Errorf("unknown webhook format %q", format)
	}
	return json.Marshal(body)
}

// SendWebhook POSTs the webhook a chatbot of format would get for an event
// about a poll to hookURL, unsigned, and returns the answer's status.
func (s *Server) SendWebhook(hookURL string, format Format, kind, key string) (int, error) {
	body, err := s.Body(format, kind, key)
	if err != nil {
		return 0, err
	}
	return Post(hookURL, body)
}

// Post sends a raw body to hookURL as Loomio would (JSON, no signature),
// and returns the answer's status.
func Post(hookURL string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, hookURL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("building webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("posting webhook: %w", err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}
