package discoursefake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Discourse's default site settings for lengths, which the fake enforces
// as Discourse does (422 with the validation message).
const (
	minTopicTitleLength   = 15
	minPMTitleLength      = 2
	minPostLength         = 20
	minPMPostLength       = 10
	minPostLengthMessage  = "Body is too short (minimum is %d characters)"
	minTitleLengthMessage = "Title must be at least %d characters"
)

func (s *Server) about(_ *call) (int, any) {
	return http.StatusOK, map[string]any{"about": map[string]any{
		"title": s.opts.Title, "description": "A fake forum for tests", "version": "3.4.0",
		"can_see_about_stats": true, "contact_url": "", "contact_email": "",
	}}
}

func (s *Server) listUsers(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, 0, len(s.users))
	for id, u := range s.users {
		if id > 0 && (c.params["flag"] != "staff" || u.Admin) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		out = append(out, userListJSON(s.users[id]))
	}
	return http.StatusOK, out
}

func (s *Server) adminUser(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := strconv.ParseInt(c.params["id"], 10, 64)
	u, ok := s.users[id]
	if !ok {
		return http.StatusNotFound, errorJSON("not_found", msgNotFound)
	}
	return http.StatusOK, adminUserJSON(u)
}

// createPostBody is the JSON body of POST /posts.json.
type createPostBody struct {
	Raw              string `json:"raw"`
	Title            string `json:"title"`
	TopicID          *int64 `json:"topic_id"`
	Category         *int64 `json:"category"`
	TargetRecipients string `json:"target_recipients"`
	Archetype        string `json:"archetype"`
	IsWarning        bool   `json:"is_warning"`
}

