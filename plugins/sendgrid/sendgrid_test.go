package sendgrid_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	_ "github.com/metagov/metagov-go/plugins/sendgrid"
	"github.com/metagov/metagov-go/plugins/sendgrid/sendgridfake"
)

const (
	community = "sg-community"
	key       = "SG.instance-key"
	globalKey = "SG.gateway-key"
	sender    = "bot@example.org"
)

var header = []string{"X-Metagov-Community", community}

type testBundle struct {
	s    *apptest.Server
	fake *sendgridfake.Server
}

// setup starts a gateway whose settings hold globalKey for globalURL (the
// fake, when globalURL is "fake"), and enables sendgrid with config.
func start(t *testing.T, db apptest.Database, fakeKey, globalURL string) *testBundle {
	t.Helper()
	fake := sendgridfake.New(t, fakeKey, sender)
	if globalURL == "fake" {
		globalURL = fake.URL
	}
	settings := map[string]string{"SENDGRID_API_KEY": globalKey, "METAGOV_SENDGRID_API_URL": globalURL}
	s := apptest.Start(t, db, app.Config{PlatformTimeout: 300 * time.Millisecond, Settings: func(name string) string { return settings[name] }})
	r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"readable_name": "SendGrid test"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return &testBundle{s: s, fake: fake}
}

func (b *testBundle) enable(t *testing.T, cfg map[string]any) apptest.Response {
	t.Helper()
	return b.s.Do("POST", "/api/internal/plugin/sendgrid", cfg, header...)
}

func setup(t *testing.T, db apptest.Database) *testBundle {
	t.Helper()
	b := start(t, db, key, "")
	r := b.enable(t, map[string]any{"api_key": key, "api_url": b.fake.URL})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return b
}

func (b *testBundle) send(params map[string]any) apptest.Response {
	return b.s.Do("POST", "/api/internal/action/sendgrid.send-mail", map[string]any{"parameters": params}, header...)
}

// TestSendMail sends the parameters the original documented in its
// docstring, then a list of recipients with both contents.
func TestSendMail(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		r := b.send(map[string]any{"to_emails": "to@example.com", "from_email": "Metagov Bot <bot@example.org>",
			"subject": "Sending with Twilio SendGrid is Fun", "html_content": "<strong>and easy to do anywhere, even with Python</strong>"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, map[string]any{"response": true, "message_id": "fake-msg-1"}, r.JSON(t))

		r = b.send(map[string]any{"to_emails": []string{"ana@example.com", "Ben <ben@example.com>"}, "from_email": sender,
			"subject": "Vote", "html_content": "<p>Open</p>", "plain_text_content": "Open"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))

		msgs := b.fake.Messages()
		require.Len(t, msgs, 2)
		require.Equal(t, map[string]any{
			"personalizations": []any{map[string]any{"to": []any{map[string]any{"email": "to@example.com"}}}},
			"from":             map[string]any{"email": "bot@example.org", "name": "Metagov Bot"},
			"subject":          "Sending with Twilio SendGrid is Fun",
			"content":          []any{map[string]any{"type": "text/html", "value": "<strong>and easy to do anywhere, even with Python</strong>"}},
		}, msgs[0].Body)
		require.Equal(t, map[string]any{
			"personalizations": []any{map[string]any{"to": []any{map[string]any{"email": "ana@example.com"}, map[string]any{"email": "ben@example.com", "name": "Ben"}}}},
			"from":             map[string]any{"email": sender},
			"subject":          "Vote",
			"content":          []any{map[string]any{"type": "text/plain", "value": "Open"}, map[string]any{"type": "text/html", "value": "<p>Open</p>"}},
		}, msgs[1].Body, "text/plain first, as SendGrid requires")
	})
}

func TestRefusals(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		ok := map[string]any{"from_email": sender, "to_emails": "ana@example.com", "subject": "s", "plain_text_content": "x"}
		with := func(k string, v any) map[string]any {
			out := map[string]any{}
			for kk, vv := range ok {
				out[kk] = vv
			}
			if v == nil {
				delete(out, k)
			} else {
				out[k] = v
			}
			return out
		}
		// The gateway refuses these before SendGrid is called.
		b.send(with("plain_text_content", nil)).
			RequireErrorField(t, http.StatusBadRequest, "invalid_input", "/html_content",
				"html_content or plain_text_content is required")
		b.send(with("subject", nil)).RequireErrorField(t, http.StatusBadRequest, "invalid_input", "/subject", "subject")
		b.send(with("from_email", nil)).
			RequireErrorField(t, http.StatusBadRequest, "invalid_input", "/from_email", "from_email")
		b.send(with("to_emails", []string{})).RequireErrorField(t, http.StatusBadRequest, "invalid_input", "/to_emails")
		// The original's wrong required names are unknown properties.
		b.send(with("from", sender)).RequireErrorField(t, http.StatusBadRequest, "invalid_input", "/from", "from")
		require.Empty(t, b.fake.Messages())

		// SendGrid refuses these: 400 and 403 with its errors list.
		b.send(with("to_emails", "not an address")).
			RequireErrorField(t, http.StatusUnprocessableEntity, "platform_rejected", "/to_emails",
				"sendgrid refused the input (400): personalizations.0.to.0.email: Does not contain a valid address.")
		b.send(with("from_email", "stranger@example.net")).
			RequireErrorField(t, http.StatusUnprocessableEntity, "platform_rejected", "/from_email",
				"sendgrid refused the input (403): from: The from address does not match a verified Sender Identity")
		require.Empty(t, b.fake.Messages())
	})
}

