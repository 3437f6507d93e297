package egress_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/egress"
	"github.com/metagov/metagov-go/plugin"
)

// fakeDNS answers from a table and fails like the system resolver would for
// anything else, including the resolver's own address in its error.
type fakeDNS map[string][]string

func (f fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	names, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, Server: "10.255.255.53:53", IsNotFound: true}
	}
	var out []netip.Addr
	for _, n := range names {
		out = append(out, netip.MustParseAddr(n))
	}
	return out, nil
}

func policy(t *testing.T, cfg egress.Config) egress.Policy {
	t.Helper()
	p, err := egress.New(cfg)
	require.NoError(t, err)
	return p
}

func TestCheckAddr(t *testing.T) {
	def := policy(t, egress.Config{})
	opened := policy(t, egress.Config{Allow: "169.254.10.0/24, fe80::1"})
	hosted := policy(t, egress.Config{DenyPrivate: true})
	hostedOpened := policy(t, egress.Config{DenyPrivate: true, Allow: "10.1.0.0/16"})
	tests := []struct {
		name   string
		policy egress.Policy
		addr   string
		refuse string // "" when allowed, else a part of the message
	}{
		{"loopback driver", def, "127.0.0.1", ""},
		{"IPv6 loopback", def, "::1", ""},
		{"private network", def, "10.1.2.3", ""},
		{"public", def, "203.0.113.7", ""},
		{"cloud metadata", def, "169.254.169.254", "169.254.169.254 is in 169.254.0.0/16 (link-local / cloud metadata)"},
		{"link-local v6", def, "fe80::1", "fe80::1 is in fe80::/10 (IPv6 link-local)"},
		{"zoned link-local v6", def, "fe80::1%eth0", "fe80::1 is in fe80::/10"},
		{"alibaba metadata", def, "100.100.100.200", "Alibaba Cloud metadata"},
		{"aws v6 metadata", def, "fd00:ec2::254", "AWS metadata over IPv6"},
		{"this network", def, "0.0.0.0", "0.0.0.0/8"},
		{"unspecified v6", def, "::", "::/128"},
		{"multicast", def, "239.1.2.3", "multicast"},
		{"broadcast", def, "255.255.255.255", "240.0.0.0/4"},
		{"IPv4-mapped", def, "::ffff:169.254.169.254", "embeds 169.254.169.254 (IPv4-mapped), which is in 169.254.0.0/16"},
		{"IPv4-compatible", def, "::a9fe:a9fe", "::a9fe:a9fe, which embeds 169.254.169.254 (IPv4-compatible), which is in 169.254.0.0/16 (link-local / cloud metadata)"},
		{"IPv4-translated", def, "::ffff:0:a9fe:a9fe", "(IPv4-translated)"},
		{"NAT64", def, "64:ff9b::a9fe:a9fe", "embeds 169.254.169.254 (NAT64)"},
		{"local-use NAT64", def, "64:ff9b:1::a9fe:a9fe", "embeds 169.254.169.254 (local-use NAT64 /96)"},
		{"6to4", def, "2002:a9fe:a9fe::1", "embeds 169.254.169.254 (6to4)"},
		{"Teredo client", def, "2001:0:4136:e378:8000:63bf:5601:5601", "embeds 169.254.169.254 (Teredo client)"},
		{"NAT64 of a public address", def, "64:ff9b::cb00:7107", ""},
		{"local-use NAT64 of a public address", def, "64:ff9b:1::cb00:7107", ""},
		{"6to4 of a public address", def, "2002:cb00:7107::1", ""},
		{"allowed range", opened, "169.254.10.7", ""},
		{"allowed range, mapped", opened, "::ffff:169.254.10.7", ""},
		{"allowed address", opened, "fe80::1", ""},
		{"allowed address, zoned", opened, "fe80::1%eth0", ""},
		{"still refused outside allowance", opened, "169.254.169.254", "169.254.0.0/16"},
		{"hosted: loopback", hosted, "127.0.0.1", "127.0.0.1 is in 127.0.0.0/8 (loopback)"},
		{"hosted: IPv6 loopback", hosted, "::1", "IPv6 loopback"},
		{"hosted: private", hosted, "192.168.1.1", "RFC 1918"},
		{"hosted: ULA", hosted, "fd12::1", "unique local"},
		{"hosted: CGNAT", hosted, "100.64.1.1", "carrier-grade NAT"},
		{"hosted: mapped loopback", hosted, "::ffff:127.0.0.1", "embeds 127.0.0.1"},
		{"hosted: NAT64 private", hosted, "64:ff9b::a00:1", "embeds 10.0.0.1 (NAT64)"},
		{"hosted: public", hosted, "203.0.113.7", ""},
		{"hosted: allowed private", hostedOpened, "10.1.2.3", ""},
		{"hosted: other private", hostedOpened, "10.2.0.1", "10.0.0.0/8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.CheckAddr(netip.MustParseAddr(tc.addr))
			if tc.refuse == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, egress.ErrForbidden)
			require.ErrorIs(t, err, plugin.ErrEgressRefused, "plugins recognise a refusal through the SDK")
			require.Contains(t, err.Error(), tc.refuse)
		})
	}
}

