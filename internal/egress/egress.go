// Package egress is the one policy every outbound connection of the gateway
// obeys: deliveries to drivers' callback URLs, plugins' calls to their
// platforms (their HTTP client, redirects included) and anything added later
// (OAuth token exchanges must use PlatformClient or Transport).
//
// Drivers choose callback URLs and platform server URLs, so a careless or
// hostile one could aim the gateway at a cloud metadata service or at
// services inside its network. The policy is checked on the address actually
// dialled, after DNS resolution, on every connection and so at every
// redirect hop; a name cannot smuggle a refused address in, and neither can
// an IPv6 zone or an IPv4 address embedded in an IPv6 one (IPv4-mapped,
// -compatible and -translated, NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4
// 2002::/16, Teredo 2001::/32 client addresses): the embedded IPv4 address
// is checked too.
//
// Always refused unless allowed explicitly: link-local and cloud metadata
// addresses, "this network", multicast, broadcast and reserved ranges. With
// DenyPrivate, loopback, private (RFC 1918), unique-local, carrier-grade NAT
// and benchmarking ranges are refused too: the setting for a hosted,
// multi-tenant gateway. Without it they stay allowed, since drivers usually
// run beside the gateway.
//
// Proxies are used only when configured explicitly (Config.Proxy); the
// HTTP_PROXY and HTTPS_PROXY variables are ignored. Through a proxy every
// connection goes to the proxy, which the operator chose and which is
// therefore not checked; instead the target's host is resolved here and every
// address it resolves to is checked before the request is sent. The proxy
// resolves the name again, so a name whose answer changes between the two
// lookups (DNS rebinding) could still reach a refused address through it: a
// hosted deployment's proxy should enforce its own policy as well.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/metagov/metagov-go/plugin"
)

// ErrForbidden is matched (errors.Is) by every refusal of the policy. It is
// the plugin SDK's plugin.ErrEgressRefused, so plugins can recognise a
// refusal without importing this package.
var ErrForbidden = plugin.ErrEgressRefused

// MaxRedirects is how many redirects a platform call follows, each hop
// checked again.
const MaxRedirects = 5

// rule is a range the policy refuses, with why.
type rule struct {
	prefix netip.Prefix
	why    string
}

func rules(pairs ...string) []rule {
	out := make([]rule, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, rule{netip.MustParsePrefix(pairs[i]), pairs[i+1]})
	}
	return out
}

// alwaysDenied are refused unless allowed explicitly.
var alwaysDenied = rules(
	"169.254.0.0/16", "link-local / cloud metadata",
	"fe80::/10", "IPv6 link-local",
	"100.100.100.200/32", "Alibaba Cloud metadata",
	"fd00:ec2::254/128", "AWS metadata over IPv6",
	"0.0.0.0/8", "\"this network\", which reaches the local host",
	"::/128", "the unspecified address, which reaches the local host",
	"224.0.0.0/4", "multicast",
	"ff00::/8", "IPv6 multicast",
	"240.0.0.0/4", "reserved / broadcast",
)

// privateDenied are refused too with DenyPrivate.
var privateDenied = rules(
	"127.0.0.0/8", "loopback",
	"::1/128", "IPv6 loopback",
	"10.0.0.0/8", "private network (RFC 1918)",
	"172.16.0.0/12", "private network (RFC 1918)",
	"192.168.0.0/16", "private network (RFC 1918)",
	"100.64.0.0/10", "shared address space (carrier-grade NAT)",
	"198.18.0.0/15", "benchmarking network",
	"192.0.0.0/24", "IETF protocol assignments",
	"fc00::/7", "IPv6 unique local (private)",
	"fec0::/10", "IPv6 site-local (private)",
)

// RefusedError is a destination the policy refuses, naming the rule.
type RefusedError struct {
	// Host is the name that resolved to Addr, or empty when Addr was given.
	Host string
	// Addr is the refused address, as dialled.
	Addr netip.Addr
	// Embedded is the IPv4 address embedded in Addr that the rule matched,
	// with Form naming the embedding (such as "NAT64"); invalid when the
	// rule matched Addr itself.
	Embedded netip.Addr
	Form     string
	// Range and Rule are the refused range and what it is.
	Range netip.Prefix
	Rule  string
	// Reason replaces the address-based explanation for refusals that are
	// not about an address (a scheme, a redirect).
	Reason string
}

