package loomiofake

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// timeFormat is how Loomio serializes times.
const timeFormat = "2006-01-02T15:04:05.000Z"

// pollTypes are the poll types Loomio's API documents.
var pollTypes = []string{"proposal", "poll", "count", "score", "ranked_choice", "meeting", "dot_vote"}

// pollColumns are the poll model's columns, which Rails' parameter wrapping
// keeps from a flat JSON body (group_id lives on the topic, options on
// poll_options: both are lost).
var pollColumns = []string{"title", "details", "details_format", "poll_type", "closing_at", "opening_at", "anonymous",
	"hide_results", "specified_voters_only", "notify_on_closing_soon", "notify_on_open", "voter_can_add_options",
	"shuffle_options", "topic_id", "key", "agree_target", "dots_per_person", "max_score", "min_score"}

// pollPermitted are the poll attributes Loomio's PermittedParams allows.
var pollPermitted = []string{"agree_target", "title", "details", "details_format", "default_duration_in_days", "poll_type",
	"group_id", "topic_id", "closing_at", "opening_at", "anonymous", "hide_results", "key", "limit_reason_length",
	"shuffle_options", "show_none_of_the_above", "notify_on_closing_soon", "notify_on_open", "voter_can_add_options",
	"specified_voters_only", "recipient_audience", "recipient_message", "tags", "notify_recipients", "recipient_user_ids",
	"recipient_chatbot_ids", "recipient_emails", "can_respond_maybe", "dots_per_person", "max_score", "min_score",
	"options", "process_name", "process_subtitle", "poll_option_name_format", "reason_prompt", "template", "time_zone",
	"stance_reason_required", "meeting_duration", "minimum_stance_choices", "maximum_stance_choices", "chart_type",
	"quorum_pct", "document_ids", "poll_template_id", "poll_template_key", "poll_options_attributes",
	"link_previews", "files", "image_files"}

// pollData is a poll the fake holds.
type pollData struct {
	id                  int64
	key                 string
	group               *Group
	topicID             int64
	author              *User
	resource            map[string]any // the attributes the controller read
	raw                 map[string]any // every parameter
	pollType            string
	hideResults         string
	anonymous           bool
	specifiedVotersOnly bool
	closingAt           time.Time
	openedAt            time.Time
	closedAt            *time.Time
	discardedAt         *time.Time
	createdAt           time.Time
	options             []*optionData
	stances             []*stance
	lastVoter           int64
}

type optionData struct {
	id   int64
	name string
}

// stance is a user's place in a poll: undecided until cast.
type stance struct {
	userID  int64
	cast    bool
	choices map[int64]int // option id → score
}

func (p *pollData) option(name string) *optionData {
	for _, o := range p.options {
		if o.name == name {
			return o
		}
	}
	return nil
}

func (p *pollData) stance(userID int64) *stance {
	for _, st := range p.stances {
		if st.userID == userID {
			return st
		}
	}
	return nil
}

// nameFormat is poll_option_name_format: proposals' options are i18n keys,
// meetings' dates.
func (p *pollData) nameFormat() string {
	switch p.pollType {
	case "proposal":
		return "i18n"
	case "meeting":
		return "iso8601"
	}
	return "plain"
}

// showResults is Poll#show_results?(voted: true), as the API serializer
// asks it: only until_closed hides anything.
func (p *pollData) showResults() bool {
	return p.hideResults != "until_closed" || p.closedAt != nil
}