func TestCheckURL(t *testing.T) {
	def := policy(t, egress.Config{})
	for _, ok := range []string{"http://127.0.0.1:9000/cb", "https://driver.example/cb", "http://169.254.169.254.example/"} {
		require.NoError(t, def.CheckURL(ok), ok)
	}
	for _, bad := range []string{
		"http://169.254.169.254/latest/meta-data", "http://[fe80::1%25eth0]/", "http://[::a9fe:a9fe]/",
		"http://[64:ff9b::a9fe:a9fe]/", "http://[2002:a9fe:a9fe::]/", "ftp://example.com/", "/cb",
	} {
		require.ErrorIs(t, def.CheckURL(bad), egress.ErrForbidden, bad)
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	for _, cfg := range []egress.Config{
		{Allow: "not-a-cidr"},
		{Proxy: "ftp://proxy:21"},
		{Proxy: "proxy.internal:3128"},
	} {
		_, err := egress.New(cfg)
		require.Error(t, err, "%+v", cfg)
	}
}

// recorder is a local server that records what reached it.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
}

func newRecorder(t *testing.T, h http.HandlerFunc) *recorder {
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, r.Clone(context.Background()))
		rec.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		io.WriteString(w, "reached")
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

func (r *recorder) port() string {
	u, _ := url.Parse(r.URL)
	return u.Port()
}

func get(t *testing.T, c *http.Client, target string, header ...string) (string, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), nil
}

// TestPlatformClientChecksEveryHop refuses a name resolving to the
// metadata address, and a redirect to it, by IP, zoned IPv6 or embedded
// IPv6 form, before anything is dialled: a refusal returns at once, where
// dialling 169.254.169.254 here would time out.
func TestPlatformClientChecksEveryHop(t *testing.T) {
	dns := fakeDNS{
		"metadata.test": {"169.254.169.254"},
		"mixed.test":    {"127.0.0.1", "169.254.169.254"},
		"local.test":    {"127.0.0.1"},
	}
	c := policy(t, egress.Config{Resolver: dns}).PlatformClient(5 * time.Second)
	target := newRecorder(t, nil)

	body, err := get(t, c, "http://local.test:"+target.port()+"/")
	require.NoError(t, err, "names resolve through the policy's resolver")
	require.Equal(t, "reached", body)

	_, err = get(t, c, "http://metadata.test/latest/meta-data")
	require.ErrorIs(t, err, egress.ErrForbidden)
	require.Contains(t, err.Error(), "metadata.test resolves to 169.254.169.254, which is in 169.254.0.0/16 (link-local / cloud metadata)")
	// A plugin wraps the transport error with the SDK; the refusal survives.
	perr := plugin.CheckResponse("sourcecred", nil, err)
	require.ErrorIs(t, perr, plugin.ErrEgressRefused)
	var refused *egress.RefusedError
	require.ErrorAs(t, perr, &refused)
	require.Equal(t, "metadata.test", refused.Host)

	_, err = get(t, c, "http://mixed.test:"+target.port()+"/")
	require.ErrorIs(t, err, egress.ErrForbidden, "one refused address refuses the name")

	for _, location := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://[fe80::1%25eth0]/",
		"http://[::a9fe:a9fe]/",
		"http://[::ffff:a9fe:a9fe]/",
		"http://[64:ff9b::a9fe:a9fe]/",
		"http://[2002:a9fe:a9fe::1]/",
		"http://metadata.test/",
	} {
		t.Run(location, func(t *testing.T) {
			redirector := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", location)
				w.WriteHeader(http.StatusFound)
				io.WriteString(w, "secret-redirect-body")
			})
			_, err := get(t, c, redirector.URL)
			require.ErrorIs(t, err, egress.ErrForbidden)
			require.Contains(t, err.Error(), "refused by the egress policy")
			require.NotContains(t, err.Error(), "secret-redirect-body")
		})
	}
}

