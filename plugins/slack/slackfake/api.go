package slackfake

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// generalErrors are the codes Slack documents for every method (or outside
// the per-method lists of its 2021 description), which the fake may answer
// whatever the method's list says.
var generalErrors = map[string]bool{
	"not_authed": true, "invalid_auth": true, "invalid_arguments": true, "invalid_arg_name": true,
	"unknown_method": true, "ratelimited": true, "invalid_blocks": true, "missing_scope": true,
	"fake_not_implemented": true, "invalid_code": true, "bad_client_secret": true, "invalid_client_id": true,
}

// answer is a handler's result: the fields besides ok, or an error code.
type answer struct {
	fields map[string]any
	err    string
}

func ok(fields map[string]any) answer { return answer{fields: fields} }
func fail(code string) answer         { return answer{err: code} }

// serveAPI answers POST or GET /api/<method>.
func (f *Fake) serveAPI(w http.ResponseWriter, r *http.Request, spec *webAPI) {
	method := r.PathValue("method")
	args := url.Values{}
	if r.Method == http.MethodPost {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/x-www-form-urlencoded" {
			f.t.Errorf("slackfake: %s sent as %q; the plugin sends forms", method, r.Header.Get("Content-Type"))
		}
		if err := r.ParseForm(); err != nil {
			f.write(w, method, nil, "", fail("invalid_form_data"), spec)
			return
		}
		args = r.PostForm
	}
	for k, v := range r.URL.Query() {
		args[k] = v
	}
	token := args.Get("token")
	if bearer, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found {
		token = bearer
	}
	flat := map[string]string{}
	for k, v := range args {
		if k != "token" {
			flat[k] = v[0]
		}
	}
	f.mu.Lock()
	retry, limited := f.limit[method]
	delete(f.limit, method)
	f.mu.Unlock()
	if limited {
		f.record(Call{Method: method, Args: flat, Token: token, Error: "ratelimited"})
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"ok":false,"error":"ratelimited"}`))
		return
	}
	var ms *methodSpec
	if spec != nil {
		ms = spec.Methods[method]
		if ms == nil {
			f.write(w, method, flat, token, fail("unknown_method"), spec)
			return
		}
		if code := checkArgs(f, method, ms, flat); code != "" {
			f.write(w, method, flat, token, fail(code), spec)
			return
		}
	}
	a := f.handle(method, flat, token)
	if spec == nil && a.err == "fake_not_implemented" {
		// Without the description the fake cannot tell a real method it
		// does not model from one Slack does not have; it implements every
		// method the plugin calls, so it answers as Slack does for the
		// latter.
		a = fail("unknown_method")
	}
	f.write(w, method, flat, token, a, spec)
}

// checkArgs checks the arguments against the method's description: an
// undocumented one fails the test, a missing required one or a malformed
// boolean or number is invalid_arguments.
func checkArgs(f *Fake, method string, ms *methodSpec, args map[string]string) string {
	for name, v := range args {
		p, ok := ms.Params[name]
		if !ok || p.In == "header" {
			f.t.Errorf("slackfake: %s: argument %q is not documented for the method", method, name)
			return "invalid_arg_name"
		}
		switch p.Type {
		case "boolean":
			if v != "true" && v != "false" && v != "1" && v != "0" {
				return "invalid_arguments"
			}
		case "integer":
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return "invalid_arguments"
			}
		case "number":
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return "invalid_arguments"
			}
		}
	}
	for name, p := range ms.Params {
		if p.Required && p.In != "header" && name != "token" {
			if _, ok := args[name]; !ok {
				return "invalid_arguments"
			}
		}
	}
	return ""
}

func (f *Fake) record(c Call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

// write sends an answer, checking that an error code is documented.
func (f *Fake) write(w http.ResponseWriter, method string, args map[string]string, token string, a answer, spec *webAPI) {
	f.record(Call{Method: method, Args: args, Token: token, Error: a.err})
	body := map[string]any{"ok": a.err == ""}
	if a.err != "" {
		body["error"] = a.err
		if spec != nil {
			if ms := spec.Methods[method]; ms != nil && ms.Errors != nil && !ms.Errors[a.err] && !generalErrors[a.err] {
				f.t.Errorf("slackfake: %s: error %q is not documented for the method", method, a.err)
			}
		}
	} else {
		for k, v := range a.fields {
			body[k] = v
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(body)
}

// handle performs a method as the caller.
func (f *Fake) handle(method string, args map[string]string, token string) answer {
	f.mu.Lock()
	defer f.mu.Unlock()
	if method == "oauth.v2.access" {
		return f.oauthAccess(args)
	}
	if token == "" {
		return fail("not_authed")
	}
	caller, known := f.tokens[token]
	if !known {
		return fail("invalid_auth")
	}
	if codes := f.fail[method]; len(codes) > 0 {
		f.fail[method] = codes[1:]
		return fail(codes[0])
	}
	switch method {
	case "auth.test":
		return ok(map[string]any{"url": "https://fake.slack.com/", "team": TeamName, "user": f.users[caller].Name,
			"team_id": TeamID, "user_id": caller})
	case "users.info":
		u, found := f.users[args["user"]]
		if !found {
			return fail("user_not_found")
		}
		return ok(map[string]any{"user": map[string]any{"id": u.ID, "team_id": TeamID, "name": u.Name,
			"is_admin": u.IsAdmin, "is_owner": false, "is_bot": u.IsBot, "deleted": false}})
	case "conversations.open":
		return f.conversationsOpen(caller, args)
	case "conversations.join":
		ch, found := f.channels[args["channel"]]
		if !found {
			return fail("channel_not_found")
		}
		if ch.IsIM || ch.IsMPIM {
			return fail("method_not_supported_for_channel_type")
		}
		ch.Members[caller] = true
		return ok(map[string]any{"channel": map[string]any{"id": ch.ID, "name": ch.Name, "is_channel": true, "is_member": true}})
	case "chat.postMessage":
		return f.postMessage(caller, args)
	case "chat.update":
		m, found := f.messages[args["channel"]+"/"+args["ts"]]
		if _, chFound := f.channels[args["channel"]]; !chFound {
			return fail("channel_not_found")
		}
		if !found {
			return fail("message_not_found")
		}
		if m.User != caller {
			return fail("cant_update_message")
		}
		if code := checkMessage(args); code != "" {
			return fail(code)
		}
		if b, has := args["blocks"]; has {
			m.Blocks = json.RawMessage(b)
		}
		if t, has := args["text"]; has {
			m.Text = t
		}
		return ok(map[string]any{"channel": m.Channel, "ts": m.TS, "text": m.Text})
	case "chat.getPermalink":
		if _, found := f.messages[args["channel"]+"/"+args["message_ts"]]; !found {
			return fail("message_not_found")
		}
		return ok(map[string]any{"channel": args["channel"],
			"permalink": "https://fake.slack.com/archives/" + args["channel"] + "/p" + strings.ReplaceAll(args["message_ts"], ".", "")})
	case "chat.postEphemeral":
		ch, found := f.channels[args["channel"]]
		if !found {
			return fail("channel_not_found")
		}
		if !ch.Members[args["user"]] {
			return fail("user_not_in_channel")
		}
		if code := checkMessage(args); code != "" {
			return fail(code)
		}
		f.ephemerals = append(f.ephemerals, Ephemeral{Channel: ch.ID, User: args["user"], Text: args["text"]})
		return ok(map[string]any{"message_ts": f.ts()})
	default:
		return fail("fake_not_implemented")
	}
}

// conversationsOpen opens the DM (one user) or group DM (2 to 8) of users
// with the caller.
func (f *Fake) conversationsOpen(caller string, args map[string]string) answer {
	list := args["users"]
	if list == "" {
		return fail("users_list_not_supplied")
	}
	users := strings.Split(list, ",")
	if len(users) > 8 {
		return fail("too_many_users")
	}
	members := map[string]bool{caller: true}
	for _, u := range users {
		if _, found := f.users[u]; !found {
			return fail("user_not_found")
		}
		members[u] = true
	}
	for _, ch := range f.channels {
		if (ch.IsIM || ch.IsMPIM) && sameSet(ch.Members, members) {
			return ok(map[string]any{"channel": map[string]any{"id": ch.ID}, "already_open": true})
		}
	}
	ch := &Channel{Members: members, IsIM: len(users) == 1, IsMPIM: len(users) > 1}
	if ch.IsIM {
		ch.ID = f.id("D")
	} else {
		ch.ID = f.id("G")
	}
	f.channels[ch.ID] = ch
	return ok(map[string]any{"channel": map[string]any{"id": ch.ID}})
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// postMessage posts to a channel the caller is in.
func (f *Fake) postMessage(caller string, args map[string]string) answer {
	ch, found := f.channels[args["channel"]]
	if !found {
		return fail("channel_not_found")
	}
	if !ch.Members[caller] {
		return fail("not_in_channel")
	}
	if code := checkMessage(args); code != "" {
		return fail(code)
	}
	m := &Message{Channel: ch.ID, TS: f.ts(), User: caller, Text: args["text"]}
	if b, has := args["blocks"]; has {
		m.Blocks = json.RawMessage(b)
	}
	f.messages[ch.ID+"/"+m.TS] = m
	return ok(map[string]any{"channel": ch.ID, "ts": m.TS,
		"message": map[string]any{"type": "message", "text": m.Text, "user": caller, "ts": m.TS, "blocks": m.Blocks}})
}

// checkMessage checks a message's text and blocks as Slack does.
func checkMessage(args map[string]string) string {
	text, hasText := args["text"]
	blocks, hasBlocks := args["blocks"]
	if (!hasText || text == "") && !hasBlocks {
		return "no_text"
	}
	if utf8.RuneCountInString(text) > 40000 {
		return "msg_too_long"
	}
	if hasBlocks {
		return checkBlocks(blocks)
	}
	return ""
}

// checkBlocks applies Block Kit's documented limits to the blocks the
// votes use.
func checkBlocks(raw string) string {
	var blocks []struct {
		Type      string   `json:"type"`
		BlockID   string   `json:"block_id"`
		Text      *textObj `json:"text"`
		Accessory *struct {
			Type        string   `json:"type"`
			ActionID    string   `json:"action_id"`
			Text        *textObj `json:"text"`
			Value       string   `json:"value"`
			Placeholder *textObj `json:"placeholder"`
			Options     []struct {
				Text  *textObj `json:"text"`
				Value string   `json:"value"`
			} `json:"options"`
		} `json:"accessory"`
	}
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		return "invalid_blocks"
	}
	if len(blocks) > 50 {
		return "invalid_blocks"
	}
	actionIDs := map[string]bool{}
	for _, b := range blocks {
		if b.Type != "section" {
			continue
		}
		if b.Text == nil || !b.Text.valid(3000) || len(b.BlockID) > 255 {
			return "invalid_blocks"
		}
		a := b.Accessory
		if a == nil {
			continue
		}
		if a.ActionID == "" || utf8.RuneCountInString(a.ActionID) > 255 {
			return "invalid_blocks"
		}
		switch a.Type {
		case "button":
			// action_ids are unique within a block; the votes' buttons
			// share cast_vote across blocks, which Slack allows.
			if a.Text == nil || a.Text.Type != "plain_text" || !a.Text.valid(75) || utf8.RuneCountInString(a.Value) > 2000 {
				return "invalid_blocks"
			}
		case "static_select":
			if actionIDs[a.ActionID] {
				return "invalid_blocks"
			}
			actionIDs[a.ActionID] = true
			if a.Placeholder == nil || a.Placeholder.Type != "plain_text" || !a.Placeholder.valid(150) || len(a.Options) == 0 || len(a.Options) > 100 {
				return "invalid_blocks"
			}
			for _, o := range a.Options {
				if o.Text == nil || o.Text.Type != "plain_text" || !o.Text.valid(75) || o.Value == "" || utf8.RuneCountInString(o.Value) > 150 {
					return "invalid_blocks"
				}
			}
		default:
			return "invalid_blocks"
		}
	}
	return ""
}

type textObj struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func (t *textObj) valid(limit int) bool {
	return (t.Type == "mrkdwn" || t.Type == "plain_text") && t.Text != "" && utf8.RuneCountInString(t.Text) <= limit
}
