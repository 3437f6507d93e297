// Package egress decides which addresses the gateway may send deliveries to.
// Drivers choose callback URLs, so a careless or hostile one could aim the
// gateway at a cloud metadata service; by default link-local and metadata
// addresses are refused, checked on the address actually dialled so a DNS
// name cannot smuggle one in. Loopback and private networks stay allowed:
// drivers usually run beside the gateway.
package egress

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrForbidden is returned for a destination the policy refuses.
var ErrForbidden = errors.New("destination not allowed")

// denied are the ranges refused unless allowed explicitly.
var denied = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),     // IPv4 link-local, incl. 169.254.169.254 metadata
	netip.MustParsePrefix("fe80::/10"),          // IPv6 link-local
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud metadata
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS metadata over IPv6
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network"
	netip.MustParsePrefix("224.0.0.0/4"),        // multicast
	netip.MustParsePrefix("ff00::/8"),           // IPv6 multicast
	netip.MustParsePrefix("::/128"),             // unspecified
}

// Policy is the set of allowed destinations.
type Policy struct {
	allow []netip.Prefix
}

// NewPolicy returns the default policy opened to the given CIDRs or
// addresses (comma or space separated), such as "169.254.10.0/24".
func NewPolicy(allow string) (Policy, error) {
	var p Policy
	for _, f := range strings.FieldsFunc(allow, func(r rune) bool { return r == ',' || r == ' ' }) {
		prefix, err := netip.ParsePrefix(f)
		if err != nil {
			addr, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return p, fmt.Errorf("allowed destination %q is neither a CIDR nor an address", f)
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		p.allow = append(p.allow, prefix)
	}
	return p, nil
}

// CheckAddr reports whether an IP address may be dialled.
func (p Policy) CheckAddr(addr netip.Addr) error {
	addr = addr.Unmap()
	for _, a := range p.allow {
		if a.Contains(addr) {
			return nil
		}
	}
	for _, d := range denied {
		if d.Contains(addr) {
			return fmt.Errorf("%w: %s is in %s", ErrForbidden, addr, d)
		}
	}
	return nil
}

// CheckURL checks what can be checked before dialling: an absolute http or
// https URL whose host, if it is an IP address, is allowed.
func (p Policy) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %q is not an absolute http or https URL", ErrForbidden, raw)
	}
	if addr, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil {
		return p.CheckAddr(addr)
	}
	return nil
}

// control runs on every connection the client makes, after DNS resolution.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dialled address %q", ErrForbidden, host)
	}
	return p.CheckAddr(addr)
}

// Client returns an HTTP client that dials only allowed addresses, times a
// request out after timeout and never follows redirects (a redirect is a
// failed delivery, not a new target).
func (p Policy) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: p.control}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Timeout:       timeout,
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