// closeIfLapsed closes a poll whose closing time has passed, as Loomio's
// periodic job does. Callers hold s.mu.
func (s *Server) closeIfLapsed(p *pollData) {
	if now := s.now().UTC(); p.closedAt == nil && !s.holdOpen && !now.Before(p.closingAt) {
		closed := p.closingAt
		if closed.Before(p.openedAt) {
			closed = p.openedAt
		}
		p.closedAt = &closed
	}
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

// createPoll answers POST polls: PollService.create with the resource
// parameters, then PollService.invite with the raw ones.
func (s *Server) createPoll(w http.ResponseWriter, _ *http.Request, c *call) {
	attrs, ok := resourceParams(c, "poll", pollColumns, pollPermitted)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": 400})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	var g *Group
	var topicID int64
	if v, present := attrs["topic_id"]; present {
		id, _ := intParam(v)
		for _, d := range s.discussions {
			if d.topicID == id {
				g, topicID = d.group, id
			}
		}
		if topicID == 0 {
			notFound(w)
			return
		}
	} else if v, present := attrs["group_id"]; present {
		if g = s.groupByID(v); g == nil {
			notFound(w)
			return
		}
	}
	if g != nil && !g.isMember(c.user.ID) {
		denied(w, "create", "Poll")
		return
	}
	errs := map[string][]string{}
	if g == nil {
		errs["group"] = append(errs["group"], "can't be blank")
	}
	if strings.TrimSpace(str(attrs["title"])) == "" {
		errs["title"] = append(errs["title"], "can't be blank")
	}
	pollType := str(attrs["poll_type"])
	if !slices.Contains(pollTypes, pollType) {
		errs["poll_type"] = append(errs["poll_type"], "is not included in the list")
	}
	hide := str(attrs["hide_results"])
	if hide == "" {
		hide = "off"
	}
	if !slices.Contains([]string{"off", "until_vote", "until_closed"}, hide) {
		errs["hide_results"] = append(errs["hide_results"], "is not included in the list")
	}
	closingAt, ok := parseTime(str(attrs["closing_at"]))
	switch {
	case !ok:
		errs["closing_at"] = append(errs["closing_at"], "is invalid")
	case !closingAt.After(now):
		errs["closing_at"] = append(errs["closing_at"], "must be in the future")
	}
	options := stringsParam(attrs["options"])
	if pollType == "meeting" {
		for _, o := range options {
			if _, ok := parseTime(o); !ok {
				errs["poll_options"] = append(errs["poll_options"], fmt.Sprintf("%q is not a date or time", o))
			}
		}
	}
	if len(errs) > 0 {
		unprocessable(w, errs)
		return
	}
	s.nextID++
	p := &pollData{id: s.nextID, key: rand.Text()[:8], group: g, topicID: topicID, author: c.user, resource: attrs, raw: c.params,
		pollType: pollType, hideResults: hide, anonymous: boolParam(attrs["anonymous"]),
		specifiedVotersOnly: boolParam(attrs["specified_voters_only"]),
		// Poll#clamp_closing_at rounds the closing time down to the hour.
		closingAt: closingAt.Truncate(time.Hour), openedAt: now, createdAt: now}
	if p.anonymous {
		p.hideResults = "until_closed"
	}
	if pollType == "meeting" {
		slices.Sort(options)
	}
	for _, name := range options {
		if p.option(name) == nil {
			s.nextID++
			p.options = append(p.options, &optionData{id: s.nextID, name: name})
		}
	}
	if !p.specifiedVotersOnly {
		for _, m := range g.Members {
			if u := s.users[m.UserID]; u != nil && !u.Bot {
				p.stances = append(p.stances, &stance{userID: m.UserID})
			}
		}
	}
	// PollService.invite reads the raw parameters.
	for _, v := range stringsParam(c.params["recipient_user_ids"]) {
		if id, ok := intParam(v); ok && s.users[id] != nil && p.stance(id) == nil {
			p.stances = append(p.stances, &stance{userID: id})
		}
	}
	s.polls[p.key] = p
	s.order = append(s.order, p.key)
	writeJSON(w, http.StatusOK, s.pollDocument(p, c.user))
}

// findPoll loads a poll by id or key for the caller: nil after answering
// 404, or 403 when the caller is neither a member of its group nor a
// voter. Callers hold s.mu.
func (s *Server) findPoll(w http.ResponseWriter, ref string, u *User, action string) *pollData {
	for _, p := range s.polls {
		if p.key == ref || strconv.FormatInt(p.id, 10) == ref {
			if !p.group.isMember(u.ID) && p.stance(u.ID) == nil {
				denied(w, action, "Poll")
				return nil
			}
			return p
		}
	}
	notFound(w)
	return nil
}

// showPoll answers GET polls/:id.
func (s *Server) showPoll(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.findPoll(w, r.PathValue("id"), c.user, "show"); p != nil {
		s.closeIfLapsed(p)
		writeJSON(w, http.StatusOK, s.pollDocument(p, c.user))
	}
}

// listPolls answers GET polls?group_id=&status=active|closed|all.
func (s *Server) listPolls(w http.ResponseWriter, _ *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groupByID(c.params["group_id"])
	if g == nil {
		notFound(w)
		return
	}
	if !g.isMember(c.user.ID) {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "You are not authorized to access this page."})
		return
	}
	polls := []any{}
	for i := len(s.order) - 1; i >= 0; i-- {
		p := s.polls[s.order[i]]
		s.closeIfLapsed(p)
		if p.group != g || p.discardedAt != nil {
			continue
		}
		status := str(c.params["status"])
		if (status == "closed" && p.closedAt == nil) || (status != "closed" && status != "all" && p.closedAt != nil) {
			continue
		}
		polls = append(polls, s.pollDocument(p, c.user)["polls"].([]any)[0])
	}
	writeJSON(w, http.StatusOK, map[string]any{"polls": polls, "meta": map[string]any{"root": "polls", "total": len(polls)}})
}

// updatePoll answers PATCH polls/:id: the author (or a group admin) may
// change permitted attributes; closed_at is not one, and closing_at must
// stay in the future, so the API cannot close a poll.
func (s *Server) updatePoll(w http.ResponseWriter, r *http.Request, c *call) {
	attrs, ok := resourceParams(c, "poll", pollColumns, pollPermitted)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": 400})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.findPoll(w, r.PathValue("id"), c.user, "update")
	if p == nil {
		return
	}
	if p.author.ID != c.user.ID && !p.group.isAdmin(c.user.ID) {
		denied(w, "update", "Poll")
		return
	}
	if v, present := attrs["closing_at"]; present {
		t, ok := parseTime(str(v))
		if !ok || !t.After(s.now()) {
			unprocessable(w, map[string][]string{"closing_at": {"must be in the future"}})
			return
		}
		p.closingAt = t.Truncate(time.Hour)
	}
	if v, present := attrs["title"]; present {
		p.resource["title"] = v
	}
	writeJSON(w, http.StatusOK, s.pollDocument(p, c.user))
}

