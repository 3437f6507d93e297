package twitter_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	"github.com/metagov/metagov-go/plugin"
	"github.com/metagov/metagov-go/plugin/plugintest"
	_ "github.com/metagov/metagov-go/plugins/twitter"
	"github.com/metagov/metagov-go/plugins/twitter/twitterfake"
)

const community = "x-community"

var (
	header = []string{"X-Metagov-Community", community}
	creds  = twitterfake.Credentials{ConsumerKey: "ck-1", ConsumerSecret: "cs-1", AccessToken: "1500-at", AccessTokenSecret: "ats-1"}
	me     = twitterfake.User{ID: "1500000000000000001", Name: "Metagov Bot", Username: "metagovbot"}
	ana    = twitterfake.User{ID: "2244994945", Name: "Ana", Username: "ana_x"}
	quiet  = twitterfake.User{ID: "783214", Name: "Quiet", Username: "quiet", NoDMs: true}
)

type testBundle struct {
	s    *apptest.Server
	fake *twitterfake.Server
}

func config(fake *twitterfake.Server, allow bool) map[string]any {
	return map[string]any{"allow_posting_tweets": allow, "api_key": creds.ConsumerKey, "api_secret_key": creds.ConsumerSecret,
		"access_token": creds.AccessToken, "access_token_secret": creds.AccessTokenSecret, "api_url": fake.URL}
}

func setup(t *testing.T, db apptest.Database, cfg app.Config) *testBundle {
	t.Helper()
	fake := twitterfake.New(t, creds, me)
	fake.AddUser(ana)
	fake.AddUser(quiet)
	if cfg.PlatformTimeout == 0 {
		cfg.PlatformTimeout = 500 * time.Millisecond
	}
	s := apptest.Start(t, db, cfg)
	r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
		{"name": "twitter", "config": config(fake, true)},
	}})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return &testBundle{s: s, fake: fake}
}

func (b *testBundle) action(name string, params map[string]any) apptest.Response {
	return b.s.Do("POST", "/api/internal/action/twitter."+name, map[string]any{"parameters": params}, header...)
}

func TestSendTweet(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		r := b.action("send-tweet", map[string]any{"text": "The vote is open"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		posts := b.fake.Posts()
		require.Len(t, posts, 1)
		require.Equal(t, map[string]any{"id": posts[0].ID, "text": "The vote is open", "edit_history_tweet_ids": []any{posts[0].ID}}, r.JSON(t))

		b.action("send-tweet", map[string]any{"text": "The vote is open"}).
			RequireErrorField(t, http.StatusUnprocessableEntity, "platform_rejected", "/text",
				"twitter refused the input (403): Forbidden: You are not allowed to create a Tweet with duplicate content.")
		b.action("send-tweet", map[string]any{}).
			RequireErrorField(t, http.StatusBadRequest, "invalid_input", "/text", "text")

		r = b.s.Do("POST", "/api/internal/plugin/twitter", config(b.fake, false), header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		b.action("send-tweet", map[string]any{"text": "another"}).
			RequireErrorField(t, http.StatusBadRequest, "invalid_input", "", "set allow_posting_tweets to true")
		require.Len(t, b.fake.Posts(), 1)
	})
}

func TestSendDM(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		r := b.action("send-dm", map[string]any{"user_id": ana.ID, "text": "hello"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, me.ID+"-"+ana.ID, r.JSON(t)["dm_conversation_id"])
		require.NotEmpty(t, r.JSON(t)["dm_event_id"])
		// The original converted the id to a number; a number is taken too.
		r = b.s.Do("POST", "/api/internal/action/twitter.send-dm", `{"parameters": {"user_id": 2244994945, "text": "again"}}`, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, []twitterfake.DM{{To: ana.ID, Text: "hello"}, {To: ana.ID, Text: "again"}}, b.fake.DMs())

		b.action("send-dm", map[string]any{"user_id": "99", "text": "hi"}).
			RequireErrorField(t, http.StatusUnprocessableEntity, "platform_rejected", "/user_id",
				"The `participant_id` query parameter value [99] is not valid")
		b.action("send-dm", map[string]any{"user_id": quiet.ID, "text": "hi"}).
			RequireErrorField(t, http.StatusUnprocessableEntity, "platform_rejected", "/user_id",
				"You cannot send messages to this user.")
		b.action("send-dm", map[string]any{"user_id": "ana", "text": "hi"}).
			RequireErrorField(t, http.StatusBadRequest, "invalid_input", "/user_id")
		require.Len(t, b.fake.DMs(), 2)
	})
}