func TestFailures(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		params := map[string]any{"from_email": sender, "to_emails": "ana@example.com", "subject": "s", "html_content": "x"}

		r := b.enable(t, map[string]any{"api_key": "SG.wrong", "api_url": b.fake.URL})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		b.send(params).
			RequireErrorField(t, http.StatusBadGateway, "platform_error", "",
				"sendgrid answered 401: The provided authorization grant is invalid, expired, or revoked (SendGrid refused the API key")
		r = b.enable(t, map[string]any{"api_key": key, "api_url": b.fake.URL})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))

		b.fake.Fail(http.StatusInternalServerError, `{"errors":[{"field":null,"message":"internal error","help":null}]}`)
		b.send(params).
			RequireErrorField(t, http.StatusBadGateway, "platform_error", "", "sendgrid answered 500: internal error")
		b.fake.Fail(http.StatusTooManyRequests, `{"errors":[{"field":null,"message":"too many requests","help":null}]}`)
		b.send(params).
			RequireErrorField(t, http.StatusBadGateway, "platform_error", "",
				"sendgrid answered 429: too many requests")
		b.fake.Fail(http.StatusOK, "")
		b.send(params).
			RequireErrorField(t, http.StatusBadGateway, "platform_error", "", "not queued (is sandbox mode on?)")
		b.fake.Fail(0, "")
		b.fake.Stall(true)
		b.send(params).
			RequireErrorField(t, http.StatusGatewayTimeout, "platform_timeout", "", "sendgrid did not answer in time")
		b.fake.Stall(false)
		require.Equal(t, http.StatusOK, b.send(params).Status)
	})
}

// TestKeys: the instance key is write-only and stays with its host; the
// gateway's SENDGRID_API_KEY serves instances without one, towards
// METAGOV_SENDGRID_API_URL only.
func TestKeys(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		params := map[string]any{"from_email": sender, "to_emails": "ana@example.com", "subject": "s", "html_content": "x"}

		b := start(t, db, globalKey, "fake")
		// The original's config (domain_name, api_key) is accepted; here
		// without a key, so the gateway's is used.
		r := b.enable(t, map[string]any{"domain_name": "example.org", "api_url": b.fake.URL})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		require.Equal(t, http.StatusOK, b.send(params).Status)

		// Another host gets no gateway key.
		r = b.enable(t, map[string]any{"api_url": "https://evil.example"})
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		require.Equal(t, "/api_key", r.JSON(t)["field"])
		require.Contains(t, r.JSON(t)["detail"], "the gateway's SENDGRID_API_KEY is only sent to "+b.fake.URL)

		// With its own key, the instance uses it (the fake wants the global
		// one, so SendGrid refuses it).
		r = b.enable(t, map[string]any{"api_key": key, "api_url": b.fake.URL})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, http.StatusBadGateway, b.send(params).Status)
		c := b.s.Do("GET", "/api/internal/community/"+community, nil)
		require.NotContains(t, string(c.Body), key)
		require.Contains(t, string(c.Body), `"api_key":"********"`)
		r = b.enable(t, map[string]any{"api_key": "********", "api_url": "https://evil.example"})
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		require.Equal(t, "secret_required", r.JSON(t)["code"])

		// The default host is SendGrid's, which the global key may reach
		// when METAGOV_SENDGRID_API_URL is unset.
		fresh := apptest.SQLite(t)
		if db.Name == "postgres" {
			fresh = apptest.Postgres(t)
		}
		b2 := start(t, fresh, globalKey, "")
		r = b2.enable(t, map[string]any{})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		require.Equal(t, "https://api.sendgrid.com", r.JSON(t)["config"].(map[string]any)["api_url"])
	})
}

func TestNoKeyAnywhere(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		fake := sendgridfake.New(t, key, sender)
		s := apptest.Start(t, db, app.Config{Settings: func(string) string { return "" }})
		r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{{"name": "sendgrid", "config": map[string]any{"api_url": fake.URL}}}})
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		require.Contains(t, r.JSON(t)["detail"], "api_key is required: the gateway has no SENDGRID_API_KEY setting")
	})
}
