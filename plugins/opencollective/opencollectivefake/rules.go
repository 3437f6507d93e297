package opencollectivefake

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
)

// Open Collective's rules for webhook URLs (models/Notification.ts and
// lib/webhooks.ts): a URL validator.js isURL accepts with its defaults
// (which require a top-level domain), not on opencollective.com, not an IP
// address, not localhost or *.localhost, *.local, *.internal, and a host
// name that resolves only to public addresses. The fake resolves names with
// its own table (SetHost), never with DNS; a name not in it "could not be
// resolved". Sequelize reports a failed validator as "Validation error:
// <message>", which Apollo answers with the code INTERNAL_SERVER_ERROR.

var (
	// tldPattern and labelPattern are validator.js isFQDN's.
	tldPattern   = regexp.MustCompile(`(?i)^([a-z\x{00A1}-\x{00A8}\x{00AA}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFEF}]{2,}|xn[a-z0-9-]{2,})$`)
	labelPattern = regexp.MustCompile(`(?i)^[a-z_\x{00a1}-\x{ffff}0-9-]+$`)
	fullWidth    = regexp.MustCompile(`[\x{ff01}-\x{ff5e}]`)
)

// isURL is validator.js isURL with its default options, for what a webhook
// URL can be.
func isURL(raw string) bool {
	if raw == "" || len(raw) >= 2083 || strings.ContainsAny(raw, " \t\r\n<>") {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ftp") || u.Host == "" {
		return false
	}
	host := u.Hostname()
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return isFQDN(host)
}

func isFQDN(host string) bool {
	parts := strings.Split(host, ".")
	if len(parts) < 2 || !tldPattern.MatchString(parts[len(parts)-1]) {
		return false
	}
	for _, p := range parts {
		if len(p) > 63 || !labelPattern.MatchString(p) || fullWidth.MatchString(p) ||
			strings.HasPrefix(p, "-") || strings.HasSuffix(p, "-") || strings.Contains(p, "_") {
			return false
		}
	}
	return true
}

// checkWebhookURL returns Open Collective's refusal of a webhook URL, or nil.
func (f *Fake) checkWebhookURL(raw string) error {
	refuse := func(msg string) error {
		return &gqlError{Message: "Validation error: " + msg, Code: "INTERNAL_SERVER_ERROR"}
	}
	if !isURL(raw) {
		return refuse("Webhook URL must be a valid URL")
	}
	u, _ := url.Parse(raw)
	host := strings.ToLower(u.Hostname())
	labels := strings.Split(host, ".")
	if len(labels) >= 2 && strings.Join(labels[len(labels)-2:], ".") == "opencollective.com" {
		return refuse("Open Collective URLs cannot be used as webhooks")
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return refuse("IP addresses cannot be used as webhooks")
	}
	name := strings.TrimSuffix(host, ".")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") || strings.HasSuffix(name, ".local") || strings.HasSuffix(name, ".internal") {
		return refuse("Webhook URL hostname is not allowed")
	}
	addr, ok := f.hosts[name]
	if !ok {
		return refuse(fmt.Sprintf("Webhook URL hostname could not be resolved: queryA ENOTFOUND %s", name))
	}
	if !addr.IsGlobalUnicast() || addr.IsPrivate() || isReserved(addr) {
		return refuse("Webhook URL resolves to a disallowed address")
	}
	return nil
}

// isReserved covers what ipaddr.js calls carrierGradeNat and reserved, which
// Go's IsPrivate does not.
func isReserved(a netip.Addr) bool {
	for _, p := range []string{"100.64.0.0/10", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "2001:db8::/32"} {
		if netip.MustParsePrefix(p).Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// enforceTwoFactor is lib/two-factor-authentication's enforceForAccount for
// the bot: with 2FA on its account, a token must be pre-authorized for it.
// The refusal is a plain Error, so its code is INTERNAL_SERVER_ERROR.
func (s *session) enforceTwoFactor() error {
	if !s.f.twoFactor || s.f.preAuthorized {
		return nil
	}
	return &gqlError{Message: fmt.Sprintf("This %s token is not pre-authorized for 2FA", s.tokenKind), Code: "INTERNAL_SERVER_ERROR"}
}
