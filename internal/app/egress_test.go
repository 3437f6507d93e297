package app_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	_ "github.com/metagov/metagov-go/plugins/randomness"
	_ "github.com/metagov/metagov-go/plugins/sourcecred"
	"github.com/metagov/metagov-go/plugins/sourcecred/sourcecredfake"
)

// testDNS answers for the names the tests use and fails like the system
// resolver for any other, naming a resolver the API must never show.
type testDNS map[string]string

func (d testDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := d[host]; ok {
		return []netip.Addr{netip.MustParseAddr(a)}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, Server: "10.255.255.53:53", IsNotFound: true}
}

var metadataDNS = testDNS{"metadata.test": "169.254.169.254"}

// enableSourceCred creates community slug with sourcecred reading serverURL.
func enableSourceCred(t *testing.T, s *apptest.Server, slug, serverURL string) {
	t.Helper()
	r := s.Do("PUT", "/api/internal/community/"+slug, map[string]any{"plugins": []map[string]any{
		{"name": "sourcecred", "config": map[string]any{"server_url": serverURL}},
	}})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
}

// totalCred calls the unauthenticated public action.
func totalCred(t *testing.T, s *apptest.Server, slug string) apptest.Response {
	t.Helper()
	return s.Do("POST", "/api/action/sourcecred.total-cred", map[string]any{"parameters": map[string]any{}},
		"X-Metagov-Community", slug)
}

func requireRefused(t *testing.T, r apptest.Response, fragments ...string) {
	t.Helper()
	require.Equal(t, http.StatusBadGateway, r.Status, string(r.Body))
	body := r.JSON(t)
	require.Equal(t, "egress_refused", body["code"], string(r.Body))
	for _, f := range fragments {
		require.Contains(t, body["detail"], f)
	}
}

// TestPublicActionCannotReachMetadata turns the public SourceCred action on
// the cloud metadata address every way a caller could spell it: each is
// refused before anything is dialled (dialling 169.254.169.254 here would
// time out, and the platform timeout is long), naming the rule.
func TestPublicActionCannotReachMetadata(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := apptest.Start(t, db, app.Config{EgressResolver: metadataDNS, PlatformTimeout: time.Minute})
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "http://169.254.169.254/latest/meta-data/iam/security-credentials/")
			w.WriteHeader(http.StatusFound)
			io.WriteString(w, "redirect-body-must-not-leak")
		}))
		t.Cleanup(redirector.Close)

		cases := []struct{ name, serverURL, rule string }{
			{"by IP", "http://169.254.169.254/latest/meta-data", "169.254.169.254 is in 169.254.0.0/16 (link-local / cloud metadata)"},
			{"by name", "http://metadata.test", "metadata.test resolves to 169.254.169.254, which is in 169.254.0.0/16 (link-local / cloud metadata)"},
			{"by redirect", redirector.URL, "169.254.169.254 is in 169.254.0.0/16 (link-local / cloud metadata)"},
			{"zoned IPv6", "http://[fe80::1%25eth0]", "fe80::1 is in fe80::/10 (IPv6 link-local)"},
			{"IPv4-compatible IPv6", "http://[::a9fe:a9fe]", "embeds 169.254.169.254 (IPv4-compatible), which is in 169.254.0.0/16"},
			{"IPv4-mapped IPv6", "http://[::ffff:a9fe:a9fe]", "embeds 169.254.169.254 (IPv4-mapped)"},
			{"NAT64", "http://[64:ff9b::a9fe:a9fe]", "embeds 169.254.169.254 (NAT64)"},
			{"6to4", "http://[2002:a9fe:a9fe::1]", "embeds 169.254.169.254 (6to4)"},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				slug := fmt.Sprintf("egress-%d", i)
				enableSourceCred(t, s, slug, tc.serverURL)
				r := totalCred(t, s, slug)
				requireRefused(t, r, "sourcecred: refused by the egress policy", tc.rule)
				require.NotContains(t, string(r.Body), "redirect-body-must-not-leak")
			})
		}
	})
}

