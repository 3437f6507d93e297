package mailgun_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	_ "github.com/metagov/metagov-go/plugins/mailgun"
	"github.com/metagov/metagov-go/plugins/mailgun/mailgunfake"
)

const (
	community = "mail-community"
	domain    = "mg.example.org"
	key       = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
)

var header = []string{"X-Metagov-Community", community}

type testBundle struct {
	s    *apptest.Server
	fake *mailgunfake.Server
}

func setup(t *testing.T, db apptest.Database) *testBundle {
	t.Helper()
	fake := mailgunfake.New(t, domain, key)
	s := apptest.Start(t, db, app.Config{PlatformTimeout: 300 * time.Millisecond})
	r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
		{"name": "mailgun", "config": map[string]any{"domain_name": domain, "api_key": key, "api_url": fake.URL}},
	}})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return &testBundle{s: s, fake: fake}
}

func (b *testBundle) send(params map[string]any) apptest.Response {
	return b.s.Do("POST", "/api/internal/action/mailgun.send-mail", map[string]any{"parameters": params}, header...)
}

// TestSendMail sends the original's parameters, then every other one.
func TestSendMail(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		r := b.send(map[string]any{"from": "Bot <bot@mg.example.org>", "to": "ana@example.com", "subject": "Vote", "text": "The vote is open."})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, map[string]any{"id": "<20260301120000.1.FAKE@mg.example.org>", "message": "Queued. Thank you."}, r.JSON(t))

		r = b.send(map[string]any{"from": "bot@mg.example.org", "to": []string{"ana@example.com", "Ben <ben@example.com>"},
			"cc": "cy@example.com, dee@example.com", "bcc": []string{"audit@example.org"}, "html": "<p>Hi</p>"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))

		msgs := b.fake.Messages()
		require.Len(t, msgs, 2)
		require.Equal(t, "application/x-www-form-urlencoded", msgs[0].ContentType)
		require.Equal(t, map[string][]string{"from": {"Bot <bot@mg.example.org>"}, "to": {"ana@example.com"}, "subject": {"Vote"}, "text": {"The vote is open."}}, msgs[0].Form)
		require.Equal(t, map[string][]string{"from": {"bot@mg.example.org"}, "to": {"ana@example.com", "Ben <ben@example.com>"},
			"cc": {"cy@example.com, dee@example.com"}, "bcc": {"audit@example.org"}, "html": {"<p>Hi</p>"}}, msgs[1].Form)
	})
}

func TestSendMailRefusals(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		// Refused by the gateway before Mailgun is called.
		b.send(map[string]any{"to": "ana@example.com", "text": "x"}).
			RequireErrorField(t, http.StatusBadRequest, "invalid_input", "/from", "from")
		b.send(map[string]any{"from": "bot@mg.example.org", "to": "ana@example.com"}).
			RequireErrorField(t, http.StatusBadRequest, "invalid_input", "/text", "text (or html) is required")
		b.send(map[string]any{"from": "bot@mg.example.org", "to": []string{}, "text": "x"}).
			RequireErrorField(t, http.StatusBadRequest, "invalid_input", "/to")
		b.send(map[string]any{"from": "bot@mg.example.org", "to": "a@example.com", "text": "x", "o:tag": "t"}).
			RequireErrorField(t, http.StatusBadRequest, "invalid_input", "/o:tag", "o:tag")
		require.Empty(t, b.fake.Messages())

		// Refused by Mailgun: its message reaches the driver, with the field.
		b.send(map[string]any{"from": "bot@mg.example.org", "to": "not an address", "text": "x"}).
			RequireErrorField(t, http.StatusUnprocessableEntity, "platform_rejected", "/to",
				"mailgun refused the input (400): to parameter is not a valid address. please check documentation")
		b.send(map[string]any{"from": "bot@", "to": "ana@example.com", "text": "x"}).
			RequireErrorField(t, http.StatusUnprocessableEntity, "platform_rejected", "/from",
				"from parameter is not a valid address")
		require.Empty(t, b.fake.Messages())
	})
}