func TestGetUserID(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		r := b.action("get-user-id", map[string]any{"screen_name": "ANA_x"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, ana.ID, strings.TrimSpace(string(r.Body)), "the id, as a JSON number")
		r = b.action("get-user-id", map[string]any{"screen_name": "metagovbot"})
		require.Equal(t, me.ID, strings.TrimSpace(string(r.Body)), "a 19-digit id keeps every digit")
		r = b.action("get-user-id", map[string]any{"screen_name": "nobody"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "false", strings.TrimSpace(string(r.Body)), "no such user: false, as in the original")
		b.action("get-user-id", map[string]any{"screen_name": "not a name"}).
			RequireErrorField(t, http.StatusUnprocessableEntity, "platform_rejected", "/screen_name",
				"does not match ^[A-Za-z0-9_]{1,15}$")
	})
}

func TestFailures(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		cfg := config(b.fake, true)
		cfg["access_token_secret"] = "wrong"
		r := b.s.Do("POST", "/api/internal/plugin/twitter", cfg, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		b.action("get-user-id", map[string]any{"screen_name": "ana_x"}).
			RequireErrorField(t, http.StatusBadGateway, "platform_error", "",
				"twitter answered 401: Unauthorized (X refused the credentials")
		r = b.s.Do("POST", "/api/internal/plugin/twitter", config(b.fake, true), header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))

		b.fake.Fail(http.StatusServiceUnavailable, `{"title":"Service Unavailable","detail":"Service Unavailable","type":"about:blank","status":503}`)
		b.action("send-tweet", map[string]any{"text": "x"}).
			RequireErrorField(t, http.StatusBadGateway, "platform_error", "",
				"twitter answered 503: Service Unavailable")
		b.fake.Fail(0, "")
		b.fake.Stall(true)
		b.action("send-tweet", map[string]any{"text": "x"}).
			RequireErrorField(t, http.StatusGatewayTimeout, "platform_timeout", "", "twitter did not answer in time")
		b.fake.Stall(false)
		require.Equal(t, http.StatusOK, b.action("send-tweet", map[string]any{"text": "x"}).Status)
	})
}

// TestCredentials: per instance and write-only; all four or none; the
// gateway's TWITTER_* settings only towards METAGOV_TWITTER_API_URL.
func TestCredentials(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		fake := twitterfake.New(t, creds, me)
		fake.AddUser(ana)
		settings := map[string]string{"TWITTER_API_KEY": creds.ConsumerKey, "TWITTER_API_SECRET_KEY": creds.ConsumerSecret,
			"TWITTER_ACCESS_TOKEN": creds.AccessToken, "TWITTER_ACCESS_TOKEN_SECRET": creds.AccessTokenSecret, "METAGOV_TWITTER_API_URL": fake.URL}
		s := apptest.Start(t, db, app.Config{Settings: func(n string) string { return settings[n] }})
		// The original's config: only allow_posting_tweets (api_url here
		// names the fake, the gateway's host).
		r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{
			{"name": "twitter", "config": map[string]any{"allow_posting_tweets": true, "api_url": fake.URL}}}})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		r = s.Do("POST", "/api/internal/action/twitter.get-user-id", map[string]any{"parameters": map[string]any{"screen_name": "ana_x"}}, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))

		r = s.Do("POST", "/api/internal/plugin/twitter", map[string]any{"api_url": "https://evil.example"}, header...)
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		require.Equal(t, "/api_key", r.JSON(t)["field"])
		r = s.Do("POST", "/api/internal/plugin/twitter", map[string]any{"api_key": "k", "api_url": fake.URL}, header...)
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		require.Equal(t, "/api_secret_key", r.JSON(t)["field"])

		cfg := config(fake, true)
		r = s.Do("POST", "/api/internal/plugin/twitter", cfg, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		got := s.Do("GET", "/api/internal/community/"+community, nil)
		for _, secret := range []string{creds.ConsumerSecret, creds.AccessToken, creds.AccessTokenSecret} {
			require.NotContains(t, string(got.Body), secret)
		}
		cfg["api_key"], cfg["api_secret_key"], cfg["access_token"], cfg["access_token_secret"] = "********", "********", "********", "********"
		cfg["api_url"] = "https://evil.example"
		r = s.Do("POST", "/api/internal/plugin/twitter", cfg, header...)
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		require.Equal(t, "secret_required", r.JSON(t)["code"])
	})
}

