package githubfake

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// TestSign checks the signature against the example of GitHub's page on
// validating webhook deliveries.
func TestSign(t *testing.T) {
	d := Delivery{Body: []byte("Hello, World!"), Header: http.Header{}}
	d.Sign("It's a Secret to Everybody")
	require.Equal(t, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", d.Header.Get("X-Hub-Signature-256"))
}

// TestFakeRefuses checks that the fake refuses what GitHub would: app
// JWTs that are missing, foreign, expired or too long; unknown or expired
// installation tokens; another account's repository; and requests that do
// not fit GitHub's description (reported as problems).
func TestFakeRefuses(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	s := New(t, Options{Now: now})
	s.AddInstallation(1, "octo-org")
	s.AddInstallation(2, "other-org")
	s.AddRepo("octo-org", "repo")
	s.AddRepo("other-org", "theirs")

	sign := func(iss string, iat time.Time, life time.Duration) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{Issuer: iss,
			IssuedAt: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(iat.Add(life))}).SignedString(s.key)
		require.NoError(t, err)
		return "Bearer " + tok
	}
	do := func(method, path, auth, body string) (int, string) {
		req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	good := sign(s.o.AppID, now().Add(-time.Minute), 9*time.Minute)
	for name, auth := range map[string]string{
		"none": "", "foreign issuer": sign("1", now(), 5*time.Minute),
		"expired": sign(s.o.AppID, now().Add(-20*time.Minute), 9*time.Minute), "too long": sign(s.o.AppID, now(), time.Hour),
	} {
		status, _ := do("GET", "/app/installations/1", auth, "")
		require.Equal(t, http.StatusUnauthorized, status, name)
	}
	status, body := do("GET", "/app/installations/1", good, "")
	require.Equal(t, http.StatusOK, status, body)
	status, _ = do("GET", "/app/installations/3", good, "")
	require.Equal(t, http.StatusNotFound, status)

	status, body = do("POST", "/app/installations/1/access_tokens", good, "{}")
	require.Equal(t, http.StatusCreated, status, body)
	token := "Bearer " + strings.Split(strings.Split(body, `"token":"`)[1], `"`)[0]
	status, _ = do("POST", "/repos/octo-org/repo/issues", "Bearer ghs_nope", `{"title": "x"}`)
	require.Equal(t, http.StatusUnauthorized, status)
	status, _ = do("POST", "/repos/other-org/theirs/issues", token, `{"title": "x"}`)
	require.Equal(t, http.StatusNotFound, status, "another installation's repository")
	status, body = do("POST", "/repos/octo-org/repo/issues", token, `{"title": "x", "body": "y"}`)
	require.Equal(t, http.StatusCreated, status, body)
	require.Empty(t, s.takeProblems())

	if s.Validating() {
		for _, tc := range []struct{ method, path, body string }{
			{"POST", "/repos/octo-org/repo/issues", `{"title": true}`},
			{"POST", "/repos/octo-org/repo/issues/1/comments", `{"text": "no body"}`},
			{"GET", "/repos/octo-org/repo/issues/1/reactions?content=smile", ""},
			{"PATCH", "/repos/octo-org/repo/issues/1", `{"state": "shut"}`},
		} {
			status, _ = do(tc.method, tc.path, token, tc.body)
			require.Equal(t, http.StatusBadRequest, status, tc.path)
			require.NotEmpty(t, s.takeProblems(), tc.path)
		}
	}

	// Lists are paged as GitHub pages them, with a Link to the next page.
	for range 35 {
		s.Comment("octo-org", "repo", 1, "octo-org", "hi")
	}
	req, _ := http.NewRequest("GET", s.URL+"/repos/octo-org/repo/issues/1/comments", nil)
	req.Header.Set("Authorization", token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Contains(t, resp.Header.Get("Link"), `page=2`)
	require.Contains(t, resp.Header.Get("Link"), `rel="next"`)

	// Tokens expire by the fake's clock.
	offset.Store(int64(61 * time.Minute))
	status, _ = do("GET", "/repos/octo-org/repo/issues/1", token, "")
	require.Equal(t, http.StatusUnauthorized, status)
	require.Empty(t, s.takeProblems())
}

// TestDeliveriesDocumented builds every delivery the fake sends and checks
// them against the webhooks description (a problem otherwise).
func TestDeliveriesDocumented(t *testing.T) {
	t.Parallel()
	s := New(t, Options{})
	if !s.Validating() {
		t.Skip("GitHub's descriptions are absent")
	}
	s.AddInstallation(1, "octo-org")
	s.AddRepo("octo-org", "repo")
	s.AddUser("alice", "User")
	s.mu.Lock()
	r := s.repos["octo-org/repo"]
	r.issues = append(r.issues, &Issue{ID: 5, Number: 1, Title: "t", Body: "b", State: "open", User: s.bot, Created: time.Now()})
	s.mu.Unlock()
	id := s.Comment("octo-org", "repo", 1, "alice", "^^^^yes^^^^")
	deliveries := []Delivery{s.Ping(), s.PushEvent(1, "octo-org", "repo", "alice")}
	for _, a := range []string{"created", "edited", "deleted"} {
		deliveries = append(deliveries, s.IssueCommentEvent(a, 1, "octo-org", "repo", 1, id))
	}
	for _, a := range []string{"opened", "edited", "closed", "reopened"} {
		deliveries = append(deliveries, s.IssuesEvent(a, 1, "octo-org", "repo", 1, "alice"))
	}
	require.Empty(t, s.takeProblems())
	for _, d := range deliveries {
		require.NotEmpty(t, d.Header.Get("X-GitHub-Delivery"))
		require.Regexp(t, `^sha256=[0-9a-f]{64}$`, d.Header.Get("X-Hub-Signature-256"))
	}
}
