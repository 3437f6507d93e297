package loomio

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/metagov/metagov-go/plugin"
)

// Webhook kinds after which a poll is fetched again: a vote, and the two
// ways a poll closes.
const (
	kindStanceCreated    = "stance_created"
	kindPollClosedByUser = "poll_closed_by_user"
	kindPollExpired      = "poll_expired"
)

// maxHookURL bounds the URLs compared with a poll's.
const maxHookURL = 2048

// hook is the part of a Loomio webhook the plugin reads. Loomio's JSON
// webhook formats carry the event's kind and the URL of what it concerns
// (for a vote, the poll's URL, possibly with a query or fragment), besides
// text meant for chat apps.
type hook struct {
	Kind string `json:"kind"`
	URL  string `json:"url"`
}

// parseHook decodes a webhook body. Loomio signs nothing, so nothing in it
// is trusted: it only tells the plugin which poll to fetch again.
func parseHook(body []byte) (hook, error) {
	var h hook
	if err := json.Unmarshal(body, &h); err != nil {
		return hook{}, &plugin.InputError{Message: "webhook body is not a JSON object: " + err.Error()}
	}
	return h, nil
}

// refetches reports whether a webhook of this kind can change a poll.
func (h hook) refetches() bool {
	switch h.Kind {
	case kindStanceCreated, kindPollClosedByUser, kindPollExpired:
		return true
	}
	return false
}

// concerns reports whether the webhook's URL is the poll at pollURL: the
// same URL, or it followed by a path, query or fragment. Loomio has moved
// its canonical host (loomio.org to loomio.com), so a URL on another host
// whose path is /p/<key> also counts; a false match costs only a fetch.
func (h hook) concerns(pollURL, key string) bool {
	if h.URL == "" || pollURL == "" || len(h.URL) > maxHookURL {
		return false
	}
	if rest, ok := strings.CutPrefix(h.URL, pollURL); ok {
		if rest == "" || strings.ContainsAny(rest[:1], "/?#") {
			return true
		}
	}
	u, err := url.Parse(h.URL)
	if err != nil || key == "" {
		return false
	}
	path := strings.TrimSuffix(u.Path, "/")
	return path == "/p/"+key || strings.HasPrefix(path, "/p/"+key+"/")
}

// ReceiveWebhook accepts any well-formed JSON body: the instance itself has
// nothing to do, and the pending polls that the webhook concerns fetch
// themselves from Loomio (see poll.ReceiveWebhook). A body that is not JSON
// is the sender's mistake (400), and no poll looks at it.
func (l *Loomio) ReceiveWebhook(_ context.Context, _ *plugin.Call, req *plugin.WebhookRequest) (*plugin.WebhookResponse, error) {
	if _, err := parseHook(req.Body); err != nil {
		return nil, err
	}
	return nil, nil
}
