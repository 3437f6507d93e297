package loomio

import (
	"context"
	"encoding/json"
	"regexp"

	"github.com/metagov/metagov-go/plugin"
)

// pollLink finds the key of every poll a webhook links to. Loomio links a
// poll as <host>/p/<key>, followed for a vote by ?change_vote=…; the Slack
// format writes <url|title>, the others markdown [title](url). The host is
// not compared with server_url: Loomio's canonical host may differ (loomio.org
// and loomio.com), and a false match costs only a fetch.
var pollLink = regexp.MustCompile(`https?://[^\s<>()\[\]|"'` + "`" + `]+?/p/([A-Za-z0-9]+)`)

// maxHookStrings bounds the strings of a webhook body that are searched.
const maxHookStrings = 1000

// hookKeys returns the poll keys a webhook body links to, in any of
// Loomio's formats (markdown, slack, discord, microsoft, webex): every
// string in the JSON body is searched, since the formats put the text in
// different fields (text, content, markdown). Loomio signs nothing, so
// nothing else in the body is read.
func hookKeys(body []byte) (map[string]bool, error) {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, &plugin.InputError{Message: "webhook body is not JSON: " + err.Error()}
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, &plugin.InputError{Message: "webhook body is not a JSON object"}
	}
	keys := map[string]bool{}
	seen := 0
	var walk func(v any)
	walk = func(v any) {
		if seen >= maxHookStrings {
			return
		}
		switch t := v.(type) {
		case string:
			seen++
			for _, m := range pollLink.FindAllStringSubmatch(t, -1) {
				keys[m[1]] = true
			}
		case map[string]any:
			for _, x := range t {
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	walk(doc)
	return keys, nil
}

// ReceiveWebhook accepts any JSON object: the instance itself has nothing
// to do, and its pending polls fetch themselves again (see
// poll.ReceiveWebhook). A body that is not a JSON object is the sender's
// mistake (400), and no poll looks at it.
func (l *Loomio) ReceiveWebhook(_ context.Context, _ *plugin.Call, req *plugin.WebhookRequest) (*plugin.WebhookResponse, error) {
	if _, err := hookKeys(req.Body); err != nil {
		return nil, err
	}
	return nil, nil
}
