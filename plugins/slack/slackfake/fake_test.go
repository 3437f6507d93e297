package slackfake

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSignMatchesSlacksExample signs the example request of Slack's
// "Verifying requests from Slack" page and gets the signature it shows.
func TestSignMatchesSlacksExample(t *testing.T) {
	t.Parallel()
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V" +
		"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=" +
		"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN" +
		"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	require.Equal(t, "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
		Sign("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", []byte(body)))
}

// recorder is a testing.TB that records the fake's complaints instead of
// failing the test, so the test can check them.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) complaints() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errors...)
}

// call POSTs a form to the fake's Web API.
func call(t *testing.T, f *Fake, method, token string, args url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.APIURL()+"/"+method, strings.NewReader(args.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// TestFakeChecksCalls: the fake answers as Slack does and, with Slack's
// description at hand, refuses what Slack's description does not allow.
func TestFakeChecksCalls(t *testing.T) {
	t.Parallel()
	spec, _, err := loadSpec()
	require.NoError(t, err)
	rec := &recorder{TB: t}
	f := New(rec)

	_, body := call(t, f, "auth.test", "", nil)
	require.Equal(t, `{"error":"not_authed","ok":false}`, body)
	_, body = call(t, f, "auth.test", "xoxb-wrong", nil)
	require.Equal(t, `{"error":"invalid_auth","ok":false}`, body)
	_, body = call(t, f, "chat.postMessage", BotToken, url.Values{"channel": {General}, "text": {"hi"}})
	require.Contains(t, body, `"ok":true`)
	_, body = call(t, f, "chat.postMessage", BotToken, url.Values{"channel": {Random}, "text": {"hi"}})
	require.Equal(t, `{"error":"not_in_channel","ok":false}`, body)
	_, body = call(t, f, "chat.postMessage", BotToken, url.Values{"channel": {General}, "blocks": {`[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("x", 3001) + `"}}]`}})
	require.Equal(t, `{"error":"invalid_blocks","ok":false}`, body)

	f.RateLimitNext("chat.postMessage", 7)
	req, _ := http.NewRequest(http.MethodPost, f.APIURL()+"/chat.postMessage", strings.NewReader("channel=C1&text=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, "7", resp.Header.Get("Retry-After"))
	require.Empty(t, rec.complaints())

	if spec == nil {
		t.Skip("Slack's Web API description is not beside the repository: nothing more to check")
	}
	require.NotNil(t, spec.Methods["chat.postMessage"])
	require.NotNil(t, spec.Events["reaction.added"])
	_, body = call(t, f, "chat.postMessage", BotToken, url.Values{"channel": {General}})
	require.Equal(t, `{"error":"no_text","ok":false}`, body, "text is not required by the description, but a message needs text or blocks")
	_, body = call(t, f, "no.such", BotToken, nil)
	require.Equal(t, `{"error":"unknown_method","ok":false}`, body)
	_, body = call(t, f, "chat.update", BotToken, url.Values{"channel": {General}})
	require.Equal(t, `{"error":"invalid_arguments","ok":false}`, body, "ts is required")
	_, body = call(t, f, "conversations.open", BotToken, url.Values{"users": {Admin}, "return_im": {"maybe"}})
	require.Equal(t, `{"error":"invalid_arguments","ok":false}`, body)
	require.Empty(t, rec.complaints())
	_, body = call(t, f, "chat.postMessage", BotToken, url.Values{"channel": {General}, "text": {"x"}, "users": {Admin}})
	require.Equal(t, `{"error":"invalid_arg_name","ok":false}`, body)
	require.Equal(t, []string{`slackfake: chat.postMessage: argument "users" is not documented for the method`}, rec.complaints())
}