// discardPoll answers DELETE polls/:id: Loomio discards (hides) the poll;
// it does not close it.
func (s *Server) discardPoll(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.findPoll(w, r.PathValue("id"), c.user, "destroy")
	if p == nil {
		return
	}
	if p.author.ID != c.user.ID && !p.group.isAdmin(c.user.ID) {
		denied(w, "destroy", "Poll")
		return
	}
	now := s.now().UTC()
	p.discardedAt = &now
	writeJSON(w, http.StatusOK, s.pollDocument(p, c.user))
}

func formatTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Format(timeFormat)
}

// results is PollService.calculate_results: one row per option, in
// priority order, then the undecided row (all but meetings). Anonymous
// polls withhold who voted.
func (p *pollData) results() []any {
	rows := []any{}
	decided := 0
	for _, st := range p.stances {
		if st.cast {
			decided++
		}
	}
	for i, o := range p.options {
		score, scores, ids := 0, map[string]int{}, []int64{}
		for _, st := range p.stances {
			if v, ok := st.choices[o.id]; ok && st.cast {
				score += v
				scores[strconv.FormatInt(st.userID, 10)] = v
				ids = append(ids, st.userID)
			}
		}
		count := len(ids)
		if p.anonymous {
			scores, ids = map[string]int{}, []int64{}
		}
		name := o.name
		if p.nameFormat() == "i18n" {
			name = "poll_" + p.pollType + "_options." + o.name
		}
		rows = append(rows, map[string]any{"id": o.id, "poll_id": p.id, "name": name, "name_format": p.nameFormat(),
			"icon": nil, "rank": i + 1, "score": score, "voter_scores": scores, "voter_ids": ids[:min(len(ids), 50)],
			"voter_count": count, "color": "#00D177"})
	}
	if p.pollType != "meeting" {
		undecided := []int64{}
		for _, st := range p.stances {
			if !st.cast && !p.anonymous {
				undecided = append(undecided, st.userID)
			}
		}
		rows = append(rows, map[string]any{"id": -1, "poll_id": p.id, "name": "poll_common_votes_panel.undecided",
			"name_format": "i18n", "rank": nil, "score": 0, "voter_scores": map[string]int{}, "voter_ids": undecided,
			"voter_count": len(p.stances) - decided, "color": "#BBBBBB"})
	}
	return rows
}

// pollDocument renders a poll as Loomio's record envelope: the poll with
// its side-loaded options, author, topic, group and the caller's stance.
// Callers hold s.mu.
func (s *Server) pollDocument(p *pollData, caller *User) map[string]any {
	decided := 0
	for _, st := range p.stances {
		if st.cast {
			decided++
		}
	}
	pct := 0
	if len(p.stances) > 0 {
		pct = decided * 100 / len(p.stances)
	}
	names, counts := []string{}, []int{}
	options := []any{}
	for i, o := range p.options {
		total := 0
		for _, st := range p.stances {
			total += st.choices[o.id]
		}
		names, counts = append(names, o.name), append(counts, total)
		options = append(options, map[string]any{"id": o.id, "poll_id": p.id, "name": o.name, "priority": i})
	}
	details := str(p.resource["details"])
	format := str(p.resource["details_format"])
	if format == "" {
		format = "md"
	}
	poll := map[string]any{
		"id": p.id, "key": p.key, "title": str(p.resource["title"]), "details": details, "details_format": format,
		"poll_type": p.pollType, "group_id": p.group.ID, "topic_id": p.topicID, "author_id": p.author.ID,
		"closing_at": p.closingAt.Format(timeFormat), "closed_at": formatTime(p.closedAt), "opened_at": p.openedAt.Format(timeFormat),
		"opening_at": nil, "created_at": p.createdAt.Format(timeFormat), "discarded_at": formatTime(p.discardedAt),
		"anonymous": p.anonymous, "hide_results": p.hideResults, "specified_voters_only": p.specifiedVotersOnly,
		"voters_count": len(p.stances), "decided_voters_count": decided, "undecided_voters_count": len(p.stances) - decided,
		"cast_stances_pct": pct, "poll_option_names": names, "poll_option_name_format": p.nameFormat(),
		"notify_on_closing_soon": "nobody", "shuffle_options": false,
	}
	if p.showResults() {
		poll["results"] = p.results()
		poll["stance_counts"] = counts
	}
	stances := []any{}
	if st := p.stance(caller.ID); st != nil {
		stances = append(stances, map[string]any{"poll_id": p.id, "participant_id": caller.ID, "latest": true})
	}
	return map[string]any{
		"polls": []any{poll}, "poll_options": options, "stances": stances, "users": []any{userJSON(p.author)},
		"groups": []any{groupJSON(p.group)}, "topics": []any{}, "outcomes": []any{}, "memberships": []any{},
	}
}