// events pulls the driver events so far.
func events(t *testing.T, s *apptest.Server) []any {
	t.Helper()
	r := s.Do("GET", "/api/internal/events?after=0&limit=1000", nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	return r.JSON(t)["events"].([]any)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTimelineEvents polls every second through the gateway: the first poll
// replays nothing, later ones emit each new post once, oldest first, across
// pages.
func TestTimelineEvents(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		info, ok := plugintest.Lookup("twitter")
		require.True(t, ok)
		info.PollInterval = time.Second
		fake := twitterfake.New(t, creds, me)
		fake.Publish("old post 1", "old post 2")
		s := apptest.Start(t, db, app.Config{Plugins: []plugin.Info{info}})
		r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{"plugins": []map[string]any{{"name": "twitter", "config": config(fake, false)}}})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		const timeline = "GET /2/users/{id}/tweets"
		waitFor(t, "the first timeline read", func() bool { return fake.Requests(timeline) >= 1 })
		before := fake.Requests(timeline)
		waitFor(t, "a second timeline read", func() bool { return fake.Requests(timeline) > before })
		require.Empty(t, events(t, s), "enabling replays no old post")

		posts := fake.Publish("new 1", "new 2", "new 3")
		waitFor(t, "three events", func() bool { return len(events(t, s)) >= 3 })
		evs := events(t, s)
		require.Len(t, evs, 3)
		for i, e := range evs {
			ev := e.(map[string]any)
			require.Equal(t, "timeline_tweet", ev["event_type"])
			require.Equal(t, "twitter", ev["source"])
			data := ev["data"].(map[string]any)
			require.Equal(t, posts[i].ID, data["id"], "oldest first")
			require.Equal(t, posts[i].Text, data["text"])
			require.Equal(t, me.ID, data["author_id"])
			require.NotEmpty(t, data["created_at"])
			require.Equal(t, map[string]any{"user_id": me.ID, "provider": "twitter"}, ev["initiator"])
		}

		var texts []string
		for i := range 130 {
			texts = append(texts, "burst "+string(rune('a'+i%26))+string(rune('a'+i/26)))
		}
		fake.Publish(texts...)
		waitFor(t, "133 events", func() bool { return len(events(t, s)) >= 133 })
		evs = events(t, s)
		require.Len(t, evs, 133, "each post once")
		require.Equal(t, texts[0], evs[3].(map[string]any)["data"].(map[string]any)["text"])
		require.Equal(t, texts[129], evs[132].(map[string]any)["data"].(map[string]any)["text"])
	})
}

// TestEgressPolicy: the signing client is still the gateway's, so the
// egress policy refuses a metadata address before anything is signed or
// sent.
func TestEgressPolicy(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		b := setup(t, db, app.Config{})
		cfg := config(b.fake, true)
		cfg["api_url"] = "http://169.254.169.254"
		r := b.s.Do("POST", "/api/internal/plugin/twitter", cfg, header...)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		b.action("send-tweet", map[string]any{"text": "hi"}).
			RequireErrorField(t, http.StatusBadGateway, "egress_refused", "", "169.254.0.0/16")
	})
}
