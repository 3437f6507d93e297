package loomiofake

import (
	"cmp"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// timeFormat is how Loomio serializes times.
const timeFormat = "2006-01-02T15:04:05.000Z"

// pollTypes are the poll types the API help lists.
var pollTypes = []string{"proposal", "poll", "count", "score", "ranked_choice", "meeting", "dot_vote"}

// proposalOptions are the options a proposal may have.
var proposalOptions = []string{"agree", "disagree", "abstain", "block"}

// pollData is a poll the fake holds.
type pollData struct {
	id        int64
	key       string
	group     *Group
	params    url.Values
	pollType  string
	closingAt time.Time
	closedAt  *time.Time
	createdAt time.Time
	options   []*optionData
	voters    map[string]bool // user ids with a stance
}

type optionData struct {
	id     int64
	name   string
	scores map[string]int // user id → score
}

func (p *pollData) option(name string) *optionData {
	for _, o := range p.options {
		if o.name == name {
			return o
		}
	}
	return nil
}

// parseTime reads a date or an ISO 8601 date-time, as Rails does.
func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// validatePoll returns Loomio-style field errors for the create parameters.
func validatePoll(p url.Values, now time.Time) map[string][]string {
	errs := map[string][]string{}
	if strings.TrimSpace(p.Get("title")) == "" {
		errs["title"] = append(errs["title"], "can't be blank")
	}
	pollType := p.Get("poll_type")
	if !slices.Contains(pollTypes, pollType) {
		errs["poll_type"] = append(errs["poll_type"], "is not included in the list")
	}
	if t, ok := parseTime(p.Get("closing_at")); !ok {
		errs["closing_at"] = append(errs["closing_at"], "is invalid")
	} else if !t.After(now) {
		errs["closing_at"] = append(errs["closing_at"], "must be in the future")
	}
	options := p["options[]"]
	if len(options) == 0 {
		errs["options"] = append(errs["options"], "can't be blank")
	}
	for _, o := range options {
		switch {
		case pollType == "proposal" && !slices.Contains(proposalOptions, o):
			errs["options"] = append(errs["options"], fmt.Sprintf("%q is not one of agree, disagree, abstain, block", o))
		case pollType == "meeting":
			if _, ok := parseTime(o); !ok {
				errs["options"] = append(errs["options"], fmt.Sprintf("%q is not an iso8601 date or datetime", o))
			}
		}
	}
	for _, name := range []string{"specified_voters_only", "hide_results_until_closed", "anonymous", "voter_can_add_options"} {
		if v := p.Get(name); v != "" && v != "true" && v != "false" {
			errs[name] = append(errs[name], "is not a boolean")
		}
	}
	return errs
}

// createPoll creates a poll in the key's group and answers like showPoll.
func (s *Server) createPoll(w http.ResponseWriter, _ *http.Request, p url.Values, g *Group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	if errs := validatePoll(p, now); len(errs) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"errors": errs})
		return
	}
	closingAt, _ := parseTime(p.Get("closing_at"))
	s.nextID++
	poll := &pollData{id: s.nextID, key: rand.Text()[:8], group: g, params: p, pollType: p.Get("poll_type"),
		closingAt: closingAt, createdAt: now, voters: map[string]bool{}}
	for _, name := range p["options[]"] {
		s.nextID++
		poll.options = append(poll.options, &optionData{id: s.nextID, name: name, scores: map[string]int{}})
	}
	s.polls[poll.key] = poll
	s.order = append(s.order, poll.key)
	writeJSON(w, http.StatusOK, s.pollDocument(poll))
}

// showPoll answers GET polls/<key> to a key of the poll's group.
func (s *Server) showPoll(w http.ResponseWriter, r *http.Request, _ url.Values, g *Group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	poll, ok := s.polls[r.PathValue("key")]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"exception": "ActiveRecord::RecordNotFound Couldn't find Poll"})
		return
	}
	if poll.group.ID != g.ID {
		writeJSON(w, http.StatusForbidden, map[string]any{"exception": "CanCan::AccessDenied You are not authorized to access this page."})
		return
	}
	if now := s.now().UTC(); poll.closedAt == nil && !s.holdOpen && !now.Before(poll.closingAt) {
		closed := poll.closingAt
		poll.closedAt = &closed
	}
	writeJSON(w, http.StatusOK, s.pollDocument(poll))
}

// pollDocument renders a poll with its side-loaded options, stances and
// group, as Loomio's poll serializer does. Callers hold s.mu.
func (s *Server) pollDocument(p *pollData) map[string]any {
	voters := max(len(p.group.Members), len(p.voters))
	decided := len(p.voters)
	pct := 0
	if voters > 0 {
		pct = decided * 100 / voters
	}
	var closedAt any
	if p.closedAt != nil {
		closedAt = p.closedAt.Format(timeFormat)
	}
	names, ids, counts := []string{}, []int64{}, []int{}
	options := []map[string]any{}
	for i, o := range p.options {
		total := 0
		for _, score := range o.scores {
			total += score
		}
		names, ids, counts = append(names, o.name), append(ids, o.id), append(counts, len(o.scores))
		options = append(options, map[string]any{"id": o.id, "name": o.name, "poll_id": p.id, "priority": i,
			"voter_scores": o.scores, "total_score": total})
	}
	stances := []map[string]any{}
	for voter := range p.voters {
		scores := map[string]int{}
		for _, o := range p.options {
			if score, ok := o.scores[voter]; ok {
				scores[fmt.Sprint(o.id)] = score
			}
		}
		stances = append(stances, map[string]any{"poll_id": p.id, "participant_id": voter, "option_scores": scores, "latest": true})
	}
	poll := map[string]any{
		"id": p.id, "key": p.key, "title": p.params.Get("title"), "details": p.params.Get("details"),
		"details_format": cmp.Or(p.params.Get("details_format"), "md"), "poll_type": p.pollType, "group_id": p.group.ID,
		"closing_at": p.closingAt.Format(timeFormat), "closed_at": closedAt, "created_at": p.createdAt.Format(timeFormat),
		"anonymous": p.params.Get("anonymous") == "true", "voters_count": voters, "decided_voters_count": decided,
		"undecided_voters_count": voters - decided, "cast_stances_pct": pct, "poll_option_names": names,
		"poll_option_ids": ids, "stance_counts": counts, "discussion_id": nil,
		"hide_results_until_closed": p.params.Get("hide_results_until_closed") == "true",
		"specified_voters_only":     p.params.Get("specified_voters_only") == "true",
	}
	return map[string]any{
		"polls": []any{poll}, "poll_options": options, "stances": stances, "groups": []any{groupJSON(p.group)},
		"users": []any{}, "events": []any{}, "outcomes": []any{}, "meta": map[string]any{"root": "polls", "total": nil},
	}
}