// createPost creates a reply when topic_id is given, else a topic or, with
// archetype private_message, a message thread, as the API user.
func (s *Server) createPost(c *call) (int, any) {
	var in createPostBody
	if err := json.Unmarshal(c.body, &in); err != nil {
		return http.StatusBadRequest, errorJSON("invalid_parameters", err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByName(s.opts.APIUsername)
	fail := func(format string, n int) (int, any) {
		return http.StatusUnprocessableEntity, map[string]any{"action": "create_post", "errors": []string{strings.Replace(format, "%d", strconv.Itoa(n), 1)}}
	}
	pm := in.Archetype == "private_message"
	minBody := minPostLength
	if pm {
		minBody = minPMPostLength
	}
	if len(strings.TrimSpace(in.Raw)) < minBody {
		return fail(minPostLengthMessage, minBody)
	}
	var t *Topic
	if in.TopicID != nil {
		t = s.topics[*in.TopicID]
		if t == nil || t.Deleted {
			return http.StatusUnprocessableEntity, map[string]any{"action": "create_post", "errors": []string{"Topic not found"}}
		}
	} else {
		minTitle := minTopicTitleLength
		if pm {
			minTitle = minPMTitleLength
		}
		if len(strings.TrimSpace(in.Title)) < minTitle {
			return fail(minTitleLengthMessage, minTitle)
		}
		if pm && in.TargetRecipients == "" {
			return http.StatusUnprocessableEntity, map[string]any{"action": "create_post", "errors": []string{"Target recipients can't be blank"}}
		}
		archetype := "regular"
		if pm {
			archetype = "private_message"
		}
		t = s.newTopic(u, in.Title, in.Category, archetype, in.TargetRecipients)
	}
	p := s.newPost(u, t, in.Raw, in.IsWarning)
	return http.StatusOK, postJSON(p, t, u, false)
}

// newTopic adds a topic; the caller holds mu.
func (s *Server) newTopic(u *User, title string, categoryID *int64, archetype, recipients string) *Topic {
	s.nextID++
	t := &Topic{ID: s.nextID, Title: title, Slug: slugify(title), CategoryID: categoryID, Archetype: archetype,
		UserID: u.ID, Recipients: recipients, Tags: []string{}}
	s.topics[t.ID] = t
	return t
}

// newPost adds a post at the end of a topic, parsing its poll; the caller
// holds mu.
func (s *Server) newPost(u *User, t *Topic, raw string, isWarning bool) *Post {
	s.nextID++
	t.PostsCount++
	p := &Post{ID: s.nextID, TopicID: t.ID, PostNumber: t.PostsCount, Raw: raw, UserID: u.ID, Username: u.Username, IsWarning: isWarning}
	p.Poll = parsePoll(p.ID, raw)
	s.posts[p.ID] = p
	return p
}

// postByID finds a post; the caller holds mu.
func (s *Server) postByID(c *call) (*Post, *Topic, *User, bool) {
	id, _ := strconv.ParseInt(c.params["id"], 10, 64)
	p, ok := s.posts[id]
	if !ok {
		return nil, nil, nil, false
	}
	return p, s.topics[p.TopicID], s.users[p.UserID], true
}

func (s *Server) getPost(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, t, u, ok := s.postByID(c)
	if !ok {
		return http.StatusNotFound, errorJSON("not_found", msgNotFound)
	}
	return http.StatusOK, postJSON(p, t, u, true)
}

// deletePost deletes a post; deleting a topic's first post deletes the
// topic, as PostDestroyer does.
func (s *Server) deletePost(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, t, _, ok := s.postByID(c)
	if !ok {
		return http.StatusNotFound, errorJSON("not_found", msgNotFound)
	}
	p.Deleted = true
	if p.PostNumber == 1 {
		t.Deleted = true
	}
	return http.StatusOK, nil
}

func (s *Server) recoverPost(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, t, u, ok := s.postByID(c)
	if !ok {
		return http.StatusNotFound, errorJSON("not_found", msgNotFound)
	}
	p.Deleted = false
	if p.PostNumber == 1 {
		t.Deleted = false
	}
	return http.StatusOK, postJSON(p, t, u, true)
}

func (s *Server) lockPost(c *call) (int, any) {
	var in struct {
		Locked string `json:"locked"`
	}
	_ = json.Unmarshal(c.body, &in)
	s.mu.Lock()
	defer s.mu.Unlock()
	p, _, _, ok := s.postByID(c)
	if !ok {
		return http.StatusNotFound, errorJSON("not_found", msgNotFound)
	}
	p.Locked = in.Locked == "true"
	return http.StatusOK, map[string]any{"locked": p.Locked}
}

func (s *Server) setTopicDeleted(c *call, deleted bool) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := strconv.ParseInt(c.params["id"], 10, 64)
	t, ok := s.topics[id]
	if !ok {
		return http.StatusNotFound, errorJSON("not_found", msgNotFound)
	}
	t.Deleted = deleted
	return http.StatusOK, nil
}

func (s *Server) deleteTopic(c *call) (int, any)  { return s.setTopicDeleted(c, true) }
func (s *Server) recoverTopic(c *call) (int, any) { return s.setTopicDeleted(c, false) }

// togglePollStatus is the poll plugin's PUT /polls/toggle_status
// (DiscoursePoll::PollsController#toggle_status): required post_id,
// poll_name and status, form or JSON encoded; errors are 422 with
// {"errors": [...]}; the answer is {"poll": <PollSerializer>}.
func (s *Server) togglePollStatus(c *call) (int, any) {
	params, err := formOrJSON(c)
	if err != nil {
		return http.StatusBadRequest, errorJSON("invalid_parameters", err.Error())
	}
	for _, name := range []string{"post_id", "poll_name", "status"} {
		if params[name] == "" {
			return http.StatusBadRequest, errorJSON("invalid_parameters", "param is missing or the value is empty: "+name)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := strconv.ParseInt(params["post_id"], 10, 64)
	p, ok := s.posts[id]
	if !ok || p.Deleted {
		return http.StatusUnprocessableEntity, map[string]any{"errors": []string{"Cannot act on a deleted post."}}
	}
	if p.Poll == nil || p.Poll.Name != params["poll_name"] {
		return http.StatusUnprocessableEntity, map[string]any{"errors": []string{"No poll named " + params["poll_name"] + " associated with this post."}}
	}
	if params["status"] != "open" && params["status"] != "closed" {
		return http.StatusUnprocessableEntity, map[string]any{"errors": []string{"Status is not included in the list"}}
	}
	p.Poll.Status = params["status"]
	return http.StatusOK, map[string]any{"poll": pollJSON(p.Poll)}
}

// formOrJSON reads request parameters the way Rails does for both
// encodings.
func formOrJSON(c *call) (map[string]string, error) {
	out := map[string]string{}
	if strings.HasPrefix(c.r.Header.Get("Content-Type"), "application/json") {
		var m map[string]any
		if err := json.Unmarshal(c.body, &m); err != nil {
			return nil, err
		}
		for k, v := range m {
			b, _ := json.Marshal(v)
			out[k] = strings.Trim(string(b), `"`)
		}
		return out, nil
	}
	req := &http.Request{Method: http.MethodPut, Header: c.r.Header, Body: io.NopCloser(bytes.NewReader(c.body))}
	if err := req.ParseForm(); err != nil {
		return nil, err
	}
	for k := range req.PostForm {
		out[k] = req.PostForm.Get(k)
	}
	return out, nil
}