// TestConfigErrors: a wrong key or domain is Mailgun's 401 "Forbidden" or
// 404, which the config must fix: 502, saying so.
func TestConfigErrors(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		params := map[string]any{"from": "bot@mg.example.org", "to": "ana@example.com", "text": "x"}

		r := b.s.Do("POST", "/api/internal/plugin/mailgun", map[string]any{"domain_name": domain, "api_key": "wrong", "api_url": b.fake.URL}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		b.send(params).
			RequireErrorField(t, http.StatusBadGateway, "platform_error", "",
				"mailgun answered 401: Forbidden (Mailgun refused the api_key")

		r = b.s.Do("POST", "/api/internal/plugin/mailgun", map[string]any{"domain_name": "other.example.org", "api_key": key, "api_url": b.fake.URL}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		b.send(params).
			RequireErrorField(t, http.StatusBadGateway, "platform_error", "",
				"mailgun answered 404: Domain not found: other.example.org (check domain_name")
		require.Empty(t, b.fake.Messages())
	})
}

func TestOutages(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		params := map[string]any{"from": "bot@mg.example.org", "to": "ana@example.com", "text": "x"}
		b.fake.Fail(http.StatusInternalServerError, `{"message": "Internal error"}`)
		b.send(params).
			RequireErrorField(t, http.StatusBadGateway, "platform_error", "", "mailgun answered 500: Internal error")
		b.fake.Fail(http.StatusTooManyRequests, `{"message": "Too many requests"}`)
		b.send(params).
			RequireErrorField(t, http.StatusBadGateway, "platform_error", "", "mailgun answered 429: Too many requests")
		b.fake.Fail(http.StatusOK, `<html>`)
		b.send(params).RequireErrorField(t, http.StatusBadGateway, "platform_error", "", "not Mailgun's JSON")
		b.fake.Fail(0, "")
		b.fake.Stall(true)
		b.send(params).
			RequireErrorField(t, http.StatusGatewayTimeout, "platform_timeout", "", "mailgun did not answer in time")
		b.fake.Stall(false)
		require.Equal(t, http.StatusOK, b.send(params).Status)
	})
}

// TestConfig: the key is write-only and stays with its host; api_url
// defaults to the US region and takes the EU one.
func TestConfig(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db)
		c := b.s.Do("GET", "/api/internal/community/"+community, nil).JSON(t)
		cfg := c["plugins"].([]any)[0].(map[string]any)["config"].(map[string]any)
		require.Equal(t, "********", cfg["api_key"])
		require.NotContains(t, string(b.s.Do("GET", "/api/internal/community/"+community, nil).Body), key)

		// Keeping the key while moving it elsewhere is refused.
		r := b.s.Do("POST", "/api/internal/plugin/mailgun", map[string]any{"domain_name": domain, "api_key": "********", "api_url": "https://evil.example"}, header...)
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		require.Equal(t, "secret_required", r.JSON(t)["code"])
		require.Equal(t, "/api_key", r.JSON(t)["field"])

		r = b.s.Do("POST", "/api/internal/plugin/mailgun", map[string]any{"domain_name": domain, "api_key": key}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "https://api.mailgun.net", r.JSON(t)["config"].(map[string]any)["api_url"], string(r.Body))
		r = b.s.Do("POST", "/api/internal/plugin/mailgun", map[string]any{"domain_name": domain, "api_key": key, "api_url": "https://api.eu.mailgun.net"}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))

		for _, bad := range []map[string]any{
			{"api_key": key},
			{"domain_name": domain},
			{"domain_name": "a/b", "api_key": key},
			{"domain_name": domain, "api_key": key, "api_url": "ftp://x"},
		} {
			r := b.s.Do("POST", "/api/internal/plugin/mailgun", bad, header...)
			require.Equal(t, http.StatusBadRequest, r.Status, "%v: %s", bad, r.Body)
		}
	})
}