// TestEgressDenyPrivate: a hosted gateway refuses loopback, for platform
// calls and callback URLs alike, unless allowed explicitly.
func TestEgressDenyPrivate(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		fake := sourcecredfake.New(t)
		fake.SetAccounts(sourcecredfake.Account{Name: "miriam", TotalCred: 2})
		s := apptest.Start(t, db, app.Config{EgressDenyPrivate: true})
		enableSourceCred(t, s, "hosted", fake.URL)
		requireRefused(t, totalCred(t, s, "hosted"), "127.0.0.1 is in 127.0.0.0/8 (loopback)")
		require.Zero(t, fake.Hits(), "nothing reached the platform")

		r := s.Do("PUT", "/api/internal/community/votes", map[string]any{"plugins": []map[string]any{
			{"name": "randomness", "config": map[string]any{"default_low": 0, "default_high": 9}},
		}})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		r = s.Do("POST", "/api/internal/process/randomness.delayed-stochastic-vote",
			map[string]any{"options": []string{"a", "b"}, "delay": 1, "callback_url": "http://127.0.0.1:9/cb"}, "X-Metagov-Community", "votes")
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		require.Equal(t, "/callback_url", r.JSON(t)["field"])
		require.Contains(t, r.JSON(t)["detail"], "127.0.0.1 is in 127.0.0.0/8 (loopback)")

		// The allow-list opens one address; its old name still works.
		s.Stop()
		allowed := apptest.Start(t, db, app.Config{EgressDenyPrivate: true, DeliveryAllow: "127.0.0.1/32"})
		r = totalCred(t, allowed, "hosted")
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, map[string]any{"value": 2.0}, r.JSON(t))
	})
}

// TestPlatformErrorHidesResolver: a server_url whose name does not resolve
// is a platform error saying so, without the gateway's DNS server address.
func TestPlatformErrorHidesResolver(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := apptest.Start(t, db, app.Config{PlatformTimeout: 10 * time.Second})
		enableSourceCred(t, s, "nowhere", "http://sourcecred.nowhere.invalid")
		r := totalCred(t, s, "nowhere")
		require.Contains(t, []int{http.StatusBadGateway, http.StatusGatewayTimeout}, r.Status, string(r.Body))
		body := r.JSON(t)
		require.Contains(t, body["detail"], "could not resolve sourcecred.nowhere.invalid")
		require.NotContains(t, body["detail"], ":53")
		require.NotContains(t, body["detail"], "lookup ")
	})
}

// TestRefusedDeliveryFailsAtOnce: a callback URL whose name resolves to the
// metadata address passes the check at start (names are checked when
// dialled); its delivery is refused when dialled and fails at its first
// attempt, with the reason, instead of being retried for days.
func TestRefusedDeliveryFailsAtOnce(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := apptest.Start(t, db, app.Config{EgressResolver: metadataDNS})
		r := s.Do("PUT", "/api/internal/community/c", map[string]any{"plugins": []map[string]any{
			{"name": "randomness", "config": map[string]any{"default_low": 0, "default_high": 9}},
		}})
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		r = s.Do("POST", "/api/internal/process/randomness.delayed-stochastic-vote",
			map[string]any{"options": []string{"a", "b"}, "delay": 60, "callback_url": "http://metadata.test/cb"}, "X-Metagov-Community", "c")
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
		r = s.Do("DELETE", r.Header.Get("Location"), nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))

		var delivery map[string]any
		require.Eventually(t, func() bool {
			list := s.Do("GET", "/api/internal/deliveries?kind=callback", nil).JSON(t)["deliveries"].([]any)
			if len(list) == 0 {
				return false
			}
			delivery = list[0].(map[string]any)
			return delivery["status"] != "pending"
		}, 20*time.Second, 20*time.Millisecond)
		require.Equal(t, "failed", delivery["status"], "%v", delivery)
		attempts := delivery["attempts"].([]any)
		require.Len(t, attempts, 1, "no retry")
		require.Contains(t, attempts[0].(map[string]any)["error"],
			"metadata.test resolves to 169.254.169.254, which is in 169.254.0.0/16 (link-local / cloud metadata)")
	})
}