func TestPlatformClientRedirects(t *testing.T) {
	dns := fakeDNS{"other.test": {"127.0.0.1"}}
	c := policy(t, egress.Config{Resolver: dns}).PlatformClient(5 * time.Second)
	final := newRecorder(t, nil)
	// hops redirects once per trailing "x" on its own host, then to final
	// under another name.
	hops := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		n := len(r.URL.Path) - len(strings.TrimRight(r.URL.Path, "x"))
		if n > 0 {
			http.Redirect(w, r, strings.TrimSuffix(r.URL.Path, "x"), http.StatusFound)
			return
		}
		http.Redirect(w, r, "http://other.test:"+final.port()+"/", http.StatusTemporaryRedirect)
	})

	body, err := get(t, c, hops.URL+"/xxxx", "Api-Key", "secret", "User-Agent", "metagov-go")
	require.NoError(t, err, "five redirects are followed")
	require.Equal(t, "reached", body)
	require.Equal(t, 1, final.count())
	got := final.reqs[0].Header
	require.Empty(t, got.Get("Api-Key"), "a custom credential header does not follow a redirect to another host")
	require.Equal(t, "metagov-go", got.Get("User-Agent"))
	for _, r := range hops.reqs {
		require.Equal(t, "secret", r.Header.Get("Api-Key"), "redirects on the same host keep the headers")
	}

	_, err = get(t, c, hops.URL+"/xxxxx")
	require.ErrorIs(t, err, egress.ErrForbidden)
	require.Contains(t, err.Error(), "stopped after 5 redirects")

	// A 307 resends the body: not to another host.
	req, err := http.NewRequest(http.MethodPost, hops.URL+"/", strings.NewReader(`{"client_secret":"s"}`))
	require.NoError(t, err)
	_, err = c.Do(req)
	require.ErrorIs(t, err, egress.ErrForbidden)
	require.Contains(t, err.Error(), "would resend the request body to another host")
	require.Equal(t, 1, final.count(), "the body never reached the other host")
}

func TestDeliveryClientDoesNotFollowRedirects(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/", http.StatusFound)
	})
	resp, err := policy(t, egress.Config{}).DeliveryClient(2 * time.Second).Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)

	_, err = policy(t, egress.Config{}).DeliveryClient(2 * time.Second).Get("http://169.254.169.254/")
	require.ErrorIs(t, err, egress.ErrForbidden)
}

func TestDenyPrivate(t *testing.T) {
	target := newRecorder(t, nil)
	dns := fakeDNS{"localhost.test": {"127.0.0.1"}}
	hosted := policy(t, egress.Config{DenyPrivate: true, Resolver: dns}).PlatformClient(5 * time.Second)
	_, err := get(t, hosted, target.URL)
	require.ErrorIs(t, err, egress.ErrForbidden)
	require.Contains(t, err.Error(), "127.0.0.1 is in 127.0.0.0/8 (loopback)")
	_, err = get(t, hosted, "http://localhost.test:"+target.port()+"/")
	require.ErrorIs(t, err, egress.ErrForbidden)
	require.Equal(t, 0, target.count())

	opened := policy(t, egress.Config{DenyPrivate: true, Allow: "127.0.0.1"}).PlatformClient(5 * time.Second)
	body, err := get(t, opened, target.URL)
	require.NoError(t, err)
	require.Equal(t, "reached", body)
}

// TestProxy: the environment's proxy is never used; a configured one is,
// and the target is checked before anything is sent through it.
func TestProxy(t *testing.T) {
	proxy := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "via proxy to "+r.URL.String())
	})
	target := newRecorder(t, nil)
	dns := fakeDNS{"api.test": {"203.0.113.7"}, "metadata.test": {"169.254.169.254"}, "local.test": {"127.0.0.1"}}

	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	direct := policy(t, egress.Config{Resolver: dns}).PlatformClient(5 * time.Second)
	body, err := get(t, direct, "http://local.test:"+target.port()+"/")
	require.NoError(t, err)
	require.Equal(t, "reached", body)
	require.Equal(t, 0, proxy.count(), "HTTP_PROXY is ignored")

	// The proxy is on loopback and the policy refuses loopback targets: the
	// operator chose the proxy, so it is reached anyway.
	proxied := policy(t, egress.Config{Resolver: dns, Proxy: proxy.URL, DenyPrivate: true}).PlatformClient(5 * time.Second)
	body, err = get(t, proxied, "http://api.test/v1")
	require.NoError(t, err)
	require.Equal(t, "via proxy to http://api.test/v1", body)

	for _, refused := range []string{"http://metadata.test/", "http://169.254.169.254/", "http://local.test:" + target.port() + "/"} {
		_, err = get(t, proxied, refused)
		require.ErrorIs(t, err, egress.ErrForbidden, refused)
	}
	require.Equal(t, 1, proxy.count(), "refused targets are never sent to the proxy")
	require.Equal(t, 1, target.count())
}

// TestResolveErrorHidesTheResolver: a name that does not resolve says so
// without naming the gateway's DNS server.
func TestResolveErrorHidesTheResolver(t *testing.T) {
	for name, resolver := range map[string]egress.Resolver{"fake": fakeDNS{}, "system": nil} {
		t.Run(name, func(t *testing.T) {
			c := policy(t, egress.Config{Resolver: resolver}).PlatformClient(10 * time.Second)
			_, err := get(t, c, "http://nowhere.invalid/")
			require.Error(t, err)
			require.Contains(t, err.Error(), "could not resolve nowhere.invalid")
			require.NotContains(t, err.Error(), ":53")
			require.NotContains(t, err.Error(), "lookup ")
			var resolveErr *egress.ResolveError
			require.True(t, errors.As(err, &resolveErr))
		})
	}
}