func (e *RefusedError) Error() string {
	if e.Reason != "" {
		return "refused by the egress policy: " + e.Reason
	}
	var b strings.Builder
	b.WriteString("refused by the egress policy: ")
	if e.Host != "" {
		fmt.Fprintf(&b, "%s resolves to ", e.Host)
	}
	b.WriteString(e.Addr.String())
	if e.Embedded.IsValid() {
		fmt.Fprintf(&b, ", which embeds %s (%s), which", e.Embedded, e.Form)
	} else if e.Host != "" {
		b.WriteString(", which")
	}
	fmt.Fprintf(&b, " is in %s (%s)", e.Range, e.Rule)
	return b.String()
}

// Unwrap makes errors.Is(err, ErrForbidden) hold.
func (e *RefusedError) Unwrap() error { return ErrForbidden }

// Resolver looks up the addresses of a host name; *net.Resolver is one.
// Tests give one that answers without DNS.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ResolveError is a failed name lookup. Its message names the host only:
// the DNS server's address (net.DNSError's "lookup x on 10.0.0.53:53") is an
// internal detail that must not reach API callers.
type ResolveError struct {
	Host string
	Err  error
}

func (e *ResolveError) Error() string {
	var dnsErr *net.DNSError
	switch {
	case errors.As(e.Err, &dnsErr) && dnsErr.IsNotFound:
		return "could not resolve " + e.Host + ": no such host"
	case e.Timeout():
		return "could not resolve " + e.Host + ": the lookup timed out"
	}
	return "could not resolve " + e.Host
}

func (e *ResolveError) Unwrap() error { return e.Err }

// Timeout reports a lookup that timed out, so callers can tell it from a
// name that does not exist (it makes ResolveError a net.Error).
func (e *ResolveError) Timeout() bool {
	var netErr net.Error
	return errors.Is(e.Err, context.DeadlineExceeded) || (errors.As(e.Err, &netErr) && netErr.Timeout())
}

// Temporary is part of net.Error; it reports what the lookup reported.
func (e *ResolveError) Temporary() bool {
	var dnsErr *net.DNSError
	return errors.As(e.Err, &dnsErr) && dnsErr.IsTemporary
}

// Config holds the policy's settings.
type Config struct {
	// Allow opens addresses the policy would refuse: CIDRs or addresses,
	// comma or space separated, such as "169.254.10.0/24 10.1.2.3".
	Allow string
	// DenyPrivate refuses loopback, private, unique-local and carrier-grade
	// NAT ranges too (hosted, multi-tenant deployments).
	DenyPrivate bool
	// Proxy, when set, is the URL of the proxy (http, https or socks5)
	// every outbound request goes through.
	Proxy string
	// Resolver resolves names. Default: net.DefaultResolver.
	Resolver Resolver
}

// Policy decides which addresses the gateway may connect to. The zero value
// is the default policy: no allowances, private ranges allowed, no proxy.
type Policy struct {
	allow       []netip.Prefix
	denyPrivate bool
	proxy       *url.URL
	resolver    Resolver
}

// New returns the policy cfg describes.
func New(cfg Config) (Policy, error) {
	p := Policy{denyPrivate: cfg.DenyPrivate, resolver: cfg.Resolver}
	for _, f := range strings.FieldsFunc(cfg.Allow, func(r rune) bool { return r == ',' || r == ' ' }) {
		prefix, err := netip.ParsePrefix(f)
		if err != nil {
			addr, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return p, fmt.Errorf("allowed destination %q is neither a CIDR nor an address", f)
			}
			prefix = netip.PrefixFrom(addr.WithZone(""), addr.BitLen())
		}
		p.allow = append(p.allow, prefix.Masked())
	}
	if cfg.Proxy != "" {
		u, err := url.Parse(cfg.Proxy)
		if err != nil || u.Host == "" {
			return p, fmt.Errorf("egress proxy %q is not a URL such as http://proxy.internal:3128", cfg.Proxy)
		}
		switch u.Scheme {
		case "http", "https", "socks5", "socks5h":
		default:
			return p, fmt.Errorf("egress proxy %q: the scheme must be http, https or socks5", cfg.Proxy)
		}
		p.proxy = u
	}
	return p, nil
}

// DenyPrivate reports whether loopback and private ranges are refused.
func (p Policy) DenyPrivate() bool { return p.denyPrivate }

// CheckAddr reports whether an IP address may be connected to: nil, or a
// *RefusedError naming the rule.
func (p Policy) CheckAddr(addr netip.Addr) error {
	// A zone picks the interface, not the host: fe80::1%eth0 is fe80::1,
	// and netip.Prefix.Contains never matches a zoned address.
	addr = addr.WithZone("")
	if r, refused := p.match(addr); refused {
		return &RefusedError{Addr: addr, Range: r.prefix, Rule: r.why}
	}
	for _, e := range embeddedIPv4(addr) {
		if r, refused := p.match(e.addr); refused {
			return &RefusedError{Addr: addr, Embedded: e.addr, Form: e.form, Range: r.prefix, Rule: r.why}
		}
	}
	return nil
}

// match returns the rule refusing addr itself (embedded addresses aside).
func (p Policy) match(addr netip.Addr) (rule, bool) {
	for _, a := range p.allow {
		if a.Contains(addr) {
			return rule{}, false
		}
	}
	for _, r := range alwaysDenied {
		if r.prefix.Contains(addr) {
			return r, true
		}
	}
	if p.denyPrivate {
		for _, r := range privateDenied {
			if r.prefix.Contains(addr) {
				return r, true
			}
		}
	}
	return rule{}, false
}

// embedded is an IPv4 address carried inside an IPv6 one.
type embedded struct {
	addr netip.Addr
	form string
}

var (
	compatible  = netip.MustParsePrefix("::/96")
	mapped      = netip.MustParsePrefix("::ffff:0:0/96")
	translated  = netip.MustParsePrefix("::ffff:0:0:0/96")
	nat64       = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local  = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour   = netip.MustParsePrefix("2002::/16")
	teredo      = netip.MustParsePrefix("2001::/32")
	loopback6   = netip.MustParseAddr("::1")
	unspecified = netip.IPv6Unspecified()
)

// embeddedIPv4 returns the IPv4 addresses an IPv6 address carries, by the
// standard embeddings: traffic to them may reach the IPv4 host through a
// translator or tunnel, so they are checked as if dialled.
func embeddedIPv4(a netip.Addr) []embedded {
	if !a.Is6() {
		return nil
	}
	b := a.As16()
	v4 := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{b[i], b[i+1], b[i+2], b[i+3]}) }
	switch {
	case mapped.Contains(a):
		return []embedded{{v4(12), "IPv4-mapped"}}
	case compatible.Contains(a) && a != loopback6 && a != unspecified:
		return []embedded{{v4(12), "IPv4-compatible"}}
	case translated.Contains(a):
		return []embedded{{v4(12), "IPv4-translated"}}
	case nat64.Contains(a):
		return []embedded{{v4(12), "NAT64"}}
	case nat64Local.Contains(a):
		// RFC 6052 places the IPv4 address by the prefix length, which the
		// address does not tell; every length the /48 admits is checked.
		// Bits 64-71 are skipped (the "u" octet).
		// A position whose bytes fall in 0.0.0.0/8 is not an address a
		// translator would reach, and taking it for one would refuse every
		// address of the prefix.
		var out []embedded
		for _, c := range []embedded{
			{v4(12), "local-use NAT64 /96"},
			{netip.AddrFrom4([4]byte{b[9], b[10], b[11], b[12]}), "local-use NAT64 /64"},
			{netip.AddrFrom4([4]byte{b[7], b[9], b[10], b[11]}), "local-use NAT64 /56"},
			{netip.AddrFrom4([4]byte{b[6], b[7], b[9], b[10]}), "local-use NAT64 /48"},
		} {
			if c.addr.As4()[0] != 0 {
				out = append(out, c)
			}
		}
		return out
	case sixToFour.Contains(a):
		return []embedded{{v4(2), "6to4"}}
	case teredo.Contains(a):
		// The client's address is stored inverted in the last 32 bits.
		return []embedded{{netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), "Teredo client"}}
	}
	return nil
}

// CheckURL checks what can be checked before dialling: an absolute http or
// https URL whose host, if it is an IP address, is allowed. Names are checked
// when dialled.
func (p Policy) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &RefusedError{Reason: fmt.Sprintf("%q is not an absolute http or https URL", raw)}
	}
	if addr, err := netip.ParseAddr(u.Hostname()); err == nil {
		return p.CheckAddr(addr)
	}
	return nil
}

// resolve returns host's addresses: the address itself for a literal.
func (p Policy) resolve(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if addr, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{addr}, nil
	}
	r := p.resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ipNetwork := "ip"
	switch network {
	case "tcp4":
		ipNetwork = "ip4"
	case "tcp6":
		ipNetwork = "ip6"
	}
	addrs, err := r.LookupNetIP(ctx, ipNetwork, host)
	if err != nil {
		return nil, &ResolveError{Host: host, Err: err}
	}
	if len(addrs) == 0 {
		return nil, &ResolveError{Host: host, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}
	return addrs, nil
}

// checkHost resolves host and checks every address it resolves to: one
// refused address refuses the host, since whoever controls its DNS chooses
// which one is dialled.
func (p Policy) checkHost(ctx context.Context, network, host string) ([]netip.Addr, error) {
	addrs, err := p.resolve(ctx, network, host)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if err := p.CheckAddr(a); err != nil {
			var refused *RefusedError
			if errors.As(err, &refused) && host != a.String() {
				refused.Host = host
			}
			return nil, err
		}
	}
	return addrs, nil
}

// dialer returns the DialContext of the policy's transports. Without a
// proxy it resolves the name itself, checks every address, then dials the
// addresses one by one in the resolver's order (Go's resolver sorts them
// by RFC 6724), each within 10 s, checking the address actually connected
// to once more (Control). It resolves names itself, rather than let
// net.Dialer do it, so a name resolving to any refused address is refused
// with the name in the message, tests can give a resolver, and a failed
// lookup does not quote the DNS server. Through a proxy, connections go to
// the proxy only.
func (p Policy) dialer() func(ctx context.Context, network, address string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if p.proxy == nil {
		d.Control = p.control
	}
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, portStr, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		port, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("dialling %s: bad port", address)
		}
		var addrs []netip.Addr
		if p.proxy == nil {
			addrs, err = p.checkHost(ctx, network, host)
		} else {
			addrs, err = p.resolve(ctx, network, host)
		}
		if err != nil {
			return nil, err
		}
		var firstErr error
		for _, a := range addrs {
			conn, err := d.DialContext(ctx, network, netip.AddrPortFrom(a, uint16(port)).String())
			if err == nil {
				return conn, nil
			}
			if firstErr == nil {
				firstErr = err
			}
			if ctx.Err() != nil {
				break
			}
		}
		return nil, firstErr
	}
}

// control runs on every connection, with the address being connected to.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return &RefusedError{Reason: fmt.Sprintf("cannot parse the dialled address %q", host)}
	}
	return p.CheckAddr(addr)
}

// checkRequest runs for every request (every redirect hop) before
// anything is dialled, as the transport's Proxy function: it refuses a host
// that is a refused address or, through a proxy, one that resolves to one,
// and returns the proxy to use, if any.
func (p Policy) checkRequest(req *http.Request) (*url.URL, error) {
	host := req.URL.Hostname()
	if addr, err := netip.ParseAddr(host); err == nil {
		if err := p.CheckAddr(addr); err != nil {
			return nil, err
		}
	} else if p.proxy != nil {
		if _, err := p.checkHost(req.Context(), "tcp", host); err != nil {
			return nil, err
		}
	}
	return p.proxy, nil
}

// Transport returns a round tripper that connects only where the policy
// allows, through the configured proxy if any (never one from the
// environment). The clients below bound each request with their Timeout.
func (p Policy) Transport() *http.Transport {
	return &http.Transport{
		Proxy:                 p.checkRequest,
		DialContext:           p.dialer(),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// DeliveryClient returns the client deliveries are sent with: it times a
// request out after timeout and never follows redirects (a redirect is a
// failed delivery, not a new target).
func (p Policy) DeliveryClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:       timeout,
		Transport:     p.Transport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// PlatformClient returns the client plugins call platforms with (and OAuth
// exchanges must use): it times a request out after timeout and follows at
// most MaxRedirects redirects, each hop checked like the first. A redirect
// to another host drops every header but a few harmless ones, so API keys
// sent in custom headers do not follow it, and one that would resend a
// request body to another host is refused.
func (p Policy) PlatformClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: p.Transport(), CheckRedirect: checkRedirect}
}

// keptAcrossHosts are the headers a cross-host redirect keeps.
var keptAcrossHosts = map[string]bool{"Accept": true, "Accept-Language": true, "User-Agent": true}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return &RefusedError{Reason: fmt.Sprintf("stopped after %d redirects", MaxRedirects)}
	}
	first := via[0]
	if req.URL.Host == first.URL.Host && (req.URL.Scheme == first.URL.Scheme || req.URL.Scheme == "https") {
		return nil
	}
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		return &RefusedError{Reason: fmt.Sprintf("a redirect from %s to %s would resend the request body to another host",
			first.URL.Host, req.URL.Host)}
	}
	for k := range req.Header {
		if !keptAcrossHosts[k] {
			delete(req.Header, k)
		}
	}
	return nil
}
